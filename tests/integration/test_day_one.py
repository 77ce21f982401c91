"""Day one on the session's real local AIO lab (conftest.py), which `stacklab up` made
through bootstrap, access files and a passing verify: bootstrap again creates nothing,
verify (console markers, floating IP ping, SSH), the written clouds.yaml with the openstack
CLI, launch 3 + inventory. Root, nspawn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from conftest import AioLab

from stacklab import api
from stacklab.access.cloud_files import write_access_files
from stacklab.bootstrap.resources import ALT_TEST_IMAGE, TEST_IMAGE, keypair_name
from stacklab.bootstrap.run import bootstrap_lab
from stacklab.images.test_image import build_test_image
from stacklab.labcloud.credentials import lab_credentials
from stacklab.openstack_api import connect
from stacklab.runner import LocalRunner
from stacklab.verify.phases import Outcome
from stacklab.verify.run import verify_lab
from stacklab.workloads.inventory import InventoryFormat, lab_inventory
from stacklab.workloads.launch import launch

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def cloud_counts(lab: AioLab) -> dict[str, int]:
    """How many of each kind of resource the cloud holds, as its admin and demo see them."""
    credentials = lab_credentials(lab.name, lab.directory)
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


def test_up_ended_with_bootstrap_access_and_a_passing_verify(lab: AioLab) -> None:
    done = {entry.step for entry in api.status(lab.name).journal if entry.status == "ok"}
    assert {"bootstrap", "access", "verify"} <= done
    assert (lab.config_home / "openstack" / "clouds.yaml").exists()


def test_bootstrap_again_creates_nothing_new(lab: AioLab) -> None:
    image = build_test_image(LocalRunner()).image
    before = cloud_counts(lab)
    again = bootstrap_lab(lab.plan, lab.directory, image)
    assert again.made == ()
    assert cloud_counts(lab) == before
    assert before["images"] == 4  # kernel, ramdisk, root disk, the alternative root disk
    with closing(connect(lab_credentials(lab.name, lab.directory).admin)) as admin:
        images = {found.name: found for found in admin.images()}
    root, alternative = images[TEST_IMAGE], images[ALT_TEST_IMAGE]
    assert alternative.id != root.id and alternative.status == "active"
    for link in ("kernel_id", "ramdisk_id", "os_command_line"):
        assert alternative.properties[link] == root.properties[link]
    assert before["flavors"] >= 5 and before["routers"] == 1 and before["demo keypairs"] == 1
    print(f"\nbootstrap again: {again.seconds:.0f} s")


def test_verify_boots_checks_console_ping_and_ssh(lab: AioLab) -> None:
    result = verify_lab(lab.name, lab.directory, report=lambda phase: print(phase.line()))
    assert result.passed, "\n".join(result.lines())
    outcomes = {phase.name: phase.outcome for phase in result.phases}
    for phase in ("boot", "console", "floating-ip", "ping", "ssh", "cleanup"):
        assert outcomes[phase] is Outcome.OK, phase
    credentials = lab_credentials(lab.name, lab.directory)
    demo = connect(credentials.demo)
    try:
        assert demo.servers() == [] and demo.floating_ips() == []  # it cleaned up
    finally:
        demo.close()


def test_openstack_cli_works_with_the_written_clouds_yaml(lab: AioLab) -> None:
    nodes = [api.node_access(lab.name, node.name) for node in lab.plan.nodes]
    files = write_access_files(lab.name, lab.directory, nodes)
    assert files.clouds_file == lab.config_home / "openstack" / "clouds.yaml"
    openstack = str(Path(sys.executable).with_name("openstack"))
    env = {**os.environ, "XDG_CONFIG_HOME": str(lab.config_home)}
    env = {k: v for k, v in env.items() if not k.startswith("OS_")}
    listed = subprocess.run(
        [openstack, "--os-cloud", f"{lab.name}-demo", "keypair", "list", "-f", "json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert [k["Name"] for k in json.loads(listed.stdout)] == [keypair_name(lab.name)]
    servers = subprocess.run(
        [openstack, "--os-cloud", f"{lab.name}-demo", "server", "list", "-f", "json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert json.loads(servers.stdout) == []
    alias = subprocess.run(
        ["ssh", "-v", "-F", str(files.ssh_config), "-o", "BatchMode=yes", f"{lab.name}-aio",
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


def test_launch_three_and_inventory_lists_reachable_hosts(lab: AioLab) -> None:
    started = time.monotonic()
    launched = launch(lab.name, lab.directory, count=3, flavor="m1.tiny", prefix="web")
    assert [w.name for w in launched] == ["web-1", "web-2", "web-3"]
    print(f"\nlaunch --count 3: {time.monotonic() - started:.0f} s")
    inventory = yaml.safe_load(lab_inventory(lab.name, lab.directory, InventoryFormat.YAML))
    hosts = inventory["all"]["children"]["workloads"]["hosts"]
    assert sorted(hosts) == ["web-1", "web-2", "web-3"]
    addresses = [host["ansible_host"] for host in hosts.values()]
    assert sorted(addresses) == sorted(w.address for w in launched if w.address)
    unreachable = [address for address in addresses if not answers_ping(address, 180)]
    assert unreachable == []
    # What ovs-vswitchd's userspace datapath does to a new guest's tap when it races libvirt:
    # the tap goes down. The node's tap keeper must bring every one back.
    nodes = [api.node_access(lab.name, node.name) for node in lab.plan.nodes]
    files = write_access_files(lab.name, lab.directory, nodes)
    taps_down = subprocess.run(
        ["ssh", "-F", str(files.ssh_config), "-o", "BatchMode=yes", f"{lab.name}-aio",
         "for tap in $(ls /sys/class/net | grep ^tap); do ip link set dev $tap down; done"],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert taps_down.returncode == 0, taps_down.stderr[-3000:]
    unreachable = [address for address in addresses if not answers_ping(address, 60)]
    assert unreachable == []
