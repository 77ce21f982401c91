"""This machine's public address, as a service outside sees it: the only address a cloud
lab's firewall needs to admit. The address of the host's default route is not it (behind
NAT it is a private one), so the answer comes from outside, or not at all."""

from __future__ import annotations

import urllib.request
from ipaddress import IPv4Address

# Answers with the caller's address as plain text (the one layout's fix message names too).
CHECK_URL = "https://checkip.amazonaws.com"
TIMEOUT_S = 3.0


def public_address(url: str = CHECK_URL, timeout: float = TIMEOUT_S) -> IPv4Address | None:
    """The address `url` saw this request come from; None without network access, or if the
    answer is not a public IPv4 address."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            text = answer.read(64).decode("ascii", errors="replace").strip()
        address = IPv4Address(text)
    except (OSError, ValueError):
        return None
    return address if address.is_global else None
