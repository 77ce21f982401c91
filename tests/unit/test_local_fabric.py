"""The emulated cloud fabric (`provider: {kind: local, fabric: aws}`, issue 13 item 4): what the
plan says about it, and the nftables rules the local provider loads for it, as text."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from stacklab import api
from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, Role, Spec
from stacklab.errors import SpecError
from stacklab.plan.models import Plan
from stacklab.plan.planner import EMULATED_PUBLIC_RANGE, plan
from stacklab.providers.local.fabric import (
    fabric_ports,
    public_edge,
    render_fabric_table,
)
from stacklab.providers.local.naming import bridge_name, veth_name
from stacklab.providers.local.network import render_lab_table
from stacklab.verify.reach import floating_ips_answer_here

ADMIN = "192.0.2.7/32"


def _plan(provider: dict[str, Any], **extra: Any) -> Plan:
    data = {
        "name": "vpc",
        "provider": provider,
        "topology": {"preset": "multinode"},
        "access": {"admin_cidr": ADMIN},
        **extra,
    }
    return plan(Spec.model_validate(data), load_catalog(with_host=False))


@pytest.fixture(scope="module")
def fabric_plan() -> Plan:
    return _plan({"kind": "local", "fabric": "aws"})


def _lab_table(lab_plan: Plan) -> str:
    return render_lab_table(
        lab_plan.lab,
        [network.cidr for network in lab_plan.networks],
        [bridge_name(lab_plan.lab, network.name) for network in lab_plan.networks],
        "eth0",
        public_edge(lab_plan),
        lab_plan.networks_routed,
    )


# The plan


def test_the_emulated_fabric_plans_the_network_node_as_router_with_ports_opened(
    fabric_plan: Plan,
) -> None:
    network_node = fabric_plan.nodes_with(Role.NETWORK)[0]
    assert fabric_plan.fabric == "aws"
    assert fabric_plan.router is not None
    assert fabric_plan.router.node == network_node.name == fabric_plan.access_node
    assert fabric_plan.router.gateway == network_node.management_address
    assert {(p.port, str(p.source)) for p in fabric_plan.open_ports} == {(22, ADMIN), (443, ADMIN)}
    assert fabric_plan.public_address in EMULATED_PUBLIC_RANGE


def test_only_the_router_nodes_interfaces_carry_addresses_not_their_own(
    fabric_plan: Plan,
) -> None:
    for node in fabric_plan.nodes:
        checks = {nic.source_dest_check for nic in node.nics}
        assert checks == ({False} if node.has_role(Role.NETWORK) else {True}), node.name


def test_aws_and_the_emulated_fabric_plan_the_same_way_in_and_out(fabric_plan: Plan) -> None:
    cloud = _plan({"kind": "aws"})
    assert cloud.fabric == fabric_plan.fabric == "aws"
    assert cloud.router is not None and fabric_plan.router is not None
    assert cloud.router.node == fabric_plan.router.node
    assert cloud.open_ports == fabric_plan.open_ports
    assert [n.source_dest_check for node in cloud.nodes for n in node.nics] == [
        n.source_dest_check for node in fabric_plan.nodes for n in node.nics
    ]
    assert cloud.public_address is None  # AWS allocates an Elastic IP in `up`


def test_plain_local_labs_keep_no_router_no_public_address_and_no_checks() -> None:
    local = _plan({"kind": "local"})
    assert (local.fabric, local.router, local.public_address, local.open_ports) == (
        None,
        None,
        None,
        (),
    )
    assert all(nic.source_dest_check for node in local.nodes for nic in node.nics)


def test_the_external_network_is_the_router_nodes_and_no_bridge_of_this_host(
    fabric_plan: Plan,
) -> None:
    external = fabric_plan.network(NetworkName.PROVIDER)
    assert fabric_plan.router is not None
    assert external.on_node == fabric_plan.router.node
    assert external not in fabric_plan.provisioned_networks
    assert not any(node.nic(NetworkName.PROVIDER) for node in fabric_plan.nodes)
    assert not floating_ips_answer_here(fabric_plan)
    plain = _plan({"kind": "local"})
    assert plain.network(NetworkName.PROVIDER).on_node is None
    assert floating_ips_answer_here(plain)


def test_the_gcp_fabric_takes_gcps_mtu_and_the_aws_one_the_hosts() -> None:
    """GCP's 1460 fits a local bridge, so the rehearsal runs at it; AWS's 9001 does not (a
    local bridge carries 9000 at most), so the AWS rehearsal keeps this host's 1500."""
    gcp = _plan({"kind": "local", "fabric": "gcp"})
    assert {network.mtu for network in gcp.networks} == {1460}
    assert gcp.tenant_mtu == 1460 - gcp.tunnel.overhead
    cloud = _plan({"kind": "gcp", "project": "p"})
    assert gcp.tenant_mtu == cloud.tenant_mtu
    assert gcp.router is not None and cloud.router is not None
    assert gcp.router.node == cloud.router.node and gcp.open_ports == cloud.open_ports
    assert gcp.network(NetworkName.PROVIDER).on_node == gcp.router.node
    aws = _plan({"kind": "local", "fabric": "aws"})
    assert {network.mtu for network in aws.networks} == {1500}


def test_the_fabric_survives_the_saved_plan(fabric_plan: Plan) -> None:
    assert Plan.from_dict(fabric_plan.to_dict()) == fabric_plan
    gcp = _plan({"kind": "local", "fabric": "gcp"})
    assert Plan.from_dict(gcp.to_dict()) == gcp


def test_gcp_routes_between_none_of_the_lab_networks_aws_between_all(fabric_plan: Plan) -> None:
    """A VPC network per NIC on GCP (not peered), subnets of one VPC on AWS."""
    assert not _plan({"kind": "local", "fabric": "gcp"}).networks_routed
    assert not _plan({"kind": "gcp", "project": "p"}).networks_routed
    assert fabric_plan.networks_routed and _plan({"kind": "aws"}).networks_routed
    assert _plan({"kind": "local"}).networks_routed


# Spec validation


def _spec_problems(tmp_path: Path, body: str) -> str:
    path = tmp_path / "stacklab.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    with pytest.raises(SpecError) as error:
        api.plan_file(path)
    return "\n".join(problem.render() for problem in error.value.problems)


def test_an_unknown_fabric_is_refused_with_the_ones_there_are(tmp_path: Path) -> None:
    message = _spec_problems(
        tmp_path,
        """
        name: vpc
        provider: {kind: local, fabric: awz}
        """,
    )
    assert "provider.fabric" in message
    assert "'awz'" in message
    assert "did you mean aws?" in message


def test_an_mtu_the_fabric_cannot_carry_is_refused(tmp_path: Path) -> None:
    message = _spec_problems(
        tmp_path,
        """
        name: vpc
        provider: {kind: local, fabric: aws}
        access: {admin_cidr: 192.0.2.7/32}
        networks:
          overlay: {mtu: 1400}
        """,
    )
    assert "networks.overlay.mtu" in message
    assert "the emulated aws fabric carries MTUs from 1500 to 9000" in message
    assert "or remove it for 1500" in message


def test_an_mtu_beyond_gcp_is_refused_with_gcps_default_as_the_fix(tmp_path: Path) -> None:
    message = _spec_problems(
        tmp_path,
        """
        name: vpc
        provider: {kind: local, fabric: gcp}
        access: {admin_cidr: 192.0.2.7/32}
        networks:
          overlay: {mtu: 9000}
        """,
    )
    assert "networks.overlay.mtu" in message and "9000" in message
    assert "the emulated gcp fabric carries MTUs from 1300 to 8896" in message
    assert "or remove it for 1460" in message


# The fabric's bridge table


def test_a_checked_interface_sends_and_receives_only_its_own_addresses(
    fabric_plan: Plan,
) -> None:
    compute = fabric_plan.nodes_with(Role.COMPUTE)[0]
    veth = veth_name("vpc", compute.name, NetworkName.OVERLAY)
    own = compute.nic(NetworkName.OVERLAY)
    assert own is not None
    table = render_fabric_table("vpc", fabric_ports(fabric_plan))
    assert table.startswith("table bridge stacklab_vpc {")
    assert f'iifname "{veth}" ip saddr != {{ {own.address} }} drop' in table
    assert f'oifname "{veth}" ip daddr != {{ {own.address} }} drop' in table
    assert f'iifname "{veth}" arp saddr ip != {{ {own.address} }} drop' in table


def test_the_controller_owns_the_vip_as_a_secondary_address(fabric_plan: Plan) -> None:
    controller = fabric_plan.node(fabric_plan.controller)
    vip = fabric_plan.network(NetworkName.MANAGEMENT).vip
    veth = veth_name("vpc", controller.name, NetworkName.MANAGEMENT)
    table = render_fabric_table("vpc", fabric_ports(fabric_plan))
    assert f'oifname "{veth}" ip daddr != {{ {vip}, {controller.management_address} }}' in table


def test_the_router_carries_foreign_addresses_but_never_answers_arp_for_them(
    fabric_plan: Plan,
) -> None:
    router = fabric_plan.nodes_with(Role.NETWORK)[0]
    table = render_fabric_table("vpc", fabric_ports(fabric_plan))
    for nic in router.nics:
        veth = veth_name("vpc", router.name, nic.network)
        lines = [line.strip() for line in table.splitlines() if f'"{veth}"' in line]
        assert lines == [f'iifname "{veth}" arp saddr ip != {{ {nic.address} }} drop']


# The internet gateway in the lab's ip table


def test_the_public_address_opens_only_the_planned_ports_from_admin_cidr(
    fabric_plan: Plan,
) -> None:
    table = _lab_table(fabric_plan)
    access = fabric_plan.node(fabric_plan.access_node).nic(NetworkName.UPLINK)
    assert access is not None
    public = fabric_plan.public_address
    dnat = [line.strip() for line in table.splitlines() if "dnat to" in line]
    # The same two rules in prerouting (from outside) and output (this host, the user's).
    assert sorted(set(dnat)) == [
        f"ip daddr {public} ip saddr {ADMIN} tcp dport {port} dnat to {access.address}"
        for port in (22, 443)
    ]
    assert len(dnat) == 4
    assert f"ip daddr {public} reject" in table


def test_only_the_access_node_goes_out_through_the_internet_gateway(fabric_plan: Plan) -> None:
    table = _lab_table(fabric_plan)
    access = fabric_plan.node(fabric_plan.access_node).nic(NetworkName.UPLINK)
    assert access is not None
    masquerades = [line.strip() for line in table.splitlines() if "masquerade" in line]
    assert masquerades == [f'ip saddr {access.address} oifname "eth0" masquerade']
    own = '{ "sl-vpc-m", "sl-vpc-o", "sl-vpc-p", "sl-vpc-u" }'
    assert f'iifname {own} oifname "eth0" ip saddr != {access.address} drop' in table
    assert f'iifname "eth0" oifname {own} ct state new drop' in table


def test_the_gcp_fabric_forwards_between_none_of_the_lab_bridges(fabric_plan: Plan) -> None:
    gcp = _plan({"kind": "local", "fabric": "gcp"})
    bridges = sorted(bridge_name(gcp.lab, network.name) for network in gcp.networks)
    table = _lab_table(gcp)
    for bridge in bridges:
        others = ", ".join(f'"{other}"' for other in bridges if other != bridge)
        assert f'iifname "{bridge}" oifname {{ {others} }} drop' in table
    forward = table[table.index("chain forward") :]
    # Before anything in the chain that accepts (what the public address lets in).
    assert forward.index('oifname { "sl-vpc-o"') < forward.index("dnat accept")
    aws = _lab_table(fabric_plan)
    assert not [line for line in aws.splitlines() if 'iifname "sl-vpc-m" oifname {' in line]


def test_a_plain_lab_table_is_unchanged_by_the_fabric() -> None:
    local = _plan({"kind": "local"})
    table = _lab_table(local)
    assert "dnat" not in table and "reject" not in table
    cidrs = ", ".join(str(network.cidr) for network in sorted(local.networks, key=_cidr))
    assert f'ip saddr {{ {cidrs} }} oifname "eth0" masquerade' in table


def _cidr(network: Any) -> IPv4Network:
    cidr: IPv4Network = network.cidr
    return cidr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="nft -c needs root and nft"
)
def test_nft_accepts_both_tables(fabric_plan: Plan) -> None:
    """`nft -c` parses and checks against the kernel without loading anything."""
    tables = (
        render_fabric_table("vpc", fabric_ports(fabric_plan)),
        _lab_table(fabric_plan),
        _lab_table(_plan({"kind": "local", "fabric": "gcp"})),
    )
    for text in tables:
        renamed = text.replace("stacklab_vpc", "stacklab_fabric_check", 1)
        result = subprocess.run(
            ["nft", "-c", "-f", "-"], input=renamed, text=True, capture_output=True, check=False
        )
        assert result.returncode == 0, result.stderr
