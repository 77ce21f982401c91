"""The Plan as it lands on GCP: a VPC network and one subnetwork per lab network, firewall
rules, the route out through the router node, and each node's instance with its NICs.

Pure: no API calls, so it is tested with plain data.

- GCP puts every NIC of an instance in a different VPC network, so each lab network is a VPC
  network of its own (custom mode, the plan's MTU), with one subnetwork at the plan's CIDR.
- The access node (the network node) has its uplink NIC first (nic0: GCP's default route and
  the only external address of the lab); every other node reaches the outside through it: a
  route in the management network sends 0.0.0.0/0 to its management address, for the
  instances tagged as behind the router; the router node forwards (canIpForward).
- Firewall rules: the plan's open ports from access.admin_cidr to the access node only (by
  its network tag), and everything between the lab's subnets on every lab network.
- The management VIP is an alias IP range of the controller's management NIC: the VPC
  delivers only to addresses that some NIC holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from stacklab.catalog.models import ProviderCatalog, Virtualization
from stacklab.config.models import NetworkName, Role
from stacklab.plan.models import HypervisorKind, Plan, PlannedNode
from stacklab.providers.gcp.labels import resource_name
from stacklab.providers.gcp.records import FirewallRule, Route

ANYWHERE = IPv4Network("0.0.0.0/0")
SUBNET_PREFIX_RANGE = (8, 29)  # GCP takes IPv4 subnetwork ranges from /8 to /29
EGRESS_ROUTE_PRIORITY = 900  # before the network's own default route (priority 1000)
DEFAULT_USER = "root"


@dataclass(frozen=True)
class NetworkLayout:
    network: NetworkName
    name: str  # the VPC network's and its subnetwork's name
    cidr: IPv4Network
    mtu: int


@dataclass(frozen=True)
class NicLayout:
    network: NetworkName
    address: IPv4Address
    alias_addresses: tuple[IPv4Address, ...]
    external: bool  # carries the lab's one external address


@dataclass(frozen=True)
class NodeLayout:
    name: str
    instance: str  # the instance's name
    fqdn: str
    machine_type: str
    nested_virtualization: bool
    can_ip_forward: bool
    is_access: bool
    nics: tuple[NicLayout, ...]  # nic0 first
    network_tags: tuple[str, ...]

    @property
    def management_address(self) -> IPv4Address:
        return next(nic.address for nic in self.nics if nic.network is NetworkName.MANAGEMENT)


@dataclass(frozen=True)
class LabLayout:
    lab: str
    networks: tuple[NetworkLayout, ...]
    firewall_rules: tuple[FirewallRule, ...]
    routes: tuple[Route, ...]
    nodes: tuple[NodeLayout, ...]

    @property
    def access_node(self) -> NodeLayout:
        return next(node for node in self.nodes if node.is_access)

    def network(self, name: NetworkName) -> NetworkLayout:
        return next(network for network in self.networks if network.network is name)


def access_tag(lab: str) -> str:
    return resource_name(lab, "access")


def behind_router_tag(lab: str) -> str:
    return resource_name(lab, "behind-router")


def lab_layout(plan: Plan, catalog: ProviderCatalog) -> LabLayout:
    networks = tuple(
        NetworkLayout(
            network.name, resource_name(plan.lab, network.name.value), network.cidr, network.mtu
        )
        for network in plan.provisioned_networks
    )
    nodes = tuple(_node_layout(plan, node, catalog) for node in plan.nodes)
    return LabLayout(
        plan.lab, networks, _firewall_rules(plan, networks, nodes), _routes(plan), nodes
    )


def _firewall_rules(
    plan: Plan, networks: tuple[NetworkLayout, ...], nodes: tuple[NodeLayout, ...]
) -> tuple[FirewallRule, ...]:
    access = next(node for node in nodes if node.is_access)
    outside = access.nics[0].network  # where the external address is
    lab_ranges = tuple(str(network.cidr) for network in networks)
    opened = tuple(
        FirewallRule(
            name=resource_name(plan.lab, f"{port.protocol}{port.port}"),
            network=resource_name(plan.lab, outside.value),
            protocol=port.protocol,
            ports=(str(port.port),),
            sources=(str(port.source),),
            target_tags=(access_tag(plan.lab),),
            description=f"{port.purpose}, from access.admin_cidr",
        )
        for port in plan.open_ports
        if port.source is not None  # unset: layout_problems refuses the plan
    )
    inside = tuple(
        FirewallRule(
            name=resource_name(plan.lab, network.network.value, "lab"),
            network=network.name,
            protocol="all",
            ports=(),
            sources=lab_ranges,
            target_tags=(),
            description="everything between the lab's subnets",
        )
        for network in networks
    )
    return (*opened, *inside)


def _routes(plan: Plan) -> tuple[Route, ...]:
    if plan.router is None:
        return ()
    return (
        Route(
            name=resource_name(plan.lab, "egress"),
            network=resource_name(plan.lab, NetworkName.MANAGEMENT.value),
            destination=str(ANYWHERE),
            next_hop_ip=str(plan.router.gateway),
            priority=EGRESS_ROUTE_PRIORITY,
            tags=(behind_router_tag(plan.lab),),
            description=f"the way out for nodes without an external address, through "
            f"{plan.router.node}",
        ),
    )


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
            address=nic.address,
            alias_addresses=(
                (vip,)
                if vip and nic.network is NetworkName.MANAGEMENT and node.name == plan.controller
                else ()
            ),
            external=is_access and index == 0,
        )
        for index, nic in enumerate(ordered)
    )
    return NodeLayout(
        name=node.name,
        instance=resource_name(plan.lab, node.name),
        fqdn=node.fqdn,
        machine_type=node.machine_type,
        nested_virtualization=_wants_nested(node, catalog),
        can_ip_forward=is_access or node.has_role(Role.NETWORK),
        is_access=is_access,
        nics=nics,
        network_tags=(access_tag(plan.lab) if is_access else behind_router_tag(plan.lab),),
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


def startup_script(node: NodeLayout, authorized_keys: list[str]) -> str:
    """Run by GCP's guest agent at every boot, as root: the node's names, and root reachable
    with the lab's keys, as on every other provider (Debian's GCE images admit no root)."""
    keys = "\n".join(authorized_keys)
    return f"""#!/bin/sh
hostnamectl set-hostname {node.name}
grep -q ' {node.fqdn} ' /etc/hosts ||
  echo '{node.management_address} {node.fqdn} {node.name}' >> /etc/hosts
install -d -m 0700 /root/.ssh
cat > /root/.ssh/authorized_keys <<'KEYS'
{keys}
KEYS
chmod 0600 /root/.ssh/authorized_keys
echo 'PermitRootLogin prohibit-password' > /etc/ssh/sshd_config.d/00-stacklab.conf
systemctl reload ssh || true
"""
