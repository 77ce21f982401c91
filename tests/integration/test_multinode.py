"""The multinode preset on the emulated VPC (`provider: {kind: local, fabric: aws}`, issue 13),
on real local nodes: controller, network, two computes (and the storage node of the preset).
The one multinode lab of the suite: it covers the plain multinode case too. `stacklab up`
ends with a passing verify; every Nova service and Neutron agent the plan expects reports up;
an instance goes ACTIVE on each compute node, placed there by the admin; two instances on
different computes reach each other over Geneve; the external network lives on the network
node (no bridge of it on this host), so this host, playing the user's machine, reaches a
floating IP only through the access node's public address, and a guest reaches this host
through the network node's masquerade; `up` itself reached the nodes and the APIs through
that address (SSH, and the TLS proxy on 443); with services.cinder on, Ceph and cinder-volume
run on the storage node and nowhere else, and one volume of it is attached to an instance on
each compute in turn, seen by the guest and gone again after the detach; `stacklab down`
leaves nothing. Root, nspawn; the module makes its own lab (the longest test of the suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from conftest import in_lab_home
from traces import host_traces
from volumes import attach, cli, detach, server_active, volume_status, wait_for

from stacklab import api
from stacklab.bootstrap.resources import (
    EXTERNAL_NETWORK,
    IMAGE_USER,
    TENANT_NETWORK,
    TEST_IMAGE,
    VERIFY_FLAVOR,
    keypair_name,
)
from stacklab.cli.main import run
from stacklab.config.models import NetworkName, Role
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import ssh_argv
from stacklab.installer.health import (
    CINDER_BACKEND,
    cloud_health,
    expected_services,
    label,
    planned_roles,
)
from stacklab.labcloud.clouds_file import auth_url, trusted_ca
from stacklab.labcloud.credentials import lab_private_key
from stacklab.orchestration.labs import node_access
from stacklab.plan.models import Plan
from stacklab.plan.planner import EMULATED_PUBLIC_RANGE
from stacklab.providers.local.naming import bridge_name
from stacklab.state.paths import lab_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A multinode lab of one's own that is up already, made from SPEC under another name: its
# home (stacklab.yaml, state and clouds.yaml, as conftest.REUSE_VARIABLE's) is used instead of
# making the module's lab; test_down_leaves_nothing takes it down.
REUSE_VARIABLE = "STACKLAB_TEST_MULTINODE_HOME"
REUSED_HOME = os.environ.get(REUSE_VARIABLE)
LAB = api.resolve_lab_name(None, Path(REUSED_HOME) / "stacklab.yaml") if REUSED_HOME else "vpc4"
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


def host_address() -> str:
    """This host's source address towards the emulated public range: its admin_cidr, and
    the address a guest reaches it at from outside the lab."""
    words = subprocess.run(
        ["ip", "-4", "route", "get", str(EMULATED_PUBLIC_RANGE[1])],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return words[words.index("src") + 1]


SPEC = f"""\
name: {LAB}
provider: {{kind: local, fabric: aws}}
topology:
  preset: multinode
services:
  horizon: false
  cinder: true
access:
  admin_cidr: {host_address()}/32
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the local provider needs root")
    if REUSED_HOME:
        yield Path(REUSED_HOME)
        return
    home = tmp_path_factory.mktemp("multinode")
    (home / "stacklab.yaml").write_text(SPEC)
    try:
        with in_lab_home(home):
            started = time.monotonic()
            assert run(["up"]) == 0
            print(f"\nmultinode up on the emulated VPC: {time.monotonic() - started:.0f} s")
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
    assert "network network/OVN Controller Gateway agent" in listed


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


def demo_cli(*command: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    done = subprocess.run(
        [OPENSTACK, "--os-cloud", f"{LAB}-demo", *command, "-f", "json"],
        capture_output=True, text=True, env=environment, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded: dict[str, object] = json.loads(done.stdout)
    return loaded


def ssh_to(plan: Plan, address: str, *command: str) -> subprocess.CompletedProcess[str]:
    """SSH from this host to an instance as the user would: through the access node's
    public address (the only way in), with the lab's key."""
    key = lab_private_key(lab_dir(LAB))
    guest = NodeAccess("guest", address, IMAGE_USER, 22, key, f"root@{plan.public_address}")
    with tempfile.TemporaryDirectory() as scratch:
        argv = ssh_argv(guest, Path(scratch) / "known_hosts", command, strict=False)
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


def fixed_address(server: dict[str, object]) -> str:
    addresses = server["addresses"]
    assert isinstance(addresses, dict), server
    return str(addresses[TENANT_NETWORK][0])


def test_the_external_network_lives_on_the_network_node(plan: Plan) -> None:
    external = plan.network(NetworkName.PROVIDER)
    assert external.on_node == plan.access_node == "network"
    assert all(node.nic(NetworkName.PROVIDER) is None for node in plan.nodes)
    bridge = bridge_name(LAB, NetworkName.PROVIDER)
    shown = subprocess.run(["ip", "link", "show", bridge], capture_output=True, check=False)
    assert shown.returncode != 0, f"{bridge} exists on this host"


def test_up_reached_the_lab_through_the_access_nodes_public_address(plan: Plan) -> None:
    """Item 2 of issue 13: the nodes over SSH at the public address (the access node) or
    through it (the others); bootstrap, verify and these tests' API calls through the TLS
    proxy on its port 443, trusting the proxy's certificate."""
    assert auth_url(LAB, lab_dir(LAB)) == f"https://{plan.public_address}/identity/v3"
    assert trusted_ca(LAB, lab_dir(LAB)) is not None
    assert node_access(LAB, plan.access_node).host == str(plan.public_address)
    assert node_access(LAB, "compute1").jump_host == f"root@{plan.public_address}"


def test_instances_on_both_computes_reach_each_other_over_geneve(home: Path, plan: Plan) -> None:
    """Two servers of the demo project on one tenant network, kept apart by an anti-affinity
    group (so on compute1 and compute2): one, reached by SSH on its floating IP through the
    access node's public address (this host has no other way to it), pings the other's
    tenant address, which crosses the Geneve tunnel between the computes, and this host's
    own address, which it reaches through the network node's masquerade."""
    with in_lab_home(home):
        group = demo_cli("server", "group", "create", "--policy", "anti-affinity", "apart")
        made: list[str] = []
        floating: dict[str, object] = {}
        try:
            servers = []
            for name in ("geneve-a", "geneve-b"):
                server = demo_cli(
                    "server", "create", name, "--image", TEST_IMAGE, "--flavor", VERIFY_FLAVOR,
                    "--network", TENANT_NETWORK, "--key-name", keypair_name(LAB),
                    "--hint", f"group={group['id']}", "--wait",
                )  # fmt: skip
                made.append(str(server["id"]))
                assert server["status"] == "ACTIVE", server
                servers.append(server)
            hosts = {str(admin_cli("server", "show", sid)["OS-EXT-SRV-ATTR:host"]) for sid in made}
            assert hosts == {"compute1", "compute2"}
            floating = demo_cli("floating", "ip", "create", EXTERNAL_NETWORK)
            address = str(floating["floating_ip_address"])
            subprocess.run(
                [OPENSTACK, "--os-cloud", f"{LAB}-demo", "server", "add", "floating", "ip",
                 made[0], address], check=True, timeout=120, capture_output=True,
            )  # fmt: skip
            other = fixed_address(servers[1])
            deadline = time.monotonic() + 300
            answer = ssh_to(plan, address, "true")
            while answer.returncode != 0 and time.monotonic() < deadline:
                time.sleep(5)
                answer = ssh_to(plan, address, "true")
            assert answer.returncode == 0, answer.stderr
            direct = subprocess.run(
                ["ping", "-c", "2", "-W", "2", address], capture_output=True, check=False
            )
            assert direct.returncode != 0, "this host reached the floating IP directly"
            # The first packet to a new destination waits for ARP and OVN's flow setup in the
            # userspace datapath and may be lost (TCG guests); what must hold is the path after.
            ssh_to(plan, address, "ping", "-c", "1", "-W", "5", other)
            pinged = ssh_to(plan, address, "ping", "-c", "3", "-W", "2", other)
            assert pinged.returncode == 0, (pinged.stdout, pinged.stderr)
            assert " 0% packet loss" in pinged.stdout, pinged.stdout
            outside = ssh_to(plan, address, "ping", "-c", "3", "-W", "3", host_address())
            assert outside.returncode == 0, (outside.stdout, outside.stderr)
        finally:
            if floating:
                subprocess.run(
                    [OPENSTACK, "--os-cloud", f"{LAB}-demo", "floating", "ip", "delete",
                     str(floating["id"])], check=False, timeout=120, capture_output=True,
                )  # fmt: skip
            for server_id in made:
                subprocess.run(
                    [OPENSTACK, "--os-cloud", f"{LAB}-demo", "server", "delete", "--wait",
                     server_id], check=False, timeout=300, capture_output=True,
                )  # fmt: skip
            subprocess.run(
                [OPENSTACK, "--os-cloud", f"{LAB}-demo", "server", "group", "delete",
                 str(group["id"])], check=False, timeout=120, capture_output=True,
            )  # fmt: skip


STORAGE_DAEMONS = frozenset({"ceph-mon", "ceph-mgr", "ceph-osd", "cinder-volume"})


def on_node(node: str, *command: str) -> subprocess.CompletedProcess[str]:
    access = node_access(LAB, node)
    with tempfile.TemporaryDirectory() as scratch:
        argv = ssh_argv(access, Path(scratch) / "known_hosts", command, strict=False)
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


def storage_daemons_running(node: str) -> set[str]:
    listed = on_node(node, "ps", "-eo", "comm=")
    assert listed.returncode == 0, listed.stderr
    return STORAGE_DAEMONS & set(listed.stdout.split())


def test_ceph_and_cinder_volume_run_on_the_storage_node_alone(plan: Plan) -> None:
    storage = [node.name for node in plan.nodes_with(Role.STORAGE)]
    assert storage == ["storage"]
    running = {node.name: storage_daemons_running(node.name) for node in plan.nodes}
    assert running == {node.name: STORAGE_DAEMONS if node.name in storage else set()
                       for node in plan.nodes}  # fmt: skip
    services = cli(LAB, "volume", "service", "list")
    assert {(s["Binary"], s["Host"], s["State"]) for s in services} == {
        ("cinder-scheduler", plan.controller, "up"),
        ("cinder-volume", f"storage@{CINDER_BACKEND}", "up"),
    }


def test_a_volume_of_the_storage_node_is_seen_by_a_guest_on_each_compute(plan: Plan) -> None:
    """One volume, made by the storage node's cinder-volume, attached to a running guest on
    compute1, detached, then attached to one on compute2: each guest lists it on its console
    (QEMU on each compute opens it in the storage node's Ceph with the cinder key of its
    libvirt secret) and no longer does after the detach."""
    computes = [node.name for node in plan.nodes_with(Role.COMPUTE)]
    assert computes == ["compute1", "compute2"]
    servers: dict[str, str] = {}
    volume = ""
    try:
        for compute in computes:
            servers[compute] = str(cli(
                LAB, "--os-compute-api-version", "2.74", "server", "create", f"vol-{compute}",
                "--image", TEST_IMAGE, "--flavor", VERIFY_FLAVOR, "--network", TENANT_NETWORK,
                "--host", compute,
            )["id"])  # fmt: skip
        volume = str(cli(LAB, "volume", "create", "--size", "1", "vol-multinode")["id"])
        wait_for("volume available", partial(volume_status, LAB, volume, "available"))
        made_by = cli(LAB, "volume", "show", volume)["os-vol-host-attr:host"]
        assert made_by == f"storage@{CINDER_BACKEND}#{CINDER_BACKEND}"
        for compute, server in servers.items():
            wait_for(f"the server on {compute} ACTIVE", partial(server_active, LAB, server))
            assert cli(LAB, "server", "show", server)["OS-EXT-SRV-ATTR:host"] == compute
            root, seen_after = attach(LAB, server, volume)
            print(f"\nattach on {compute}: the guest saw the volume after {seen_after:.0f} s")
            attachments = cli(LAB, "volume", "show", volume)["attachments"]
            assert [(a["server_id"], a["host_name"]) for a in attachments] == [(server, compute)]
            detach(LAB, server, volume, root)
    finally:
        for server in servers.values():
            subprocess.run(
                [OPENSTACK, "--os-cloud", LAB, "server", "delete", "--wait", server],
                check=False, timeout=300, capture_output=True,
            )  # fmt: skip
        if volume:
            subprocess.run(
                [OPENSTACK, "--os-cloud", LAB, "volume", "delete", volume],
                check=False, timeout=120, capture_output=True,
            )  # fmt: skip


def test_down_leaves_nothing(home: Path) -> None:
    with in_lab_home(home):
        assert run(["down", LAB]) == 0
        assert api.status(LAB).found == []
    assert host_traces(LAB) == []
