"""One writer per lab, with two real processes: the second is refused at once, naming the
lab and the holder's pid; a holder killed with SIGKILL blocks nobody."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
