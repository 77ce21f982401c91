"""The local provider for real: nspawn nodes, bridges, veths, NAT and the apt cache. Root.

Labs are made once per session (the base image is cached in the normal cache dir, so only
the first run ever builds it) and destroyed by their fixtures' finalizers even when a test
fails. The state dir is a temporary one per session.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import NetworkName, Spec
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import known_hosts_path, ssh_argv
from stacklab.errors import HostError
from stacklab.plan.models import Plan, PlannedNode
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.base import StopStart
from stacklab.providers.local.naming import (
    NODE_INTERFACES,
    bridge_name,
    namespace_name,
    nft_table_name,
    veth_name,
)
from stacklab.providers.local.processes import container_inits
from stacklab.providers.local.provider import LocalProvider
from stacklab.runner import Completed, LocalRunner
from stacklab.state.db import StateDB
from stacklab.state.keys import ensure_lab_key
from stacklab.state.paths import ensure_private_dir, lab_dir

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
        reason="the local provider needs root and systemd-nspawn",
    ),
]

RUNNER = LocalRunner()
ACNG_LOG = Path("/var/log/apt-cacher-ng/apt-cacher.log")
# A plan has one network node; with the controller elsewhere, the two nodes share three
# networks: management, overlay and uplink.
THREE_SHARED_NETWORKS = [
    {"name": "n1", "roles": ["network"]},
    {"name": "n2", "roles": ["controller", "compute"]},
]
NETWORK_AND_COMPUTE = [
    {"name": "n1", "roles": ["controller", "network"]},
    {"name": "n2", "roles": ["compute"]},
]


@dataclass
class Lab:
    plan: Plan
    context: LabContext
    provider: LocalProvider
    access: dict[str, NodeAccess] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.plan.lab

    def up(self) -> None:
        self.provider.check(self.plan)
        self.provider.create_networks(self.plan, self.context)
        nodes = self.provider.create_nodes(self.plan, self.context)
        self.access = {access.name: access for access in nodes}

    def ssh(self, node: str, command: str, *, check: bool = True) -> Completed:
        argv = ssh_argv(self.access[node], known_hosts_path(self.context.directory), [command])
        return RUNNER.run(argv, check=check, timeout=300)

    def node_state(self, node: str) -> tuple[str, list[int]]:
        found = {r.ident: r for r in self.provider.discover(self.name) if r.kind == "node"}
        return found[node].state, found[node].details["pids"]


@pytest.fixture(scope="session")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("xdg-state")
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(path)
    yield path
    if saved is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = saved


def new_lab(
    name: str,
    nodes: list[dict[str, Any]],
    networks: dict[str, Any] | None = None,
    database: Path | None = None,
) -> Lab:
    spec = Spec.model_validate(
        {"name": name, "topology": {"nodes": nodes}, "networks": networks or {}}
    )
    plan = make_plan(spec, load_catalog())
    directory = ensure_private_dir(lab_dir(name))
    private, public = ensure_lab_key(directory, name, RUNNER)
    db = StateDB(database)
    context = LabContext(name, directory, db, private, public, lambda message: None)
    return Lab(plan, context, LocalProvider())


def running_lab(name: str, nodes: list[dict[str, Any]], **networks: Any) -> Iterator[Lab]:
    lab = new_lab(name, nodes, networks)
    lab.provider.destroy(name, lambda message: None)  # what a killed earlier run left
    try:
        lab.up()
        yield lab
    finally:
        lab.provider.destroy(name, lambda message: None)
        lab.context.db.close()


@pytest.fixture(scope="session")
def lab_a(state_home: Path) -> Iterator[Lab]:
    """Two nodes on three shared networks; custom MTUs so that they are seen to apply."""
    yield from running_lab(
        "itl-a", THREE_SHARED_NETWORKS, management={"mtu": 1400}, overlay={"mtu": 1450}
    )


@pytest.fixture(scope="session")
def lab_b(state_home: Path) -> Iterator[Lab]:
    """n2 on management and overlay only: its way out is the management gateway."""
    yield from running_lab("itl-b", NETWORK_AND_COMPUTE)


def shared_networks(one: PlannedNode, other: PlannedNode) -> list[NetworkName]:
    return [nic.network for nic in one.nics if other.nic(nic.network) is not None]


def test_nodes_reach_each_other_on_every_shared_network(lab_a: Lab) -> None:
    n1, n2 = lab_a.plan.node("n1"), lab_a.plan.node("n2")
    networks = shared_networks(n1, n2)
    assert len(networks) >= 3
    banner = (
        "python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1], 22), 5); "
        "print(s.recv(64).decode().strip())' "
    )
    for source, target in ((n1, n2), (n2, n1)):
        for network in networks:
            nic = target.nic(network)
            assert nic is not None
            lab_a.ssh(source.name, f"ping -c 1 -W 3 -I {NODE_INTERFACES[network]} {nic.address}")
            answer = lab_a.ssh(source.name, banner + str(nic.address)).stdout
            assert answer.startswith("SSH-2.0-"), (network, answer)


def node_interfaces(lab: Lab, node: str) -> dict[str, tuple[set[str], int]]:
    raw = json.loads(lab.ssh(node, "ip -j -4 addr show").stdout)
    return {
        link["ifname"]: ({f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"]}, link["mtu"])
        for link in raw
        if link["ifname"] != "lo"
    }


@pytest.mark.parametrize("lab_fixture", ["lab_a", "lab_b"])
def test_addresses_and_mtus_match_the_plan(
    request: pytest.FixtureRequest, lab_fixture: str
) -> None:
    lab: Lab = request.getfixturevalue(lab_fixture)
    for node in lab.plan.nodes:
        expected = {NODE_INTERFACES[nic.network]: ({nic.with_prefix}, nic.mtu) for nic in node.nics}
        assert node_interfaces(lab, node.name) == expected
    for network in lab.plan.networks:
        bridge = json.loads(
            RUNNER.run(
                ["ip", "-j", "-4", "addr", "show", bridge_name(lab.name, network.name)]
            ).stdout
        )[0]
        gateway = {f"{a['local']}/{a['prefixlen']}" for a in bridge["addr_info"]}
        assert gateway == {f"{network.gateway}/{network.cidr.prefixlen}"}
        assert bridge["mtu"] == network.mtu
    if lab_fixture == "lab_a":
        assert {nic.mtu for nic in lab.plan.node("n1").nics} == {1400, 1450, 1500}


def test_names_resolve_and_the_way_out_is_the_planned_gateway(lab_b: Lab) -> None:
    plan = lab_b.plan
    uplink = plan.network(NetworkName.UPLINK).gateway
    management = plan.network(NetworkName.MANAGEMENT).gateway
    for node, gateway in (("n1", uplink), ("n2", management)):
        planned = plan.node(node)
        assert lab_b.ssh(node, "hostname").stdout.strip() == node
        assert lab_b.ssh(node, "hostname -f").stdout.strip() == planned.fqdn
        for other in plan.nodes:
            resolved = lab_b.ssh(node, f"getent hosts {other.fqdn}").stdout.split()[0]
            assert resolved == str(other.management_address)
        route = json.loads(lab_b.ssh(node, "ip -j -4 route show default").stdout)
        assert [entry["gateway"] for entry in route] == [str(gateway)]


def test_apt_works_inside_a_node_through_the_host_cache(lab_b: Lab) -> None:
    node = lab_b.plan.node("n2")  # no uplink: its traffic goes out by the management gateway
    lab_b.ssh("n2", "apt-get -q update && apt-get install -y -q --no-install-recommends hello")
    assert "Hello, world!" in lab_b.ssh("n2", "hello").stdout
    client = f"|{node.management_address}|"
    deadline = time.monotonic() + 10
    while client not in ACNG_LOG.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client in ACNG_LOG.read_text(errors="replace"), "apt did not go through the cache"


def test_nat_lets_nodes_out_to_the_mirror(lab_b: Lab) -> None:
    # Straight to the mirror, without the cache: only the host's masquerade makes this work.
    sources = lab_b.ssh("n2", "cat /etc/apt/sources.list.d/debian.sources").stdout
    mirror = next(line.split()[1] for line in sources.splitlines() if line.startswith("URIs:"))
    url = f"{mirror}/dists/{lab_b.plan.release}/Release"
    fetch = (
        f"python3 -c 'import urllib.request as u; print(u.urlopen(\"{url}\", timeout=20).status)'"
    )
    assert lab_b.ssh("n2", fetch).stdout.strip() == "200"


def test_a_node_may_do_what_openstack_needs(lab_a: Lab) -> None:
    overlay = lab_a.plan.node("n1").nic(NetworkName.OVERLAY)
    assert overlay is not None
    script = " && ".join(
        [
            "ip link add itl-br type bridge",
            "ip link add itl-vx type vxlan id 42 dstport 4789 dev overlay0 "
            f"local {overlay.address}",
            "ip netns add itl-ns",
            "ip netns exec itl-ns sysctl -q -w net.ipv4.ip_forward=1",
            "sysctl -q -w net.ipv4.conf.all.forwarding=1",
            "nft add table inet itl",
            "python3 -c 'import os; os.close(os.open(\"/dev/net/tun\", os.O_RDWR))'",
        ]
    )
    cleanup = (
        "ip link del itl-br; ip link del itl-vx; ip netns del itl-ns; nft delete table inet itl"
    )
    try:
        lab_a.ssh("n1", script)
        if Path("/dev/kvm").exists():
            lab_a.ssh("n1", "python3 -c 'import os; os.close(os.open(\"/dev/kvm\", os.O_RDWR))'")
    finally:
        lab_a.ssh("n1", cleanup, check=False)


def test_roots_user_manager_outlives_a_pause_between_logins(lab_a: Lab) -> None:
    """logind stops root's user manager 10 s after root's last login; in a node that stop
    hung for 2 min and held every SSH login meanwhile. Lingering, it is never stopped."""
    invocation = "systemctl show user@0.service --property=InvocationID --value"
    first = lab_a.ssh("n1", invocation).stdout.strip()
    time.sleep(15)
    started = time.monotonic()
    assert lab_a.ssh("n1", invocation).stdout.strip() == first
    assert time.monotonic() - started < 20


def test_a_second_create_creates_nothing(lab_a: Lab) -> None:
    before = lab_a.provider.discover(lab_a.name)
    recorded = len(lab_a.context.db.resources(lab_a.name))
    lab_a.up()
    assert lab_a.provider.discover(lab_a.name) == before  # same resources, same node PIDs
    assert len(lab_a.context.db.resources(lab_a.name)) == recorded
    assert all(r.state == "running" for r in before if r.kind == "node")


def test_a_node_whose_nspawn_was_killed_is_started_again(lab_b: Lab) -> None:
    lab_b.ssh("n2", "echo kept > /root/before-kill && sync")
    state, pids = lab_b.node_state("n2")
    assert state == "running"
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while lab_b.node_state("n2")[0] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lab_b.node_state("n2")[0] in ("orphaned", "stopped")
    lab_b.up()
    state, new_pids = lab_b.node_state("n2")
    assert state == "running" and new_pids != pids
    assert lab_b.ssh("n2", "cat /root/before-kill").stdout.strip() == "kept"
    inside = RUNNER.run(["ip", "netns", "pids", namespace_name(lab_b.name, "n2")]).stdout.split()
    inits = container_inits(int(pid) for pid in inside)
    assert len(inits) == 1, "the old node's systemd still runs beside the new one"


def test_stop_and_start_keep_the_nodes_disks(lab_b: Lab) -> None:
    assert isinstance(lab_b.provider, StopStart)
    lab_b.ssh("n1", "echo still-here > /root/before-stop && sync")
    lab_b.provider.stop(lab_b.name, lambda message: None)
    states = {r.ident: r.state for r in lab_b.provider.discover(lab_b.name) if r.kind == "node"}
    assert states == {"n1": "stopped", "n2": "stopped"}
    assert not lab_b.ssh("n1", "true", check=False).ok
    lab_b.access = {a.name: a for a in lab_b.provider.start(lab_b.plan, lab_b.context)}
    assert lab_b.ssh("n1", "cat /root/before-stop").stdout.strip() == "still-here"


def test_two_labs_side_by_side_do_not_collide(lab_a: Lab, lab_b: Lab) -> None:
    found_a = {(r.kind, r.ident) for r in lab_a.provider.discover(lab_a.name)}
    found_b = {(r.kind, r.ident) for r in lab_b.provider.discover(lab_b.name)}
    assert not {item for item in found_a & found_b if item[0] != "node"}
    for lab in (lab_a, lab_b):
        for node in lab.plan.nodes:
            assert lab.ssh(node.name, "hostname").stdout.strip() == node.name
    cidrs_a = [network.cidr for network in lab_a.plan.networks]
    assert not any(n.cidr.overlaps(c) for n in lab_b.plan.networks for c in cidrs_a)
    lab_a.provider.check(lab_a.plan)  # its own bridges' routes are no conflict


def test_check_refuses_a_cidr_that_this_host_already_routes(state_home: Path) -> None:
    lab = new_lab("itl-d", NETWORK_AND_COMPUTE)
    taken = lab.plan.network(NetworkName.OVERLAY).cidr
    RUNNER.run(["ip", "link", "add", "itl-taken0", "type", "bridge"])
    try:
        RUNNER.run(["ip", "addr", "add", f"{taken[5]}/{taken.prefixlen}", "dev", "itl-taken0"])
        RUNNER.run(["ip", "link", "set", "itl-taken0", "up"])
        with pytest.raises(HostError, match=str(taken)) as refused:
            lab.provider.check(lab.plan)
        assert refused.value.fix and "cidr" in refused.value.fix
    finally:
        RUNNER.run(["ip", "link", "del", "itl-taken0"], check=False)
        lab.context.db.close()


def host_traces(lab: Lab) -> list[str]:
    """Everything on this host that could belong to the lab, listed from the host itself."""
    name = lab.name
    machine_prefix = namespace_name(name, "x")[:-1]
    veths = {veth_name(name, n.name, nic.network) for n in lab.plan.nodes for nic in n.nics}
    links = json.loads(RUNNER.run(["ip", "-j", "link", "show"]).stdout)
    traces = [
        f"link {link['ifname']}"
        for link in links
        if link["ifname"].startswith(f"sl-{name}-")
        or link["ifname"] in veths
        or f"stacklab:{name}:" in link.get("ifalias", "")
    ]
    netns = Path("/run/netns")
    names = [path.name for path in netns.iterdir()] if netns.is_dir() else []
    traces += [f"netns {ns}" for ns in names if ns.startswith(machine_prefix)]
    tables = RUNNER.run(["nft", "list", "tables"]).stdout
    traces += [f"nft {line}" for line in tables.splitlines() if nft_table_name(name) in line]
    mounts = Path("/proc/self/mountinfo").read_text()
    directory = str(lab.context.directory)
    traces += [
        f"mount {line}"
        for line in mounts.splitlines()
        if f"stacklab:{name}:" in line or directory in line
    ]
    processes = RUNNER.run(["ps", "-ww", "-eo", "pid,args"]).stdout
    traces += [f"process {line}" for line in processes.splitlines() if machine_prefix in line]
    nodes_dir = lab.context.directory / "nodes"
    if nodes_dir.exists():
        traces += [f"directory {path}" for path in nodes_dir.iterdir()] or [f"dir {nodes_dir}"]
    propagate = Path("/run/systemd/nspawn/propagate")
    if propagate.is_dir():
        traces += [f"runtime {p}" for p in propagate.iterdir() if p.name.startswith(machine_prefix)]
    return traces


def test_destroy_leaves_nothing_even_without_the_state_database(state_home: Path) -> None:
    database = state_home / "lost" / "state.db"
    lab = new_lab("itl-c", NETWORK_AND_COMPUTE, database=database)
    lab.provider.destroy(lab.name, lambda message: None)
    try:
        assert host_traces(lab) == []
        lab.up()
        during = host_traces(lab)
        for kind in ("link", "netns", "nft", "mount", "process", "directory"):
            assert any(trace.startswith(kind) for trace in during), kind
        lab.context.db.close()
        for path in database.parent.glob("state.db*"):
            path.unlink()  # the journal is lost: destroy must find everything on the host
        started = time.monotonic()
        removed = LocalProvider().destroy(lab.name, lambda message: None)
        took = time.monotonic() - started
        assert {r.kind for r in removed} >= {
            "node",
            "bridge",
            "veth",
            "netns",
            "nft-table",
            "mount",
        }
        assert host_traces(lab) == []
        assert LocalProvider().discover(lab.name) == []
        assert took < 30, f"destroy took {took:.1f} s"
    finally:
        LocalProvider().destroy(lab.name, lambda message: None)
