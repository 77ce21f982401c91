"""One writer per lab: a command that changes a lab holds an flock on a file in the lab's
state directory for as long as it runs. The kernel drops the lock when its holder dies, so a
killed `up` never blocks the next one; what that one left running (its Ansible, its SSH
connections) the next one ends first (state.leftovers)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacklab.errors import StateError
from stacklab.state.leftovers import end_leftovers, marked_children
from stacklab.state.paths import ensure_private_dir, lab_dir

LOCK_FILE = "lock"


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    command: str
    since: str


class LabBusy(StateError):
    """Another stacklab command is changing the same lab right now."""

    def __init__(self, lab: str, command: str, holder: LockHolder):
        who = f"pid {holder.pid}" if holder.pid else "a process that did not say its pid"
        what = f"`stacklab {holder.command}`" if holder.command else "another stacklab command"
        since = f" since {holder.since}" if holder.since else ""
        self.lab = lab
        self.holder = holder
        super().__init__(
            f"Lab {lab} is busy: {what} ({who}) is changing it{since}; `stacklab {command}` "
            "did not start, so nothing was interleaved.",
            fix=f"wait until that command ends, or stop it (`kill {holder.pid or 'PID'}`: "
            f"its lab resumes with the next `stacklab up`), then run `stacklab {command}` again",
        )


def _read_holder(path: Path) -> LockHolder:
    try:
        words = path.read_text(encoding="utf-8").split("\t")
    except OSError:
        words = []
    pid = int(words[0]) if words and words[0].isdigit() else None
    command = words[1].strip() if len(words) > 1 else ""
    since = words[2].strip() if len(words) > 2 else ""
    return LockHolder(pid, command, since)


@contextlib.contextmanager
def lab_lock(lab: str, command: str) -> Iterator[None]:
    """Hold the lab's lock for the body, or raise LabBusy at once naming who holds it. The
    body's children carry the lab's mark; those of an earlier holder are ended first."""
    directory = lab_dir(lab)
    path = ensure_private_dir(directory) / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LabBusy(lab, command, _read_holder(path)) from None
        # `down` deletes the lab's directory, lock file included, while it holds the lock:
        # a lock on that unlinked file guards nothing, so take the one now at the path.
        try:
            same = path.stat().st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
        ensure_private_dir(lab_dir(lab))
    try:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\t{command}\t{stamp}\n".encode(), 0)
        with marked_children(directory) as token:
            end_leftovers(directory, token)
            yield
    finally:
        os.close(fd)  # releases the flock
