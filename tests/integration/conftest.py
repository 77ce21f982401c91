"""What several integration modules share: the traces a lab leaves on this host, and one
real local all-in-one cloud for the whole session (an install costs minutes on 2 cores, so
the installer, day-one and access tests all use the same lab).

The lab is made the way a user meets trouble: `stacklab up` is killed (SIGKILL) in the middle
of the compute phase, then `stacklab up` is run again and must finish, verify included.
Tests marked `lab_teardown` run after every other test, so the lab is there for all."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

from stacklab import api
from stacklab.cli.main import run
from stacklab.installer.installer import private_dir
from stacklab.plan.models import Plan
from stacklab.state.paths import lab_dir

AIO_LAB = "e2e"
AIO_SPEC = f"""\
name: {AIO_LAB}
services:
  cinder: true
  octavia: true
"""
KILLED_DURING = "compute"
# The home of a lab that is up already: the tests use it instead of making the shared one
# (run only the modules that need no fresh lab; tests marked lab_teardown take it down).
REUSE_VARIABLE = "STACKLAB_TEST_LAB_HOME"
STACKLAB = str(Path(sys.executable).with_name("stacklab"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that take the shared lab away run last."""
    items.sort(key=lambda item: item.get_closest_marker("lab_teardown") is not None)


@dataclass(frozen=True)
class AioLab:
    name: str
    home: Path  # holds stacklab.yaml; XDG state and config live under it
    plan: Plan
    directory: Path
    killed_during: str
    up_seconds: float

    @property
    def config_home(self) -> Path:
        return self.home / "config"


def demo_connection(lab: AioLab) -> Connection:
    """The demo user's openstacksdk connection, from the clouds.yaml the lab wrote. Named by
    its path: openstacksdk reads XDG_CONFIG_HOME once, when it is imported, so a lab home set
    afterwards (in_lab_home) is not where it looks."""
    clouds = lab.config_home / "openstack" / "clouds.yaml"
    config = OpenStackConfig(config_files=[str(clouds)], secure_files=[], load_envvars=False)
    return Connection(config=config.get_one(cloud=f"{lab.name}-demo"))


@contextmanager
def in_lab_home(home: Path) -> Iterator[None]:
    """cwd and XDG directories of the lab's home, as a user's shell would have them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        patch.setenv("XDG_STATE_HOME", str(home / "state"))
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))  # the user's clouds.yaml
        yield


def phase_started(directory: Path, phase: str) -> bool:
    artifacts = private_dir(directory) / "artifacts"
    return artifacts.is_dir() and any(artifacts.glob(f"{phase}-*"))


def up_killed_during(phase: str, directory: Path) -> None:
    """`stacklab up` in a process of its own, killed with SIGKILL once `phase` runs."""
    with subprocess.Popen(
        [STACKLAB, "up"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        deadline = time.monotonic() + 3600
        while not phase_started(directory, phase):
            assert process.poll() is None, f"up ended ({process.returncode}) before {phase}"
            assert time.monotonic() < deadline, f"no {phase} phase within an hour"
            time.sleep(2)
        time.sleep(10)  # well into the phase's tasks
        process.send_signal(signal.SIGKILL)


def reused_lab(home: Path) -> AioLab:
    """A lab already up in `home` (its stacklab.yaml, state and clouds.yaml there), for a
    developer who runs a few tests against a lab of their own: made and removed by them."""
    with in_lab_home(home):
        plan = api.plan_file()
        return AioLab(plan.lab, home, plan, lab_dir(plan.lab), KILLED_DURING, 0.0)


@pytest.fixture(scope="session")
def aio_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AioLab]:
    if os.geteuid() != 0 or shutil.which("systemd-nspawn") is None:
        pytest.skip("the local provider needs root and systemd-nspawn")
    reuse = os.environ.get(REUSE_VARIABLE)
    if reuse:
        yield reused_lab(Path(reuse))
        return
    home = tmp_path_factory.mktemp("aio")
    (home / "stacklab.yaml").write_text(AIO_SPEC)
    try:
        with in_lab_home(home):
            started = time.monotonic()
            up_killed_during(KILLED_DURING, lab_dir(AIO_LAB))
            killed_at = time.monotonic() - started
            assert run(["up"]) == 0
            took = time.monotonic() - started
            print(f"\nup killed after {killed_at:.0f} s, done after {took:.0f} s in all")
            lab = AioLab(AIO_LAB, home, api.plan_file(), lab_dir(AIO_LAB), KILLED_DURING, took)
        yield lab
    finally:
        with in_lab_home(home):
            run(["down", AIO_LAB])


@pytest.fixture
def lab(aio_lab: AioLab) -> Iterator[AioLab]:
    """The shared lab, with the test in its home."""
    with in_lab_home(aio_lab.home):
        yield aio_lab
