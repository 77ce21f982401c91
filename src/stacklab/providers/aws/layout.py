"""The Plan as it lands on AWS: VPC blocks, subnets and their routes, ENIs, launch options.

Pure: no AWS calls, so it is tested with plain data.

- The uplink subnet routes to the internet gateway; the access node (the network node) has
  its uplink ENI first, so its default route and its Elastic IP are there.
- The management subnet routes the way out through the access node's management ENI (the
  NAT-instance pattern): other nodes have no public address, and the network node
  masquerades out of its uplink anyway for floating IPs (seed 002). Its ENIs therefore have
  the source/destination check off.
- The management VIP is a secondary address of the controller's management ENI: the VPC
  delivers only to addresses that some ENI holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network

import yaml

from stacklab.catalog.models import ProviderCatalog, Virtualization
from stacklab.config.models import NetworkName
from stacklab.errors import Problem
from stacklab.plan.models import HypervisorKind, Plan, PlannedNode
from stacklab.providers.aws.records import IngressRule

ANYWHERE = IPv4Network("0.0.0.0/0")
VPC_PREFIX_RANGE = (16, 28)  # AWS accepts VPC and subnet blocks from /16 to /28
MAX_VPC_BLOCKS = 5  # the default quota of IPv4 blocks per VPC
DEFAULT_USER = "root"


class Routes(StrEnum):
    INTERNET = "internet-routes"  # 0.0.0.0/0 -> the internet gateway
    VIA_ACCESS_NODE = "egress-routes"  # 0.0.0.0/0 -> the access node's ENI, which NATs
    LOCAL = "local"  # the VPC's main table: only the VPC itself


@dataclass(frozen=True)
class SubnetLayout:
    network: NetworkName
    cidr: IPv4Network
    routes: Routes


@dataclass(frozen=True)
class NicLayout:
    network: NetworkName
    device_index: int
    address: IPv4Address
    secondary_addresses: tuple[IPv4Address, ...]
    source_dest_check: bool
    public: bool  # carries the lab's Elastic IP


@dataclass(frozen=True)
class NodeLayout:
    name: str
    fqdn: str
    machine_type: str
    nested_virtualization: bool
    is_access: bool
    nics: tuple[NicLayout, ...]  # by device index

    def nic(self, network: NetworkName) -> NicLayout:
        return next(nic for nic in self.nics if nic.network is network)

    @property
    def management_address(self) -> IPv4Address:
        return self.nic(NetworkName.MANAGEMENT).address


@dataclass(frozen=True)
class LabLayout:
    lab: str
    vpc_blocks: tuple[IPv4Network, ...]
    subnets: tuple[SubnetLayout, ...]
    nodes: tuple[NodeLayout, ...]
    ingress: tuple[IngressRule, ...]

    @property
    def access_node(self) -> NodeLayout:
        return next(node for node in self.nodes if node.is_access)

    def subnet_with(self, routes: Routes) -> SubnetLayout | None:
        return next((subnet for subnet in self.subnets if subnet.routes is routes), None)


def vpc_blocks(cidrs: list[IPv4Network]) -> tuple[IPv4Network, ...]:
    """One block covering every lab network if AWS takes one that big, else one per network."""
    covering = cidrs[0]
    while not all(cidr.subnet_of(covering) for cidr in cidrs):
        covering = covering.supernet()
    if covering.prefixlen >= VPC_PREFIX_RANGE[0]:
        return (covering,)
    return tuple(cidrs)


def layout_problems(plan: Plan, admin_cidr: IPv4Network | None, allow_world: bool) -> list[Problem]:
    """Why this plan cannot become an AWS lab; empty if it can."""
    problems = []
    if admin_cidr is None:
        problems.append(
            Problem(
                field="access.admin_cidr",
                value=None,
                why="the AWS provider opens SSH only to this range, and it is not set",
                fix="set it to your public address, for example 203.0.113.7/32 "
                "(`curl https://checkip.amazonaws.com` shows it)",
            )
        )
    elif admin_cidr.prefixlen == 0 and not allow_world:
        problems.append(
            Problem(
                field="access.admin_cidr",
                value=str(admin_cidr),
                why="it opens SSH to the whole internet",
                fix="use your own address, or set provider.allow_ssh_from_world: true "
                "if you really mean it",
            )
        )
    low, high = VPC_PREFIX_RANGE
    for network in plan.provisioned_networks:
        if not low <= network.cidr.prefixlen <= high:
            problems.append(
                Problem(
                    field=f"networks.{network.name}.cidr",
                    value=str(network.cidr),
                    why="AWS subnets are /16 to /28",
                    fix=f"use a block from /{low} to /{high}",
                )
            )
    if not problems:
        blocks = vpc_blocks([network.cidr for network in plan.provisioned_networks])
        if len(blocks) > MAX_VPC_BLOCKS:
            problems.append(
                Problem(
                    field="networks",
                    value=[str(block) for block in blocks],
                    why=f"they need {len(blocks)} VPC blocks; AWS allows {MAX_VPC_BLOCKS}",
                    fix="choose the networks' cidr inside one /16",
                )
            )
    return problems


def ingress_rules(plan: Plan) -> tuple[IngressRule, ...]:
    """The plan's open ports (from access.admin_cidr), and everything between the lab's
    subnets."""
    opened = tuple(
        IngressRule(port.protocol, str(port.source), port.port, port.port, port.purpose)
        for port in plan.open_ports
        if port.source is not None  # unset: layout_problems refuses the plan
    )
    inside = tuple(
        IngressRule("-1", str(network.cidr), description="within the lab")
        for network in plan.provisioned_networks
    )
    return (*opened, *inside)


def lab_layout(plan: Plan, catalog: ProviderCatalog) -> LabLayout:
    subnets = tuple(
        SubnetLayout(network.name, network.cidr, _routes_of(network.name))
        for network in plan.provisioned_networks
    )
    nodes = tuple(_node_layout(plan, node, catalog) for node in plan.nodes)
    cidrs = [network.cidr for network in plan.provisioned_networks]
    return LabLayout(plan.lab, vpc_blocks(cidrs), subnets, nodes, ingress_rules(plan))


def _routes_of(network: NetworkName) -> Routes:
    if network is NetworkName.UPLINK:
        return Routes.INTERNET
    if network is NetworkName.MANAGEMENT:
        return Routes.VIA_ACCESS_NODE
    return Routes.LOCAL


def _node_layout(plan: Plan, node: PlannedNode, catalog: ProviderCatalog) -> NodeLayout:
    is_access = node.name == plan.access_node
    first = (
        NetworkName.UPLINK
        if is_access and node.nic(NetworkName.UPLINK)
        else (NetworkName.MANAGEMENT)
    )
    ordered = sorted(node.nics, key=lambda nic: nic.network is not first)
    vip = plan.network(NetworkName.MANAGEMENT).vip
    nics = tuple(
        NicLayout(
            network=nic.network,
            device_index=index,
            address=nic.address,
            secondary_addresses=(
                (vip,)
                if vip and nic.network is NetworkName.MANAGEMENT and node.name == plan.controller
                else ()
            ),
            source_dest_check=nic.source_dest_check,
            public=is_access and index == 0,
        )
        for index, nic in enumerate(ordered)
    )
    return NodeLayout(
        name=node.name,
        fqdn=node.fqdn,
        machine_type=node.machine_type,
        nested_virtualization=_wants_nested(node, catalog),
        is_access=is_access,
        nics=nics,
    )


def _wants_nested(node: PlannedNode, catalog: ProviderCatalog) -> bool:
    """Asked for only where the plan runs KVM guests on a type that offers it when asked."""
    machine = catalog.machine_type(node.machine_type)
    return (
        machine is not None
        and machine.virtualization is Virtualization.NESTED
        and node.hypervisor is not None
        and node.hypervisor.kind is HypervisorKind.KVM
    )


def cloud_config(node: NodeLayout, authorized_keys: list[str]) -> str:
    """User data: the node's names, and root reachable with the lab's keys, as on every
    other provider (Debian's images otherwise admit only the `admin` user)."""
    config = {
        "hostname": node.name,
        "fqdn": node.fqdn,
        "disable_root": False,
        "ssh_authorized_keys": authorized_keys,
    }
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False)
