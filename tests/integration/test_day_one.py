"""Day one on a real local AIO lab: bootstrap twice (the second creates nothing), verify
(console markers, floating IP ping, SSH), the written clouds.yaml with the openstack CLI,
launch 3 + inventory. One lab for the module, made with `stacklab up --until network` and
removed with `stacklab down` at the end. Root, nspawn; about 20 minutes on 2 cores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from stacklab import api
from stacklab.access.cloud_files import write_access_files
from stacklab.bootstrap.credentials import lab_credentials
from stacklab.bootstrap.resources import keypair_name
from stacklab.bootstrap.run import bootstrap_lab
from stacklab.cli.main import run
from stacklab.images.test_image import build_test_image
from stacklab.openstack_api import connect
from stacklab.plan.models import Plan
from stacklab.runner import LocalRunner
from stacklab.state.paths import lab_dir
from stacklab.verify.phases import Outcome
from stacklab.verify.run import verify_lab
from stacklab.workloads.inventory import InventoryFormat, lab_inventory
from stacklab.workloads.launch import launch

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
        reason="the local provider needs root and systemd-nspawn",
    ),
]

LAB = "dayone"
SPEC = f"""\
name: {LAB}
os: debian-12
services:
  horizon: false
"""


@dataclass(frozen=True)
class Lab:
    plan: Plan
    directory: Path
    config_home: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("dayone")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        patch.setenv("XDG_STATE_HOME", str(home / "state"))
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))  # the user's clouds.yaml
        Path("stacklab.yaml").write_text(SPEC)
        try:
            assert run(["up", "--until", "network"]) == 0
            yield Lab(api.plan_file(), lab_dir(LAB), home / "config")
        finally:
            run(["down", LAB])


def cloud_counts(lab: Lab) -> dict[str, int]:
    """How many of each kind of resource the cloud holds, as its admin and demo see them."""
    credentials = lab_credentials(LAB, lab.directory)
    admin = connect(credentials.admin)
    demo = connect(credentials.demo)
    try:
        return {
            "flavors": len(admin.flavors()),
            "projects": len(admin.projects()),
            "users": len(admin.users()),
            "images": len(admin.images()),
            "networks": len(admin.networks()),
            "subnets": len(admin.subnets()),
            "routers": len(admin.routers()),
            "ports": len(admin.ports()),
            "admin keypairs": len(admin.keypairs()),
            "demo keypairs": len(demo.keypairs()),
            "demo rules": len(demo.security_group_rules(demo.default_security_group_id())),
        }
    finally:
        admin.close()
        demo.close()


def test_bootstrap_twice_creates_nothing_new(lab: Lab) -> None:
    image = build_test_image(LocalRunner()).image
    first = bootstrap_lab(lab.plan, lab.directory, image)
    assert {c.kind for c in first.made} >= {"flavor", "image", "network", "router", "keypair"}
    before = cloud_counts(lab)
    second = bootstrap_lab(lab.plan, lab.directory, image)
    assert second.made == ()
    assert cloud_counts(lab) == before
    assert before["images"] == 3  # kernel, ramdisk, root disk
    print(f"\nbootstrap: first {first.seconds:.0f} s, second {second.seconds:.0f} s")


def test_verify_boots_checks_console_ping_and_ssh(lab: Lab) -> None:
    result = verify_lab(LAB, lab.directory, report=lambda phase: print(phase.line()))
    assert result.passed, "\n".join(result.lines())
    outcomes = {phase.name: phase.outcome for phase in result.phases}
    for phase in ("boot", "console", "floating-ip", "ping", "ssh", "cleanup"):
        assert outcomes[phase] is Outcome.OK, phase
    credentials = lab_credentials(LAB, lab.directory)
    demo = connect(credentials.demo)
    try:
        assert demo.servers() == [] and demo.floating_ips() == []  # it cleaned up
    finally:
        demo.close()


def test_openstack_cli_works_with_the_written_clouds_yaml(lab: Lab) -> None:
    nodes = [api.node_access(LAB, node.name) for node in lab.plan.nodes]
    files = write_access_files(LAB, lab.directory, nodes)
    assert files.clouds_file == lab.config_home / "openstack" / "clouds.yaml"
    openstack = str(Path(sys.executable).with_name("openstack"))
    env = {**os.environ, "XDG_CONFIG_HOME": str(lab.config_home)}
    env = {k: v for k, v in env.items() if not k.startswith("OS_")}
    listed = subprocess.run(
        [openstack, "--os-cloud", f"{LAB}-demo", "keypair", "list", "-f", "json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert [k["Name"] for k in json.loads(listed.stdout)] == [keypair_name(LAB)]
    servers = subprocess.run(
        [openstack, "--os-cloud", f"{LAB}-demo", "server", "list", "-f", "json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert json.loads(servers.stdout) == []
    alias = subprocess.run(
        ["ssh", "-v", "-F", str(files.ssh_config), "-o", "BatchMode=yes", f"{LAB}-aio",
         "hostname"],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert alias.returncode == 0, alias.stderr[-3000:]
    assert alias.stdout.strip().startswith("aio")


def answers_ping(address: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["ping", "-c", "1", "-W", "1", address], check=False).returncode == 0:
            return True
        time.sleep(1)
    return False


def test_launch_three_and_inventory_lists_reachable_hosts(lab: Lab) -> None:
    started = time.monotonic()
    launched = launch(LAB, lab.directory, count=3, flavor="m1.tiny", prefix="web")
    assert [w.name for w in launched] == ["web-1", "web-2", "web-3"]
    print(f"\nlaunch --count 3: {time.monotonic() - started:.0f} s")
    inventory = yaml.safe_load(lab_inventory(LAB, lab.directory, InventoryFormat.YAML))
    hosts = inventory["all"]["children"]["workloads"]["hosts"]
    assert sorted(hosts) == ["web-1", "web-2", "web-3"]
    addresses = [host["ansible_host"] for host in hosts.values()]
    assert sorted(addresses) == sorted(w.address for w in launched if w.address)
    unreachable = [address for address in addresses if not answers_ping(address, 180)]
    assert unreachable == []
