"""What the EC2 adapter hands out and takes in: typed values, so boto3's dicts stay inside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

Tags = Mapping[str, str]
# EC2 filter name -> accepted values, e.g. {"tag:stacklab:lab": ["lab1"]}.
Filters = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Vpc:
    id: str
    cidr_blocks: tuple[str, ...]
    tags: Tags


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    cidr: str
    availability_zone: str
    tags: Tags


@dataclass(frozen=True)
class InternetGateway:
    id: str
    attached_vpc_ids: tuple[str, ...]
    tags: Tags


@dataclass(frozen=True)
class RouteTableAssociation:
    id: str
    subnet_id: str | None
    main: bool


@dataclass(frozen=True)
class Route:
    destination: str
    gateway_id: str | None = None
    network_interface_id: str | None = None


@dataclass(frozen=True)
class RouteTable:
    id: str
    vpc_id: str
    associations: tuple[RouteTableAssociation, ...]
    routes: tuple[Route, ...]
    tags: Tags


@dataclass(frozen=True)
class IngressRule:
    """One ingress permission; protocol "-1" means all traffic (ports then unused)."""

    protocol: str
    cidr: str
    from_port: int | None = None
    to_port: int | None = None
    description: str = field(default="", compare=False)


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    vpc_id: str
    name: str
    ingress: tuple[IngressRule, ...]
    tags: Tags


@dataclass(frozen=True)
class NetworkInterface:
    id: str
    subnet_id: str
    private_address: str
    secondary_addresses: tuple[str, ...]
    status: str
    source_dest_check: bool
    attachment_id: str | None
    instance_id: str | None
    tags: Tags


@dataclass(frozen=True)
class Instance:
    id: str
    state: str
    instance_type: str
    launch_time: datetime
    tags: Tags
    state_reason: str = ""


@dataclass(frozen=True)
class Address:
    allocation_id: str
    public_ip: str
    association_id: str | None
    network_interface_id: str | None
    tags: Tags


@dataclass(frozen=True)
class KeyPair:
    name: str
    id: str
    tags: Tags


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    creation_date: str
    root_device_name: str
    owner: str
    state: str = "available"
    snapshot_ids: tuple[str, ...] = ()
    tags: Tags = field(default_factory=dict)


@dataclass(frozen=True)
class Volume:
    id: str
    state: str
    tags: Tags


@dataclass(frozen=True)
class AttachedNic:
    device_index: int
    network_interface_id: str


@dataclass(frozen=True)
class LaunchRequest:
    """One instance, launched on network interfaces that exist already."""

    image_id: str
    instance_type: str
    key_name: str
    nics: tuple[AttachedNic, ...]
    root_device_name: str
    root_volume_gb: int
    iops: int | None
    ebs_optimized: bool
    nested_virtualization: bool
    user_data: str
    tags: Tags
