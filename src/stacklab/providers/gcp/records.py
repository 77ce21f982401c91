"""What the Compute adapter hands out and takes in: typed values, so the client library's
messages stay inside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Network:
    name: str
    mtu: int
    description: str


@dataclass(frozen=True)
class Subnetwork:
    name: str
    network: str  # the network's self link
    cidr: str
    region: str
    description: str


@dataclass(frozen=True)
class FirewallRule:
    """One ingress rule that allows traffic; protocol "all" with no ports allows everything."""

    name: str
    network: str  # the network's name
    protocol: str
    ports: tuple[str, ...]
    sources: tuple[str, ...]
    target_tags: tuple[str, ...]
    description: str = field(default="", compare=False)


@dataclass(frozen=True)
class Route:
    name: str
    network: str  # the network's name
    destination: str
    next_hop_ip: str
    priority: int
    tags: tuple[str, ...]
    description: str = field(default="", compare=False)


@dataclass(frozen=True)
class AttachedNic:
    network: str  # names, not links: what the layout plans
    subnetwork: str
    address: str
    alias_ranges: tuple[str, ...] = ()
    external: bool = False
    external_address: str = ""  # the ephemeral public address GCP gave, once it runs


@dataclass(frozen=True)
class Instance:
    name: str
    zone: str
    status: str
    machine_type: str
    nics: tuple[AttachedNic, ...]
    labels: Labels
    boot_disk: str  # the boot disk's self link
    started_at: datetime


@dataclass(frozen=True)
class Disk:
    name: str
    zone: str
    status: str
    users: tuple[str, ...]
    labels: Labels


@dataclass(frozen=True)
class Image:
    name: str
    self_link: str
    created: str  # RFC 3339, as GCP gives it: sorts in time order
    status: str = "READY"
    labels: Labels = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceRequest:
    """One instance to insert, on networks and subnetworks that exist already."""

    name: str
    zone: str
    machine_type: str
    image: str  # the source image's self link
    boot_disk_gb: int
    nics: tuple[AttachedNic, ...]
    can_ip_forward: bool
    nested_virtualization: bool
    network_tags: tuple[str, ...]
    metadata: Mapping[str, str]
    labels: Labels
