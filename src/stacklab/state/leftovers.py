"""What a killed command leaves running, found and ended by the next one.

`kill -9` of `up` ends that process only: ansible-playbook (in a session of its own), its
SSH connections (ControlPersist daemons, in sessions of their own too) and any other child
live on and keep changing the lab's nodes while the next command runs. So a command that
changes a lab marks the environment its children inherit with the lab's directory and a
token of its own run; the next command to take the lab's lock ends every process marked for
that lab with another token: holding the lock proves the command that marked them is gone.
What is meant to outlive the command (the nodes' systemd-nspawn, the host's apt cache) is
started `unmarked`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

MARK = "STACKLAB_LAB_RUN"
PROC = Path("/proc")
TERM_TIMEOUT_S = 10.0
KILL_TIMEOUT_S = 5.0


def unmarked(command: list[str]) -> list[str]:
    """`command` run without the mark: for what must outlive the command that starts it."""
    return ["env", "-u", MARK, *command]


@contextlib.contextmanager
def marked_children(lab_directory: Path) -> Iterator[str]:
    """Every child started in the body carries the mark of this run; yields its token."""
    token = secrets.token_hex(8)
    previous = os.environ.get(MARK)
    os.environ[MARK] = f"{token}:{lab_directory}"
    try:
        yield token
    finally:
        if previous is None:
            os.environ.pop(MARK, None)
        else:
            os.environ[MARK] = previous


def _mark_of(pid: str) -> tuple[str, str] | None:
    """(token, lab directory) a process was started with, if marked."""
    try:
        environment = (PROC / pid / "environ").read_bytes()
    except OSError:  # ended meanwhile, or not ours to read
        return None
    prefix = MARK.encode() + b"="
    for variable in environment.split(b"\0"):
        if variable.startswith(prefix):
            token, _, directory = variable[len(prefix) :].decode(errors="replace").partition(":")
            return token, directory
    return None


def leftovers(lab_directory: Path, own_token: str) -> list[int]:
    """PIDs of the processes marked for this lab by a run other than `own_token`'s."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        mark = _mark_of(entry.name)
        if mark is not None and mark[1] == str(lab_directory) and mark[0] != own_token:
            found.append(int(entry.name))
    return sorted(found)


def _signal(pids: list[int], number: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)


def end_leftovers(lab_directory: Path, own_token: str) -> list[int]:
    """End what an earlier, killed run of the lab left running (SIGTERM, then SIGKILL);
    returns their PIDs. A zombie has no environment left, so it counts as ended."""
    found = leftovers(lab_directory, own_token)
    if not found:
        return []
    _signal(found, signal.SIGTERM)
    for number, timeout in ((signal.SIGKILL, TERM_TIMEOUT_S), (None, KILL_TIMEOUT_S)):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and leftovers(lab_directory, own_token):
            time.sleep(0.1)
        alive = leftovers(lab_directory, own_token)
        if not alive or number is None:
            break
        _signal(alive, number)
    return found
