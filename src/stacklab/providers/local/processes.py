"""The processes of a node: its systemd-nspawn leader and what runs in the node.

Read from /proc, so they are found without any state of ours. A node's processes are those
in its network namespace; the one whose innermost PID is 1 is the node's systemd.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

PROC = Path("/proc")
NSPAWN = "systemd-nspawn"
MACHINE_OPTION = "--machine="


def _cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_alive(pid: int) -> bool:
    """Running, and not a zombie (our PID 1 may be slow to reap what it inherits)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text(errors="replace")
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[:1]
    return bool(state) and state[0] not in ("Z", "X")


def nspawn_machines() -> dict[str, list[int]]:
    """Machine name -> PIDs of the live systemd-nspawn processes that run it."""
    machines: dict[str, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        argv = _cmdline(int(entry.name))
        if not argv or Path(argv[0]).name != NSPAWN:
            continue
        for arg in argv[1:]:
            if arg.startswith(MACHINE_OPTION) and is_alive(int(entry.name)):
                machines.setdefault(arg[len(MACHINE_OPTION) :], []).append(int(entry.name))
    return machines


def nspawn_directory(pid: int) -> Path | None:
    """The root directory a systemd-nspawn process boots (its --directory= argument)."""
    for arg in _cmdline(pid):
        if arg.startswith("--directory="):
            return Path(arg.partition("=")[2])
    return None


def container_inits(pids: Iterable[int]) -> list[int]:
    """Of these PIDs, those that are PID 1 of their own PID namespace (a node's systemd)."""
    inits = []
    for pid in pids:
        try:
            status = (PROC / str(pid) / "status").read_text(errors="replace")
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                if len(ids) > 1 and ids[-1] == "1":
                    inits.append(pid)
    return inits


def send(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# SIGRTMIN+3 asks systemd for an orderly poweroff; nspawn sends it to the node's PID 1 when
# nspawn itself gets SIGTERM (its --kill-signal default for -b).
POWEROFF = signal.SIGRTMIN + 3
