"""Facts about providers, loaded from the YAML files in `catalog/data`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stacklab.config.models import Role


class Virtualization(StrEnum):
    NATIVE = "native"  # bare metal: KVM works as on any server
    NESTED = "nested"  # a VM whose provider offers nested virtualization when asked
    NONE = "none"  # guests can only run under QEMU's emulator (TCG), about 10x slower
    PROBE = "probe"  # only booting a probe guest can tell (the local host)


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(Frozen):
    usd_per_hour: float = Field(ge=0)
    as_of: date
    source: str


class MachineType(Frozen):
    name: str
    vcpus: int = Field(ge=1)
    memory_gib: float = Field(gt=0)
    max_nics: int = Field(ge=1)
    virtualization: Virtualization
    how: str = Field(default="", description="What enables the virtualization, if anything.")
    price: Price | None = None


class Reach(StrEnum):
    """How this host reaches the lab's nodes and its cloud's APIs."""

    DIRECT = "direct"  # at their management addresses, from this host
    JUMP_HOST = "jump host"  # through the access node's public address


class SnapshotKind(StrEnum):
    NONE = "none"
    NODE_TREES = "node trees"  # the nodes' root directories, copied on this host
    MACHINE_IMAGES = "machine images"  # golden images in the cloud account


class ProviderTraits(Frozen):
    """What a provider is: callers branch on these, never on its name."""

    reach: Reach
    public_addresses: bool = Field(description="Nodes get an address on the internet.")
    unpriced: str | None = Field(
        default=None, description="Why a lab here has no hourly price; None: billed by the hour."
    )
    snapshots: SnapshotKind
    nodes_on_this_host: bool = Field(description="A KVM probe here decides their hypervisor.")
    host_on_lab_networks: bool = Field(description="This host has an address on each.")
    own_node_addresses: bool = Field(description="Nodes answer at addresses of their own.")
    own_lab_network: bool = Field(
        description="The lab's networks are its own (a VPC), apart from every other lab's."
    )
    implemented: bool = True

    @property
    def costs_money(self) -> bool:
        return self.unpriced is None

    @property
    def apis_reached_from_host(self) -> bool:
        return self.reach is Reach.DIRECT


class NetworkFacts(Frozen):
    underlay_mtu: int = Field(description="MTU between nodes on the provider's network.")
    uplink_mtu: int = Field(description="MTU on the path to the internet.")
    mtu_min: int
    mtu_max: int
    carries_vxlan: bool
    carries_gre: bool
    carries_multicast: bool
    nic_per_network: str = Field(
        default="", description="How each NIC maps onto the provider's networks."
    )
    reserved_addresses: str = ""
    nic_limit: str = Field(default="", description="How many NICs a machine type takes.")
    nodes_exit_through_router_node: bool = Field(
        default=False,
        description="Nodes have no way out of their own (no NAT of the provider's): the lab's "
        "network node forwards and masquerades for them.",
    )
    routes_between_networks: bool = Field(
        default=True,
        description="The cloud routes between the lab's networks (subnets of one VPC); false "
        "where each is a network of its own (GCP's VPC network per NIC): only the nodes with "
        "a NIC on two of them join them.",
    )
    firewalled: bool = Field(
        default=False,
        description="From outside, only the ports the lab opens are reachable, and only from "
        "access.admin_cidr (a security group or firewall rules).",
    )
    ovs_datapath: Literal["kernel", "probe"] = Field(
        default="probe",
        description="Open vSwitch's datapath on OVN releases: kernel where the provider's "
        "kernels have the openvswitch module; probe where each host's kernel is asked.",
    )
    ovs_datapath_how: str = Field(default="", description="Why the datapath is what it is.")


class ImageSource(Frozen):
    """Where a provider's official OS images come from: looked up, never a hard-coded id."""

    owner: str = Field(description="Account or project that publishes the images.")
    architecture: str | None = Field(default="x86_64", description="None: any architecture.")
    name_patterns: dict[str, str] = Field(
        default_factory=dict, description="Image name pattern per spec os (newest match wins)."
    )
    families: dict[str, str] = Field(
        default_factory=dict,
        description="Image family per spec os (GCP: the family's newest image wins).",
    )


class Region(Frozen):
    location: str
    zones: tuple[str, ...] = Field(default=(), description="Zones a spec may name, if any.")


class Regions(Frozen):
    """The regions a spec may name, with where the list comes from and its date."""

    as_of: date
    source: str
    names: dict[str, Region]

    def zone_region(self, zone: str) -> str | None:
        return next((name for name, r in self.names.items() if zone in r.zones), None)


class ProviderCatalog(Frozen):
    provider: str
    description: str
    traits: ProviderTraits
    network: NetworkFacts
    default_machine_types: dict[Role, str] = Field(default_factory=dict)
    aio_machine_type: str | None = None
    machine_types: dict[str, MachineType]
    images: ImageSource | None = None
    regions: Regions | None = None

    def machine_type(self, name: str) -> MachineType | None:
        return self.machine_types.get(name)


class Catalog(Frozen):
    providers: dict[str, ProviderCatalog]

    def of(self, provider: str) -> ProviderCatalog:
        return self.providers[provider]
