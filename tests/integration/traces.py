"""The traces a lab leaves on this host, for tests that check `down` took them all."""

from __future__ import annotations

import subprocess
from pathlib import Path


def host_traces(lab: str) -> list[str]:
    """Every trace of the lab on this host: links, namespaces, nft tables, processes, mounts."""
    listings = [
        ["ip", "-o", "link"],
        ["ip", "netns", "list"],
        ["nft", "list", "tables"],
        ["ps", "-eo", "args"],
    ]
    found = []
    for command in listings:
        output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
        found += [line for line in output.splitlines() if lab in line]
    found += [line for line in Path("/proc/mounts").read_text().splitlines() if lab in line]
    return found
