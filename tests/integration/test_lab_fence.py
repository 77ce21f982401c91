"""Labs fenced off from each other, for real: two small local labs side by side (nodes only),
a node of one reaches no node of the other (ping, TCP), both still reach their own nodes
across their own networks and the way out; after both go, IPv4 forwarding is as it was."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import NetworkName, Spec
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import known_hosts_path, ssh_argv
from stacklab.errors import HostError
from stacklab.plan.models import Plan, PlannedNode
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.local.apt_cache import debian_mirror
from stacklab.providers.local.forward_policy import dropping_chains
from stacklab.providers.local.ip_forwarding import BEFORE_FILE, HOST_RUNTIME, IP_FORWARD
from stacklab.providers.local.naming import ALIAS_PREFIX, bridge_name
from stacklab.providers.local.network import host_links, nft_tables
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
# n2 has no uplink NIC: what it reaches beyond the management network, the host forwards.
TWO_NODES = [
    {"name": "n1", "roles": ["controller", "network"]},
    {"name": "n2", "roles": ["compute"]},
]
ONE_NODE = [{"name": "n1", "roles": ["controller", "network", "compute"]}]
FORWARDING_NS = "fenca-fwdrop"


@dataclass
class SmallLab:
    plan: Plan
    context: LabContext
    provider: LocalProvider
    access: dict[str, NodeAccess]

    def ssh(self, node: str, command: str) -> Completed:
        argv = ssh_argv(self.access[node], known_hosts_path(self.context.directory), [command])
        return RUNNER.run(argv, check=False, timeout=120)

    def reaches(self, node: str, address: str, port: int = 22) -> tuple[bool, bool]:
        """(ping answered, TCP connected) from the node to the address."""
        ping = self.ssh(node, f"ping -c 2 -W 1 {address}").ok
        tcp = self.ssh(node, f"timeout 3 bash -c '</dev/tcp/{address}/{port}'").ok
        return ping, tcp


def small_lab(name: str, nodes: list[dict[str, Any]]) -> SmallLab:
    spec = Spec.model_validate({"name": name, "topology": {"nodes": nodes}})
    plan = make_plan(spec, load_catalog())
    directory = ensure_private_dir(lab_dir(name))
    private, public = ensure_lab_key(directory, name, RUNNER)
    context = LabContext(name, directory, StateDB(), private, public, lambda message: None)
    provider = LocalProvider()
    provider.destroy(name, lambda message: None)  # what a killed earlier run left
    provider.check(plan)
    provider.create_networks(plan, context)
    access = {a.name: a for a in provider.create_nodes(plan, context)}
    return SmallLab(plan, context, provider, access)


def uplink_address(node: PlannedNode) -> str:
    nic = node.nic(NetworkName.UPLINK)
    assert nic is not None
    return str(nic.address)


def other_labs_on_host() -> bool:
    own = {"fenca", "fencb"}
    for link in host_links(RUNNER).values():
        parts = (link.alias or "").split(":")
        if parts[0] == ALIAS_PREFIX and len(parts) > 1 and parts[1] not in own:
            return True
    return False


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SmallLab, SmallLab]]:
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("fence-state"))
    made: list[SmallLab] = []
    try:
        made.append(small_lab("fenca", TWO_NODES))
        made.append(small_lab("fencb", ONE_NODE))
        yield made[0], made[1]
    finally:
        for name in ("fenca", "fencb"):
            LocalProvider().destroy(name, lambda message: None)
        for lab in made:
            lab.context.db.close()
        if saved is None:
            del os.environ["XDG_STATE_HOME"]
        else:
            os.environ["XDG_STATE_HOME"] = saved


def test_a_node_reaches_no_node_of_another_lab(labs: tuple[SmallLab, SmallLab]) -> None:
    fenca, fencb = labs
    b_node = fencb.plan.node("n1")
    for node in ("n1", "n2"):
        assert fenca.reaches(node, str(b_node.management_address)) == (False, False)
    a_node = fenca.plan.node("n1")
    for address in (a_node.management_address, uplink_address(a_node)):
        assert fencb.reaches("n1", str(address)) == (False, False)


def test_both_labs_reach_their_own_nodes_and_the_way_out(labs: tuple[SmallLab, SmallLab]) -> None:
    fenca, fencb = labs
    n1 = fenca.plan.node("n1")
    assert fenca.reaches("n2", str(n1.management_address)) == (True, True)
    # Routed by the host from fenca's management bridge to its uplink bridge.
    assert fenca.reaches("n2", str(uplink_address(n1))) == (True, True)
    mirror = urlparse(debian_mirror(None))
    port = mirror.port or (443 if mirror.scheme == "https" else 80)
    for lab, node in ((fenca, "n2"), (fenca, "n1"), (fencb, "n1")):
        out = lab.ssh(node, f"timeout 10 bash -c '</dev/tcp/{mirror.hostname}/{port}'")
        assert out.ok, f"{lab.plan.lab}/{node} cannot reach the mirror: {out.output}"


def test_a_host_whose_forwarding_drops_is_found_and_the_fix_suffices() -> None:
    """Docker's iptables-nft table, made in a network namespace of the test's own."""
    bridges = [
        bridge_name("fenca", network) for network in (NetworkName.MANAGEMENT, NetworkName.UPLINK)
    ]
    RUNNER.run(["ip", "netns", "add", FORWARDING_NS])
    try:

        def nft(*args: str, script: str | None = None) -> Completed:
            return RUNNER.run(
                ["ip", "netns", "exec", FORWARDING_NS, "nft", *args], input_text=script
            )

        nft(
            "-f",
            "-",
            script="table ip filter {\n"
            "  chain FORWARD { type filter hook forward priority filter; policy drop; }\n"
            "  chain DOCKER-USER { }\n"
            "}\n",
        )
        [found] = dropping_chains(nft("-j", "list", "ruleset").stdout, bridges)
        assert (found.table, found.chain, found.has_docker_user) == ("filter", "FORWARD", True)
        assert "iptables -I DOCKER-USER -i sl-+ -j ACCEPT" in found.fix()
        # What those iptables commands leave in the table, made with nft here.
        for direction in ("iifname", "oifname"):
            nft("insert", "rule", "ip", "filter", "DOCKER-USER", direction, "sl-*", "accept")
        assert dropping_chains(nft("-j", "list", "ruleset").stdout, bridges) == []
    finally:
        RUNNER.run(["ip", "netns", "del", FORWARDING_NS], check=False)


def test_a_lab_of_the_same_name_from_another_state_dir_is_refused_not_a_traceback(
    labs: tuple[SmallLab, SmallLab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported FileNotFoundError on the node's host key: fenca's n1 runs from the
    fixture's state dir, so a second fenca made from another one skipped booting n1 and
    read a host key under a root it never made."""
    fenca, _ = labs
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "other-state"))
    twin = fenca.plan
    directory = ensure_private_dir(lab_dir(twin.lab))
    private, public = ensure_lab_key(directory, twin.lab, RUNNER)
    with StateDB() as db:
        context = LabContext(twin.lab, directory, db, private, public, lambda message: None)
        for attempt in (
            lambda: LocalProvider().check(twin),
            lambda: LocalProvider().create_nodes(twin, context),
        ):
            with pytest.raises(HostError) as refused:
                attempt()
            shown = refused.value.render()
            assert "Node n1 of lab fenca already runs on this host" in shown
            assert str(fenca.context.directory) in shown and "XDG_STATE_HOME" in shown
    assert fenca.ssh("n1", "true").ok  # and the running lab was left alone


@pytest.mark.lab_teardown
def test_forwarding_is_as_it_was_once_both_labs_are_gone(labs: tuple[SmallLab, SmallLab]) -> None:
    record = HOST_RUNTIME / BEFORE_FILE
    before = record.read_text().strip() if record.exists() else IP_FORWARD.read_text().strip()
    for lab in labs:
        lab.provider.destroy(lab.plan.lab, lambda message: None)
    assert not {"stacklab_fenca", "stacklab_fencb"} & set(nft_tables(RUNNER))  # fence gone too
    now = IP_FORWARD.read_text().strip()
    if other_labs_on_host():  # another lab still needs it: left on, and still recorded
        assert now == "1"
    else:
        assert now == before and not record.exists()
