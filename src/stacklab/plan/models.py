"""The Plan: a frozen value that says everything `up` will make, before it makes it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from stacklab.config.models import NetworkName, Role

PLAN_FORMAT = "stacklab.plan/v1"


class HypervisorKind(StrEnum):
    KVM = "kvm"
    QEMU = "qemu"


@dataclass(frozen=True)
class HypervisorChoice:
    kind: HypervisorKind
    reason: str


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


@dataclass(frozen=True)
class PlannedNic:
    network: NetworkName
    address: IPv4Address
    prefix_length: int
    mtu: int
    interface: str | None = None  # known up front only for the ssh provider

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
    controller: str
    access_node: str
    services: tuple[str, ...]
    cost: Cost
    steps: tuple[Step, ...]
    warnings: tuple[str, ...]

    def network(self, name: NetworkName) -> PlannedNetwork:
        return next(network for network in self.networks if network.name is name)

    def node(self, name: str) -> PlannedNode:
        return next(node for node in self.nodes if node.name == name)

    def nodes_with(self, role: Role) -> tuple[PlannedNode, ...]:
        return tuple(node for node in self.nodes if node.has_role(role))

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form documented in docs/plan-json.md."""
        return {"format": PLAN_FORMAT, **_plain(dataclasses.asdict(self))}


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
