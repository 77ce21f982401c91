"""One writer per lab with real commands: while `stacklab up` makes lab lockx, a second `up`
and a `down` are refused naming the lab and the pid; that `up` killed with SIGKILL while it
holds the lab blocks nobody, and `down` then leaves nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stacklab.providers.local.discovery import inventory
from stacklab.runner import LocalRunner
from stacklab.state.lock import LOCK_FILE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
        reason="the local provider needs root and systemd-nspawn",
    ),
]

LAB = "lockx"
STACKLAB = str(Path(sys.executable).with_name("stacklab"))
SPEC = f"""\
name: {LAB}
topology:
  nodes:
    - {{name: n1, roles: [controller, network, compute]}}
"""


def holder_pid(lock: Path) -> int | None:
    try:
        first = lock.read_text().split("\t")[0]
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def started_up(home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`stacklab up` (minutes of work: nodes, then installing), returned once it holds the
    lab."""
    process = subprocess.Popen(
        [STACKLAB, "up"],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = home / "state" / "stacklab" / "labs" / LAB / LOCK_FILE
    deadline = time.monotonic() + 120
    while holder_pid(lock) != process.pid:
        assert process.poll() is None, f"up ended early: {process.communicate()[1]}"
        assert time.monotonic() < deadline, "up never took the lab's lock"
        time.sleep(0.1)
    return process


def stacklab(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STACKLAB, *args], cwd=home, env=env, capture_output=True, text=True, timeout=600
    )


def test_one_writer_at_a_time_and_a_killed_one_blocks_nobody(tmp_path: Path) -> None:
    (tmp_path / "stacklab.yaml").write_text(SPEC)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    try:
        first = started_up(tmp_path, env)
        for args in (("up", "--until", "nodes"), ("down", LAB)):
            refused = stacklab(tmp_path, env, *args)
            assert refused.returncode == 8, refused.stderr
            shown = " ".join(refused.stderr.split())
            assert f"Lab {LAB} is busy" in shown and f"pid {first.pid}" in shown
            assert "`stacklab up`" in shown and "Traceback" not in shown
        assert first.poll() is None, "the first up ended: the refusals proved nothing"
        first.send_signal(signal.SIGKILL)
        first.wait()
        down = stacklab(tmp_path, env, "down", LAB)
        assert down.returncode == 0, down.stderr
        assert inventory(LocalRunner(), LAB).empty
    finally:
        stacklab(tmp_path, env, "down", LAB)
