"""The Plan: a frozen value that says everything `up` will make, before it makes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from stacklab.config.models import NetworkName, OperatingSystem, Role
from stacklab.config.tunnels import Tunnel, tunnel_for

PLAN_FORMAT = "stacklab.plan/v1"

USERSPACE_DATAPATH_COST = (
    "ovs-vswitchd switches every packet itself, polling in its main thread: one full core "
    "under bulk traffic, about 1-2 Gbit/s; TCP needs other_config:userspace-tso-enable=true "
    "(without it TCP segments leave with bad checksums)"
)
KERNEL_DATAPATH_COST = "the kernel switches the packets: no core spent polling"


class HypervisorKind(StrEnum):
    KVM = "kvm"
    QEMU = "qemu"


@dataclass(frozen=True)
class HypervisorChoice:
    kind: HypervisorKind
    reason: str


class DatapathKind(StrEnum):
    """Where Open vSwitch switches the packets of a network or compute node."""

    KERNEL = "kernel"  # the openvswitch kernel module (OVS datapath_type=system)
    USERSPACE = "userspace"  # ovs-vswitchd itself (OVS datapath_type=netdev)

    @property
    def ovs_datapath_type(self) -> str:
        return "system" if self is DatapathKind.KERNEL else "netdev"


@dataclass(frozen=True)
class DatapathChoice:
    kind: DatapathKind
    reason: str
    cost: str

    @classmethod
    def of(cls, kind: DatapathKind, reason: str) -> DatapathChoice:
        cost = KERNEL_DATAPATH_COST if kind is DatapathKind.KERNEL else USERSPACE_DATAPATH_COST
        return cls(kind, reason, cost)


@dataclass(frozen=True)
class FloatingRange:
    start: IPv4Address
    end: IPv4Address

    @property
    def size(self) -> int:
        return int(self.end) - int(self.start) + 1


@dataclass(frozen=True)
class PlannedNetwork:
    name: NetworkName
    purpose: str
    cidr: IPv4Network
    gateway: IPv4Address
    mtu: int
    vip: IPv4Address | None = None
    floating_range: FloatingRange | None = None
    # The node that holds this network itself, its gateway address on the node's br-ex with
    # no NIC of any node on it (the external network on a cloud, as DevStack's br-ex: no
    # router MAC or floating IP the cloud does not know ever reaches its network); None:
    # the provider (or host) makes the network and nodes join it with NICs.
    on_node: str | None = None


@dataclass(frozen=True)
class PlannedNic:
    network: NetworkName
    address: IPv4Address
    prefix_length: int
    mtu: int
    interface: str | None = None  # known up front only for the ssh provider
    # A cloud fabric's source/destination check: False where the node routes or NATs for
    # others (the router and network nodes), so it may carry addresses not its own.
    source_dest_check: bool = True

    @property
    def with_prefix(self) -> str:
        return f"{self.address}/{self.prefix_length}"


@dataclass(frozen=True)
class PlannedNode:
    name: str
    fqdn: str
    roles: tuple[Role, ...]
    machine_type: str
    vcpus: int
    memory_gib: float
    nics: tuple[PlannedNic, ...]
    hypervisor: HypervisorChoice | None  # only nodes with the compute role run guests
    usd_per_hour: float | None
    # Network and compute nodes of an OVN release (debian-13); None elsewhere.
    datapath: DatapathChoice | None = None

    def nic(self, network: NetworkName) -> PlannedNic | None:
        return next((nic for nic in self.nics if nic.network is network), None)

    @property
    def management_address(self) -> IPv4Address:
        nic = self.nic(NetworkName.MANAGEMENT)
        if nic is None:  # the planner attaches every node to management
            raise ValueError(f"node {self.name} has no management address")
        return nic.address

    def has_role(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Cost:
    usd_per_hour: float
    note: str


@dataclass(frozen=True)
class LabRouter:
    """The node through which every other node reaches the outside, where the provider gives
    nodes no way out of their own (a VPC): it forwards and masquerades the lab's private
    networks out of its uplink, and its management address is every other node's gateway."""

    node: str
    gateway: IPv4Address
    masqueraded: tuple[IPv4Network, ...]


@dataclass(frozen=True)
class OpenPort:
    """A port the provider's firewall (security group) opens from outside the lab."""

    protocol: str
    port: int
    source: IPv4Network | None  # access.admin_cidr; None while unset (`up` refuses that)
    node: str
    purpose: str


@dataclass(frozen=True)
class Step:
    name: str
    description: str


@dataclass(frozen=True)
class Plan:
    lab: str
    provider: str
    os: str
    release: str
    openstack_series: str
    domain: str
    networks: tuple[PlannedNetwork, ...]
    nodes: tuple[PlannedNode, ...]
    tenant_mtu: int
    tunnel: Tunnel  # tenant_mtu = overlay MTU - tunnel.overhead
    controller: str
    access_node: str
    services: tuple[str, ...]
    cost: Cost
    steps: tuple[Step, ...]
    warnings: tuple[str, ...]
    # Where a cloud lab lives, so that `status` and `down` find it with no spec at hand.
    region: str | None = None
    profile: str | None = None  # aws: provider.profile; gcp: provider.credentials_file
    project: str | None = None  # gcp
    zone: str | None = None  # gcp
    router: LabRouter | None = None  # None: the provider (or host) gives each node its way out
    open_ports: tuple[OpenPort, ...] = ()
    # The cloud network the nodes are on (`aws`), the cloud's own or emulated on this host;
    # None: a plain network (local bridges, ssh hosts' LAN).
    fabric: str | None = None
    # The access node's public address where the plan knows it up front (the emulated
    # fabric); a cloud's is allocated by `up`.
    public_address: IPv4Address | None = None
    # False where the fabric joins no two lab networks (GCP: a VPC network per NIC): only a
    # node with a NIC on both reaches across, so every other node's way is the router node.
    networks_routed: bool = True

    def network(self, name: NetworkName) -> PlannedNetwork:
        return next(network for network in self.networks if network.name is name)

    def node(self, name: str) -> PlannedNode:
        return next(node for node in self.nodes if node.name == name)

    @property
    def provisioned_networks(self) -> tuple[PlannedNetwork, ...]:
        """The networks the provider makes (bridges, subnets): all but one a node holds."""
        return tuple(network for network in self.networks if network.on_node is None)

    def nodes_with(self, role: Role) -> tuple[PlannedNode, ...]:
        return tuple(node for node in self.nodes if node.has_role(role))

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form documented in docs/plan-json.md."""
        return {"format": PLAN_FORMAT, **_plain(dataclasses.asdict(self))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The plan back from its JSON form (`to_dict`), as the state database keeps it."""
        found = data.get("format", PLAN_FORMAT)
        if found != PLAN_FORMAT:
            raise ValueError(f"a saved plan of format {found!r}; this version reads {PLAN_FORMAT}")
        return cls(
            lab=data["lab"],
            provider=data["provider"],
            os=data["os"],
            release=data["release"],
            openstack_series=data["openstack_series"],
            domain=data["domain"],
            networks=tuple(_network(network) for network in data["networks"]),
            nodes=tuple(_node(node) for node in data["nodes"]),
            tenant_mtu=data["tenant_mtu"],
            tunnel=_tunnel(data),
            controller=data["controller"],
            access_node=data["access_node"],
            services=tuple(data["services"]),
            cost=Cost(**data["cost"]),
            steps=tuple(Step(**step) for step in data["steps"]),
            warnings=tuple(data["warnings"]),
            region=data.get("region"),
            profile=data.get("profile"),
            project=data.get("project"),
            zone=data.get("zone"),
            router=_router(data.get("router")),
            open_ports=tuple(_open_port(port) for port in data.get("open_ports", ())),
            fabric=data.get("fabric"),
            public_address=_optional_address(data.get("public_address")),
            networks_routed=data.get("networks_routed", True),
        )


def _router(data: Mapping[str, Any] | None) -> LabRouter | None:
    if data is None:
        return None
    return LabRouter(
        node=data["node"],
        gateway=IPv4Address(data["gateway"]),
        masqueraded=tuple(IPv4Network(cidr) for cidr in data["masqueraded"]),
    )


def _open_port(data: Mapping[str, Any]) -> OpenPort:
    source = data["source"]
    return OpenPort(
        protocol=data["protocol"],
        port=data["port"],
        source=None if source is None else IPv4Network(source),
        node=data["node"],
        purpose=data["purpose"],
    )


def _optional_address(value: str | None) -> IPv4Address | None:
    return None if value is None else IPv4Address(value)


def _network(data: Mapping[str, Any]) -> PlannedNetwork:
    floating = data.get("floating_range")
    return PlannedNetwork(
        name=NetworkName(data["name"]),
        purpose=data["purpose"],
        cidr=IPv4Network(data["cidr"]),
        gateway=IPv4Address(data["gateway"]),
        mtu=data["mtu"],
        vip=_optional_address(data.get("vip")),
        floating_range=(
            None
            if floating is None
            else FloatingRange(IPv4Address(floating["start"]), IPv4Address(floating["end"]))
        ),
        on_node=data.get("on_node"),
    )


def _node(data: Mapping[str, Any]) -> PlannedNode:
    hypervisor = data.get("hypervisor")
    return PlannedNode(
        name=data["name"],
        fqdn=data["fqdn"],
        roles=tuple(Role(role) for role in data["roles"]),
        machine_type=data["machine_type"],
        vcpus=data["vcpus"],
        memory_gib=data["memory_gib"],
        nics=tuple(
            PlannedNic(
                network=NetworkName(nic["network"]),
                address=IPv4Address(nic["address"]),
                prefix_length=nic["prefix_length"],
                mtu=nic["mtu"],
                interface=nic.get("interface"),
                source_dest_check=nic.get("source_dest_check", True),
            )
            for nic in data["nics"]
        ),
        hypervisor=(
            None
            if hypervisor is None
            else HypervisorChoice(HypervisorKind(hypervisor["kind"]), hypervisor["reason"])
        ),
        usd_per_hour=data.get("usd_per_hour"),
        datapath=_datapath(data.get("datapath")),
    )


def _datapath(data: Mapping[str, Any] | None) -> DatapathChoice | None:
    if data is None:  # also a plan saved before the datapath was planned
        return None
    return DatapathChoice(DatapathKind(data["kind"]), data["reason"], data["cost"])


def _tunnel(data: Mapping[str, Any]) -> Tunnel:
    saved = data.get("tunnel")
    if saved is None:  # a plan saved before the tunnel was planned
        return tunnel_for(OperatingSystem(data["os"]))
    return Tunnel(saved["name"], saved["overhead"], saved["made_of"])


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, IPv4Address | IPv4Network):
        return str(value)
    return value
