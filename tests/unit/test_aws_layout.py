"""How a Plan lands on AWS (issue 6): ENIs, routes, VPC blocks, launch options. Pure."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest
import yaml

from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, Spec
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.aws.layout import (
    LabLayout,
    Routes,
    cloud_config,
    ingress_rules,
    lab_layout,
    layout_problems,
    vpc_blocks,
)
from stacklab.providers.aws.records import IngressRule

CATALOG = load_catalog(with_host=False)
AWS = CATALOG.of("aws")
ADMIN = IPv4Network("198.51.100.0/28")


def aws_plan(**fields: Any) -> Plan:
    spec = {
        "name": "lab",
        "provider": {"kind": "aws"},
        "topology": {"preset": "multinode"},
        "access": {"admin_cidr": str(ADMIN)},
    }
    spec.update(fields)
    return make_plan(Spec.model_validate(spec), CATALOG)


def layout_of(plan: Plan) -> LabLayout:
    return lab_layout(plan, AWS)


def test_every_planned_nic_becomes_one_eni_with_the_plans_address() -> None:
    plan = aws_plan()
    layout = layout_of(plan)
    for planned, node in zip(plan.nodes, layout.nodes, strict=True):
        assert {(n.network, n.address) for n in node.nics} == {
            (n.network, n.address) for n in planned.nics
        }
        assert [n.device_index for n in node.nics] == list(range(len(planned.nics)))


def test_the_access_node_comes_up_on_its_uplink_and_the_others_on_management() -> None:
    layout = layout_of(aws_plan())
    access = layout.access_node
    assert access.name == "network"
    assert access.nics[0].network is NetworkName.UPLINK
    # uplink, management, overlay: the external network is on the node itself, no ENI.
    assert [n.public for n in access.nics] == [True, False, False]
    for node in layout.nodes:
        if node is not access:
            assert node.nics[0].network is NetworkName.MANAGEMENT
            assert not any(n.public for n in node.nics)


def test_only_the_network_node_routes_so_only_its_enis_skip_the_source_dest_check() -> None:
    layout = layout_of(aws_plan())
    unchecked = {
        (node.name, nic.network)
        for node in layout.nodes
        for nic in node.nics
        if not nic.source_dest_check
    }
    assert unchecked == {
        ("network", name) for name in NetworkName if name is not NetworkName.PROVIDER
    }


def test_the_management_vip_is_a_secondary_address_of_the_controller() -> None:
    plan = aws_plan()
    layout = layout_of(plan)
    vip = plan.network(NetworkName.MANAGEMENT).vip
    holders = [
        (node.name, nic.network)
        for node in layout.nodes
        for nic in node.nics
        if nic.secondary_addresses
    ]
    assert holders == [("controller", NetworkName.MANAGEMENT)]
    assert layout.nodes[0].nic(NetworkName.MANAGEMENT).secondary_addresses == (vip,)


def test_nested_virtualization_is_asked_for_only_where_kvm_guests_run_on_a_nested_type() -> None:
    nested = {n.name: n.nested_virtualization for n in layout_of(aws_plan()).nodes}
    assert nested == {
        "controller": False,
        "network": False,
        "compute1": True,
        "compute2": True,
        "storage": False,
    }
    m5 = aws_plan(provider={"kind": "aws", "machine_types": {"compute": "m5.2xlarge"}})
    assert not any(n.nested_virtualization for n in layout_of(m5).nodes), "qemu: not asked"
    metal = aws_plan(provider={"kind": "aws", "machine_types": {"compute": "m5.metal"}})
    assert not any(n.nested_virtualization for n in layout_of(metal).nodes), "native kvm"
    qemu = aws_plan(hypervisor="qemu")
    assert not any(n.nested_virtualization for n in layout_of(qemu).nodes)


def test_uplink_routes_to_the_internet_and_management_through_the_access_node() -> None:
    routes = {s.network: s.routes for s in layout_of(aws_plan()).subnets}
    assert routes == {
        NetworkName.MANAGEMENT: Routes.VIA_ACCESS_NODE,
        NetworkName.OVERLAY: Routes.LOCAL,
        NetworkName.UPLINK: Routes.INTERNET,
    }


def test_the_external_network_gets_no_subnet_it_lives_on_the_network_node() -> None:
    """Seed 002's incomplete ARP: a Neutron router's MAC and floating IPs on a VPC subnet
    are unknown to the VPC. The external network is the network node's br-ex instead."""
    plan = aws_plan()
    layout = layout_of(plan)
    assert plan.network(NetworkName.PROVIDER).on_node == "network"
    assert NetworkName.PROVIDER not in {s.network for s in layout.subnets}
    assert not any(nic.network is NetworkName.PROVIDER for n in layout.nodes for nic in n.nics)
    assert plan.router is not None
    assert plan.network(NetworkName.PROVIDER).cidr in plan.router.masqueraded


@pytest.mark.parametrize(
    ("cidrs", "blocks"),
    [
        (["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], ["10.0.0.0/22"]),
        (["10.0.0.0/24", "10.0.8.0/24"], ["10.0.0.0/20"]),
        (["10.0.0.0/24", "172.16.0.0/24"], ["10.0.0.0/24", "172.16.0.0/24"]),
    ],
)
def test_one_vpc_block_covers_the_networks_when_aws_takes_one_that_big(
    cidrs: list[str], blocks: list[str]
) -> None:
    assert vpc_blocks([IPv4Network(c) for c in cidrs]) == tuple(IPv4Network(b) for b in blocks)


def test_ssh_and_https_are_open_only_to_the_admin_range_and_the_lab_talks_to_itself() -> None:
    plan = aws_plan()
    rules = ingress_rules(plan)
    assert rules == (
        IngressRule("tcp", str(ADMIN), 22, 22),
        IngressRule("tcp", str(ADMIN), 443, 443),
        *(IngressRule("-1", str(network.cidr)) for network in plan.provisioned_networks),
    )
    assert all(rule.cidr != "0.0.0.0/0" for rule in rules)
    assert {(p.port, p.node) for p in plan.open_ports} == {(22, "network"), (443, "network")}


def test_an_unset_admin_range_opens_nothing_from_outside() -> None:
    plan = aws_plan(access={})
    assert [port.source for port in plan.open_ports] == [None, None]
    assert {rule.cidr for rule in ingress_rules(plan)} == {
        str(n.cidr) for n in plan.provisioned_networks
    }


def test_a_missing_or_world_admin_range_is_refused_with_its_field() -> None:
    plan = aws_plan()
    assert [p.field for p in layout_problems(plan, None, False)] == ["access.admin_cidr"]
    world = IPv4Network("0.0.0.0/0")
    assert [p.field for p in layout_problems(plan, world, False)] == ["access.admin_cidr"]
    assert layout_problems(plan, world, True) == []
    assert layout_problems(plan, ADMIN, False) == []


def test_a_network_too_big_for_an_aws_subnet_is_refused() -> None:
    plan = aws_plan(networks={"overlay": {"cidr": "10.64.0.0/10"}})
    assert [p.field for p in layout_problems(plan, ADMIN, False)] == ["networks.overlay.cidr"]


def test_user_data_names_the_node_and_lets_root_in_with_every_lab_key() -> None:
    node = layout_of(aws_plan()).nodes[0]
    text = cloud_config(node, ["ssh-ed25519 AAAA lab", "ssh-rsa BBBB extra"])
    assert text.startswith("#cloud-config\n")
    config = yaml.safe_load(text)
    assert config == {
        "hostname": "controller",
        "fqdn": "controller.lab.internal",
        "disable_root": False,
        "ssh_authorized_keys": ["ssh-ed25519 AAAA lab", "ssh-rsa BBBB extra"],
    }


def test_the_aio_lab_is_one_node_that_is_its_own_access_node() -> None:
    layout = layout_of(aws_plan(topology={"preset": "aio"}))
    (node,) = layout.nodes
    assert node.is_access and node.nics[0].public
    assert node.management_address == IPv4Address("10.0.0.10")
