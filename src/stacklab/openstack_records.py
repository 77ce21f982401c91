"""Plain values of OpenStack resources, as `openstack_api` returns them.

The rest of stacklab reasons about these (find-or-create decisions, verify, inventory)
without importing openstacksdk, so that logic is tested with plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stacklab.state.secrets import Secret

DEFAULT_DOMAIN = "Default"
REGION = "RegionOne"


@dataclass(frozen=True)
class Credentials:
    """Who talks to a lab's cloud, as whom, in which project."""

    auth_url: str
    username: str
    password: Secret
    project_name: str
    region_name: str = REGION
    domain: str = DEFAULT_DOMAIN
    # The CA file to trust: the TLS proxy's self-signed certificate where the lab is reached
    # through it; None: the system's (or plain http).
    cacert: str | None = None


@dataclass(frozen=True)
class FlavorRecord:
    id: str
    name: str
    ram_mb: int
    vcpus: int
    disk_gb: int


@dataclass(frozen=True)
class ImageRecord:
    id: str
    name: str
    status: str
    visibility: str
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkRecord:
    id: str
    name: str
    project_id: str
    external: bool
    mtu: int | None
    network_type: str | None
    physical_network: str | None


@dataclass(frozen=True)
class SubnetRecord:
    id: str
    name: str
    network_id: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: tuple[tuple[str, str], ...]
    dhcp: bool


@dataclass(frozen=True)
class RouterRecord:
    id: str
    name: str
    project_id: str
    external_network_id: str | None
    subnet_ids: tuple[str, ...]  # subnets with an interface on the router


@dataclass(frozen=True)
class RuleRecord:
    """A security group rule, reduced to what tells two rules apart."""

    direction: str
    ethertype: str
    protocol: str | None
    port_min: int | None
    port_max: int | None
    remote_ip_prefix: str | None


@dataclass(frozen=True)
class ServerRecord:
    id: str
    name: str
    status: str
    fault: str | None  # Nova's fault message of a server in ERROR
    metadata: Mapping[str, str]
    fixed_addresses: tuple[str, ...]
    floating_addresses: tuple[str, ...]
    instance_name: str | None = None  # libvirt's name, "instance-0000000a"; admins only


@dataclass(frozen=True)
class FloatingIpRecord:
    id: str
    address: str
    port_id: str | None
    status: str
    description: str


@dataclass(frozen=True)
class ServiceRecord:
    """A Nova or Cinder service or a Neutron agent, alive or not."""

    kind: str  # "compute", "volume" or "network"
    name: str
    host: str
    up: bool
