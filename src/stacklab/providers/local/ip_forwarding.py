"""The host's IPv4 forwarding, which local labs need for their NAT: turned on by the first
lab, and put back as it was when the last local lab goes.

What it was is kept under /run, not in a user's state directory: it is a fact of this host
(any user's labs count), and both it and the sysctl start afresh at boot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
HOST_RUNTIME = Path("/run/stacklab")
BEFORE_FILE = "ip_forward.before"
LOCK_FILE = "host.lock"


@contextlib.contextmanager
def _host_lock(runtime: Path) -> Iterator[None]:
    """Labs made and removed at the same time must not both decide to record or restore."""
    runtime.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(runtime / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _current(sysctl: Path) -> str:
    return sysctl.read_text(encoding="ascii").strip()


def ensure_ip_forwarding(sysctl: Path = IP_FORWARD, runtime: Path = HOST_RUNTIME) -> bool:
    """Forwarding on; True if this call turned it on (what it was is then recorded)."""
    with _host_lock(runtime):
        before = _current(sysctl)
        if before == "1":
            return False
        record = runtime / BEFORE_FILE
        if not record.exists():
            record.write_text(before + "\n", encoding="ascii")
        sysctl.write_text("1\n", encoding="ascii")
        return True


def restore_ip_forwarding(
    labs_left: Callable[[], bool], sysctl: Path = IP_FORWARD, runtime: Path = HOST_RUNTIME
) -> str | None:
    """When no local lab is left, put forwarding back as the first lab found it; returns the
    value written, or None if nothing was changed.

    `labs_left` is asked under the lock. A lab being made turns forwarding on (under the same
    lock) only after its bridges exist, so it is either seen here or finds forwarding off."""
    if not (runtime / BEFORE_FILE).exists():
        return None
    with _host_lock(runtime):
        record = runtime / BEFORE_FILE
        try:
            before = record.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        if labs_left():
            return None
        if before in ("0", "1") and _current(sysctl) != before:
            sysctl.write_text(before + "\n", encoding="ascii")
        record.unlink()
        return before if before in ("0", "1") else None
