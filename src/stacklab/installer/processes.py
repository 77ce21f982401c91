"""The processes around an ansible-playbook run: Ctrl-C stops it cleanly, a run left behind
by a killed `up` is ended before a new one starts, and no SSH connection outlives the run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def interrupt_flag() -> Iterator[Callable[[], bool]]:
    """SIGINT/SIGTERM set a flag that runner polls to stop ansible-playbook; the previous
    handlers come back afterwards (runner's own would stay installed for good)."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def handler(_number: int, _frame: object) -> None:
        flag.set()

    for number in previous:
        signal.signal(number, handler)
    try:
        yield flag.is_set
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def stale_runs(private_dir: Path) -> list[int]:
    """PIDs of ansible-playbook processes of this lab left by an `up` that was killed: they
    run detached from their terminal and would race the new run for the nodes' dpkg lock."""
    marker = str(private_dir / "inventory").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"ansible-playbook" in arg for arg in argv[:3]) and any(
            arg.startswith(marker) for arg in argv
        ):
            found.append(int(entry.name))
    return found


def end_stale_runs(private_dir: Path) -> None:
    for pid in stale_runs(private_dir):
        try:
            os.killpg(os.getpgid(pid), signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 10
    while stale_runs(private_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in stale_runs(private_dir):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            continue


def close_ssh_masters(control_dir: Path) -> None:
    """End the SSH connections ansible kept open (ControlPersist): no process outlives us."""
    for socket_path in control_dir.iterdir():
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "stacklab-node"],
            capture_output=True,
            check=False,
            timeout=10,
        )
    shutil.rmtree(control_dir, ignore_errors=True)
