"""One writer per lab, with two real processes: the second is refused at once, naming the
lab and the holder's pid; a holder killed with SIGKILL blocks nobody."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stacklab.state.leftovers import MARK, leftovers
from stacklab.state.lock import LOCK_FILE, LabBusy, lab_lock
from stacklab.state.paths import lab_dir

HOLD = """
import sys, time
from stacklab.state.lock import lab_lock
with lab_lock("lockx", "up"):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_second_writer_is_refused_naming_the_lab_and_the_holder(
    holder: subprocess.Popen[str],
) -> None:
    with pytest.raises(LabBusy) as refused, lab_lock("lockx", "down"):
        pytest.fail("the lock was taken twice")
    shown = refused.value.render()
    assert "Lab lockx is busy" in shown and f"pid {holder.pid}" in shown
    assert "`stacklab up`" in shown and "`stacklab down` did not start" in shown
    assert f"kill {holder.pid}" in shown


def test_a_killed_holder_blocks_nobody(holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with lab_lock("lockx", "up"):
        written = (lab_dir("lockx") / LOCK_FILE).read_text().split("\t")
        assert int(written[0]) == os.getpid() and written[1] == "up"


def test_the_lock_follows_a_lab_directory_made_anew() -> None:
    """`down` deletes the lab's directory while it holds the lock: the next writer must lock
    the new file, not an unlinked one that a waiter still has open."""
    with lab_lock("lockx", "down"):
        (lab_dir("lockx") / LOCK_FILE).unlink()
        started = time.monotonic()
        with lab_lock("lockx", "up"):  # a fresh file: not held, so not refused
            assert (lab_dir("lockx") / LOCK_FILE).exists()
        assert time.monotonic() - started < 5


# What a killed holder started lives on (in a session of its own, as ansible-playbook and
# its ControlPersist SSH daemons do); the next holder ends it, and only what is the lab's.
KILLED_WITH_CHILDREN = """
import subprocess, sys, time
from stacklab.state.leftovers import unmarked
from stacklab.state.lock import lab_lock
with lab_lock(sys.argv[1], "up"):
    left = subprocess.Popen(["sleep", "600"], start_new_session=True)
    kept = subprocess.Popen(unmarked(["sleep", "600"]), start_new_session=True)
    print(left.pid, kept.pid, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def killed_holder() -> Iterator[tuple[int, int]]:
    """A holder of lab lockx killed with SIGKILL: the PIDs of its marked and its unmarked
    child, both still running."""
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WITH_CHILDREN, "lockx"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    left, kept = (int(pid) for pid in process.stdout.readline().split())
    process.send_signal(signal.SIGKILL)
    process.wait()
    try:
        assert _alive(left) and _alive(kept)
        yield left, kept
    finally:
        for pid in (left, kept):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_the_next_holder_ends_what_a_killed_one_left_running(
    killed_holder: tuple[int, int],
) -> None:
    left, kept = killed_holder
    with lab_lock("lockx", "up"):
        assert not _alive(left)
        assert _alive(kept)  # started unmarked, as the nodes and the apt cache are


def test_another_labs_leftovers_are_not_this_labs_to_end(
    killed_holder: tuple[int, int],
) -> None:
    left, _ = killed_holder
    with lab_lock("other", "up"):
        assert _alive(left)


def test_a_holders_own_children_are_not_leftovers() -> None:
    with lab_lock("lockx", "up"):
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)
        try:
            token = os.environ[MARK].partition(":")[0]
            assert leftovers(lab_dir("lockx"), token) == []
            assert leftovers(lab_dir("lockx"), "another run") == [child.pid]
        finally:
            child.kill()
            child.wait()
    assert MARK not in os.environ  # the mark is the holder's children's only
