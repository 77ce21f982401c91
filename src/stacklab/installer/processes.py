"""The processes around an ansible-playbook run: Ctrl-C stops it cleanly, and no SSH
connection outlives the run (a run left behind by a killed `up` is ended by the next
command that takes the lab's lock: state.leftovers)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
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


# A unix socket's path holds at most 107 bytes: ssh binds a master at its control path plus
# a 17-character suffix first, and Ansible names the socket with 10 hex characters.
CONTROL_DIR_MAX = 107 - 17 - 11
CONTROL_DIR = "ssh-control"


@contextmanager
def ssh_control_dir(private_dir: Path) -> Iterator[Path]:
    """The directory of one run's SSH master sockets: in the lab's directory, so that what a
    killed run leaves there goes with the next run or with `down` (its masters are ended by
    the next command that takes the lab's lock); a temporary one where that path would be
    too long for a socket. The masters are closed and the directory removed at the end."""
    wanted = private_dir / CONTROL_DIR
    if len(str(wanted)) <= CONTROL_DIR_MAX:
        shutil.rmtree(wanted, ignore_errors=True)  # a killed run's sockets
        wanted.mkdir(mode=0o700, parents=True)
        directory = wanted
    else:
        directory = Path(tempfile.mkdtemp(prefix="stacklab-ssh-"))
    try:
        yield directory
    finally:
        close_ssh_masters(directory)


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
