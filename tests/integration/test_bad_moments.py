"""Bad moments for real: apt against a proxy port that refuses and one that answers 503 (the
mirror gone behind the apt cache), and a file system that fills up under apt and under the
copies the local provider makes. Each ends as one screen naming the cause and the fix, and
a step that failed so resumes once the cause is gone."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.engine import StepHandlers, run_steps
from stacklab.errors import CommandError, HostError, StepError
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan
from stacklab.runner import LocalRunner
from stacklab.state.db import StateDB
from stacklab.step_failures import explained

RUNNER = LocalRunner()
PACKAGE = "hello"


def has_candidate(package: str) -> bool:
    policy = RUNNER.run(["apt-cache", "policy", package], check=False).stdout
    return "Candidate:" in policy and "Candidate: (none)" not in policy


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("apt-get") is None or not has_candidate(PACKAGE),
        reason="needs root and apt lists that know the hello package",
    ),
]


def download(archives: Path, *options: str) -> CommandError:
    """apt-get downloading the package into `archives`, which must fail; its error."""
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    argv = ["apt-get", "-q", "-o", f"Dir::Cache::Archives={archives}/", "-o", "Acquire::Retries=0"]
    with pytest.raises(CommandError) as failed:
        RUNNER.run([*argv, *options, "-d", "-y", "install", "--reinstall", PACKAGE], timeout=120)
    return failed.value


class Unavailable(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503, "Service Unavailable")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_proxy() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def full_fs(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs of the test's own."""
    point = tmp_path / "full"
    point.mkdir()
    RUNNER.run(["mount", "-t", "tmpfs", "-o", "size=16k", "stacklab-test-full", str(point)])
    try:
        yield point
    finally:
        RUNNER.run(["umount", str(point)], check=False)


def test_a_refusing_or_failing_mirror_is_named_with_its_fix(
    tmp_path: Path, unavailable_proxy: str
) -> None:
    closed = "http://127.0.0.1:9"  # discard: nothing listens there
    for proxy in (closed, unavailable_proxy):
        failed = download(tmp_path / "archives", "-o", f"Acquire::http::Proxy={proxy}")
        shown = explained(failed)
        assert isinstance(shown, HostError), failed.render()
        text = shown.render()
        assert "Cause: the package mirror or the apt cache in front of it did not answer" in text
        assert "apt-cacher-ng" in text and "resumes at this step" in text


def test_a_full_disk_under_apt_is_named_with_its_fix(full_fs: Path) -> None:
    shown = explained(download(full_fs))
    assert isinstance(shown, HostError)
    assert f"Cause: the disk is full (writing {full_fs}/)" in shown.render()
    assert "df -h" in shown.render()


def test_a_step_that_fills_the_disk_fails_so_and_resumes_once_there_is_room(
    full_fs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy the local provider makes of a node's layer, into a full file system."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    lab: Plan = plan(Spec(name="fenca"), load_catalog(with_host=False))
    step = lab.step_names[0]
    target = full_fs / "layer"

    def copy_layer(_plan: Plan) -> None:
        shutil.rmtree(target, ignore_errors=True)
        RUNNER.run(["cp", "-a", "/usr/share/doc", str(target)])

    handlers = StepHandlers({step: copy_layer}, frozenset())
    with StateDB(tmp_path / "state.db") as db:
        with pytest.raises(StepError) as failed:
            run_steps(lab, handlers, db, until=step)
        shown = failed.value.render()
        assert f"Step '{step}' failed" in shown and "Cause: the disk is full" in shown
        assert "df -h" in shown and "Traceback" not in shown
        assert db.journal("fenca")[-1].status == "failed"
        RUNNER.run(["mount", "-o", "remount,size=256m", str(full_fs)])  # room made
        assert [o.status for o in run_steps(lab, handlers, db, until=step)] == ["ok"]
