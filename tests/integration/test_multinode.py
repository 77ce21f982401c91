"""The multinode preset on real local nodes: controller, network, two computes (and the
storage node of the preset). `stacklab up` ends with a passing verify; every Nova service
and Neutron agent the plan expects reports up; an instance goes ACTIVE on each compute
node, placed there by the admin; `stacklab down` leaves nothing. Root, nspawn; the module
makes its own lab (the longest test of the suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import in_lab_home
from traces import host_traces

from stacklab import api
from stacklab.bootstrap.resources import TENANT_NETWORK, TEST_IMAGE, VERIFY_FLAVOR
from stacklab.cli.main import run
from stacklab.config.models import Role
from stacklab.installer.health import cloud_health, expected_services, label, planned_roles
from stacklab.plan.models import Plan
from stacklab.state.paths import lab_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAB = "multi"
SPEC = f"""\
name: {LAB}
os: debian-12
topology:
  preset: multinode
services:
  horizon: false
"""
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the local provider needs root")
    home = tmp_path_factory.mktemp("multinode")
    (home / "stacklab.yaml").write_text(SPEC)
    try:
        with in_lab_home(home):
            started = time.monotonic()
            assert run(["up"]) == 0
            print(f"\nmultinode up: {time.monotonic() - started:.0f} s")
        yield home
    finally:
        with in_lab_home(home):
            run(["down", LAB])


@pytest.fixture
def plan(home: Path) -> Iterator[Plan]:
    with in_lab_home(home):
        yield api.plan_file()


def admin_cli(*command: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    done = subprocess.run(
        [OPENSTACK, "--os-cloud", LAB, *command, "-f", "json"],
        capture_output=True, text=True, env=environment, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded: dict[str, object] = json.loads(done.stdout)
    return loaded


def test_every_service_of_every_node_reports_up(plan: Plan) -> None:
    health = cloud_health(LAB, planned_roles(plan), lab_dir(LAB))
    assert health.ok, (health.error, health.missing, health.down)
    listed = {label(service) for service in health.services}
    assert listed == expected_services(planned_roles(plan))
    assert {"compute compute1/nova-compute", "compute compute2/nova-compute"} <= listed
    assert "network network/L3 agent" in listed


def test_an_instance_goes_active_on_each_compute_node(plan: Plan) -> None:
    computes = [node.name for node in plan.nodes_with(Role.COMPUTE)]
    assert computes == ["compute1", "compute2"]
    for compute in computes:
        server = admin_cli(
            "--os-compute-api-version", "2.74", "server", "create", f"on-{compute}",
            "--image", TEST_IMAGE, "--flavor", VERIFY_FLAVOR, "--network", TENANT_NETWORK,
            "--host", compute, "--wait",
        )  # fmt: skip
        try:
            assert server["status"] == "ACTIVE", server
            assert server["OS-EXT-SRV-ATTR:host"] == compute
        finally:
            subprocess.run(
                [OPENSTACK, "--os-cloud", LAB, "server", "delete", "--wait", str(server["id"])],
                check=True, timeout=300, capture_output=True,
            )  # fmt: skip


def test_down_leaves_nothing(home: Path) -> None:
    with in_lab_home(home):
        assert run(["down", LAB]) == 0
        assert api.status(LAB).found == []
    assert host_traces(LAB) == []
