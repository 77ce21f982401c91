"""The local lab as a user drives it: `stacklab up --until nodes`, ssh, status, stop,
start, down. Real nspawn nodes; root. The base image is cached in the normal cache dir."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from traces import host_traces

from stacklab.cli.main import run

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
        reason="the local provider needs root and systemd-nspawn",
    ),
]

LAB = "clilab"
SPEC = f"""\
name: {LAB}
topology:
  nodes:
    - {{name: ctl, roles: [controller, network]}}
    - {{name: cmp, roles: [compute]}}
"""


@pytest.fixture
def lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    Path("stacklab.yaml").write_text(SPEC)
    yield tmp_path
    run(["down", LAB])  # even when the test failed


def test_up_ssh_status_stop_start_down(lab_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["up", "--until", "nodes"]) == 0
    shown = capsys.readouterr().out
    assert "stacklab ssh ctl" in shown and "stacklab ssh cmp" in shown

    assert run(["up", "--until", "nodes"]) == 0  # a second up makes nothing new
    capsys.readouterr()
    assert run(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["status"] == "up to nodes"
    nodes = {r["id"]: r["state"] for r in status["resources"] if r["kind"] == "node"}
    assert nodes == {"ctl": "running", "cmp": "running"}
    assert [s["step"] for s in status["steps"]].count("nodes") == 2

    assert run(["ssh", "cmp", "--", "ping", "-c1", "-W2", "ctl"]) == 0
    assert run(["stop"]) == 0
    capsys.readouterr()
    run(["status", "--json"])
    stopped = json.loads(capsys.readouterr().out)
    assert {r["state"] for r in stopped["resources"] if r["kind"] == "node"} == {"stopped"}
    assert run(["start"]) == 0
    assert run(["ssh", "ctl", "--", "true"]) == 0

    capsys.readouterr()
    assert run(["down", "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert {"ctl", "cmp"} <= {r["id"] for r in planned if r["kind"] == "node"}
    assert run(["ssh", "ctl", "--", "true"]) == 0  # the dry run removed nothing

    assert run(["down"]) == 0
    assert host_traces(LAB) == []
    assert not (lab_dir / "state" / "stacklab" / "labs" / LAB).exists()
    capsys.readouterr()
    assert run(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_snapshot_down_and_up_from_brings_back_the_same_disks(
    lab_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["up", "--until", "nodes"]) == 0
    assert run(["ssh", "ctl", "--", "echo configured > /root/marker"]) == 0
    assert run(["snapshot", "golden"]) == 0
    assert run(["ssh", "ctl", "--", "test -f /root/marker"]) == 0  # started again after it
    capsys.readouterr()
    assert run(["up", "--from", "golden", "--until", "nodes"]) == 8  # the lab still exists
    assert "down" in capsys.readouterr().err

    assert run(["down"]) == 0
    assert run(["up", "--from", "golden", "--until", "nodes"]) == 0
    # ssh works only if the lab's key came back with the disks that trust it
    assert run(["ssh", "ctl", "--", "grep -q configured /root/marker"]) == 0

    Path("stacklab.yaml").write_text(SPEC.replace("cmp, roles", "cmp2, roles"))
    run(["down"])
    capsys.readouterr()
    assert run(["up", "--from", "golden", "--until", "nodes"]) != 0
    assert "snapshot" in capsys.readouterr().err
    assert host_traces(LAB) == []  # refused before anything was made
