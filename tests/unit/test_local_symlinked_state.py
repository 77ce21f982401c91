"""A lab's state directory reached through a symlink is the same directory: a node booted
from it is the lab's own and its mounted root counts as mounted (else `up` rebooted it)."""

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stacklab.errors import HostError
from stacklab.providers.local.mounts import is_mounted, mounts_below
from stacklab.providers.local.processes import nspawn_directory
from stacklab.providers.local.provider import _refuse_foreign_node


@pytest.fixture
def state(tmp_path: Path) -> Path:
    root = tmp_path / "real" / "stacklab" / "labs" / "lab1" / "nodes" / "aio" / "root"
    root.mkdir(parents=True)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "stacklab").symlink_to(tmp_path / "real" / "stacklab")
    return tmp_path


@contextmanager
def booting(root: Path) -> Iterator[int]:
    """A process whose command line names root as systemd-nspawn's would."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", f"--directory={root}"]
    )
    try:
        # Popen returns once exec has begun; the kernel sets the new command line a moment later
        deadline = time.monotonic() + 10
        while nspawn_directory(process.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        yield process.pid
    finally:
        process.kill()
        process.wait()


def test_the_same_root_through_a_symlink_is_this_labs(state: Path) -> None:
    real_root = state / "real" / "stacklab" / "labs" / "lab1" / "nodes" / "aio" / "root"
    linked_root = state / "home" / "stacklab" / "labs" / "lab1" / "nodes" / "aio" / "root"
    with booting(real_root) as pid:
        _refuse_foreign_node("lab1", "aio", [pid], linked_root)
    with booting(linked_root) as pid:
        _refuse_foreign_node("lab1", "aio", [pid], real_root)


def test_a_root_of_another_state_directory_is_refused(state: Path) -> None:
    other_root = state / "other" / "stacklab" / "labs" / "lab1" / "nodes" / "aio" / "root"
    linked_root = state / "home" / "stacklab" / "labs" / "lab1" / "nodes" / "aio" / "root"
    with booting(other_root) as pid, pytest.raises(HostError, match=re.escape(str(other_root))):
        _refuse_foreign_node("lab1", "aio", [pid], linked_root)


def test_a_mount_point_reached_through_a_symlink_is_mounted(tmp_path: Path) -> None:
    (tmp_path / "proc").symlink_to("/proc")
    (tmp_path / "plain").mkdir()
    assert is_mounted(tmp_path / "proc")
    assert not is_mounted(tmp_path / "plain")
    assert Path("/proc") in [mount.point for mount in mounts_below(tmp_path / "proc")]
    assert mounts_below(tmp_path / "plain") == []
