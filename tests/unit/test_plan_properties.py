"""Properties of the address plan over random valid specs (hypothesis)."""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, OperatingSystem, Role, Spec
from stacklab.config.rules import NETWORKS_BY_ROLE
from stacklab.config.tunnels import tunnel_for
from stacklab.plan import addressing
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan

CATALOG = load_catalog(with_host=False)
NETWORKS = tuple(NetworkName)
# Blocks to draw explicit CIDRs from: each network gets a different /20, so explicit CIDRs
# never overlap each other. Half of them lie in the lab's own supernet, where the defaults
# come from, so the defaults must step around them.
OUTSIDE_BLOCKS = [
    block
    for supernet in ("172.16.0.0/16", "192.168.0.0/16")
    for block in list(IPv4Network(supernet).subnets(new_prefix=20))[:4]
]


def explicit_blocks(supernet: IPv4Network) -> list[IPv4Network]:
    return list(supernet.subnets(new_prefix=20))[:4] + OUTSIDE_BLOCKS


def nics_of(roles: list[Role]) -> int:
    joined: set[NetworkName] = set()
    for role in roles:
        joined |= NETWORKS_BY_ROLE[role]
    return len(joined)


@st.composite
def node_lists(draw: st.DrawFn) -> list[list[Role]]:
    """Roles per node: one controller, one network node, at least one compute, at most one
    storage node (one Ceph node)."""
    count = draw(st.integers(min_value=1, max_value=12))
    roles: list[set[Role]] = [set() for _ in range(count)]
    roles[draw(st.integers(0, count - 1))].add(Role.CONTROLLER)
    roles[draw(st.integers(0, count - 1))].add(Role.NETWORK)
    roles[draw(st.integers(0, count - 1))].add(Role.COMPUTE)
    if draw(st.booleans()):
        roles[draw(st.integers(0, count - 1))].add(Role.STORAGE)
    for node_roles in roles:
        node_roles |= draw(st.sets(st.just(Role.COMPUTE), max_size=1))
        if not node_roles:
            node_roles.add(Role.COMPUTE)
    return [[role for role in Role if role in node_roles] for node_roles in roles]


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    provider = draw(st.sampled_from(["local", "aws", "gcp"]))
    os = draw(st.sampled_from([OperatingSystem.DEBIAN_13]))  # debian-12 is refused
    planned_overhead = tunnel_for(os).overhead
    name = draw(st.from_regex(r"[a-z][a-z0-9-]{0,9}", fullmatch=True))
    supernet = addressing.lab_supernet(Spec(name=name, provider={"kind": provider}))
    catalog = CATALOG.of(provider)
    node_roles = draw(node_lists())
    nodes: list[dict[str, Any]] = []
    for index, roles in enumerate(node_roles):
        node: dict[str, Any] = {"name": f"n{index}", "roles": [r.value for r in roles]}
        fitting = sorted(
            name for name, m in catalog.machine_types.items() if m.max_nics >= nics_of(roles)
        )
        if provider != "local" or draw(st.booleans()):
            node["machine_type"] = draw(st.sampled_from(fitting))
        nodes.append(node)
    members = {
        name: sum(1 for roles in node_roles if name in nics_of_set(roles)) for name in NETWORKS
    }
    networks: dict[str, dict[str, Any]] = {}
    blocks = draw(st.permutations(explicit_blocks(supernet)))
    for index, name in enumerate(NETWORKS):
        settings_: dict[str, Any] = {}
        if draw(st.booleans()):
            needed = addressing.needed_addresses(members[name], 1)
            smallest = 32 - (needed - 1).bit_length()
            prefix = draw(st.integers(min_value=20, max_value=smallest))
            block = blocks[index]
            cidr = draw(st.sampled_from(list(block.subnets(new_prefix=prefix))[:8]))
            settings_["cidr"] = str(cidr)
            if name is NetworkName.PROVIDER and draw(st.booleans()):
                first = addressing.FIRST_NODE_INDEX + members[name]
                last = cidr.num_addresses - 1 - addressing.TAIL_RESERVED
                start = draw(st.integers(first, last))
                end = draw(st.integers(start, last))
                settings_["floating_range"] = {"start": str(cidr[start]), "end": str(cidr[end])}
        networks[name.value] = settings_
    facts = catalog.network
    if draw(st.booleans()):
        low = max(facts.mtu_min, 1280 + planned_overhead)
        networks["overlay"]["mtu"] = draw(st.integers(low, facts.mtu_max))
    return Spec.model_validate(
        {
            "name": name,
            "provider": provider,
            "os": os.value,
            "topology": {"nodes": nodes},
            "networks": networks,
            "hypervisor": draw(st.sampled_from(["auto", "qemu"])),
            # Cinder needs the storage node (config.rules).
            "services": {
                "cinder": any(Role.STORAGE in roles for roles in node_roles)
                and draw(st.booleans()),
                "octavia": draw(st.booleans()),
            },
        }
    )


def nics_of_set(roles: list[Role]) -> set[NetworkName]:
    joined: set[NetworkName] = set()
    for role in roles:
        joined |= NETWORKS_BY_ROLE[role]
    return joined


def check_addresses(planned: Plan) -> None:
    cidrs = [network.cidr for network in planned.networks]
    for index, cidr in enumerate(cidrs):
        for other in cidrs[index + 1 :]:
            assert not cidr.overlaps(other), f"{cidr} overlaps {other}"
    for network in planned.networks:
        cidr = network.cidr
        reserved = {cidr.network_address, cidr.broadcast_address}
        nics = [nic for node in planned.nodes for nic in node.nics if nic.network is network.name]
        addresses = [nic.address for nic in nics]
        for nic in nics:
            assert nic.address in cidr
            assert nic.prefix_length == cidr.prefixlen
            assert nic.mtu == network.mtu
        specials = [network.gateway] + ([network.vip] if network.vip else [])
        for address in [*addresses, *specials]:
            assert address in cidr and address not in reserved, f"{address} in {cidr}"
        everything = addresses + specials
        assert len(everything) == len(set(everything)), f"duplicate addresses in {cidr}"
        if network.floating_range is not None:
            start, end = network.floating_range.start, network.floating_range.end
            assert start <= end
            assert start in cidr and end in cidr
            assert end < cidr.broadcast_address
            for address in everything:
                assert not start <= address <= end, f"{address} is floating in {cidr}"
    assert planned.network(NetworkName.MANAGEMENT).vip is not None
    assert planned.network(NetworkName.PROVIDER).floating_range is not None
    assert planned.tenant_mtu == planned.network(NetworkName.OVERLAY).mtu - planned.tunnel.overhead
    assert planned.tenant_mtu >= 1280


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_addresses_never_collide_and_lie_in_their_subnets(spec: Spec) -> None:
    planned = plan(spec, CATALOG)
    check_addresses(planned)
    # Explicit CIDRs and floating ranges are kept as given.
    for network in planned.networks:
        given_spec = spec.networks.spec_of(network.name)
        if given_spec.cidr is not None:
            assert network.cidr == given_spec.cidr
    floating = spec.networks.provider.floating_range
    planned_floating = planned.network(NetworkName.PROVIDER).floating_range
    if floating is not None:
        assert planned_floating is not None
        assert (planned_floating.start, planned_floating.end) == (floating.start, floating.end)
    # Every node is on management, and on exactly the networks its roles need.
    for node, node_spec in zip(planned.nodes, spec.topology.nodes or [], strict=True):
        # On a cloud (a router node) the external network is that node's own, not a NIC's.
        wanted = nics_of_set(list(node_spec.roles))
        if planned.router is not None:
            wanted -= {NetworkName.PROVIDER}
        assert {nic.network for nic in node.nics} == wanted
        # Open vSwitch (and so a datapath) on the network and compute nodes of OVN only.
        switches = bool({Role.NETWORK, Role.COMPUTE} & set(node_spec.roles))
        assert (node.datapath is not None) == (switches and spec.os is OperatingSystem.DEBIAN_13)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_default_cidrs_fit_any_number_of_nodes(count: int) -> None:
    nodes = [{"name": "ctl", "roles": ["controller", "network"]}] + [
        {"name": f"c{index}", "roles": ["compute"]} for index in range(count)
    ]
    planned = plan(Spec.model_validate({"name": "big", "topology": {"nodes": nodes}}), CATALOG)
    check_addresses(planned)
    assert planned.network(NetworkName.MANAGEMENT).cidr.num_addresses >= count + 13


def test_explicit_blocks_are_disjoint_and_partly_in_the_supernet() -> None:
    supernet = IPv4Network("10.123.0.0/16")
    blocks = explicit_blocks(supernet)
    for index, block in enumerate(blocks):
        for other in blocks[index + 1 :]:
            assert not block.overlaps(other)
    assert sum(block.subnet_of(supernet) for block in blocks) == 4


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_a_saved_plan_reads_back_as_the_same_plan(spec: Spec) -> None:
    planned = plan(spec, CATALOG)
    saved = json.loads(json.dumps(planned.to_dict()))  # as the state database keeps it
    assert Plan.from_dict(saved) == planned
    assert Plan.from_dict(saved).to_dict() == saved
