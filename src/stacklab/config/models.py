"""The spec a user writes (`stacklab.yaml`), as pydantic models.

Field-level rules live here; rules that relate several fields or need the
catalog live in `config.rules`, so every problem is reported at once with its path.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

LAB_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,9}$"
NODE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,14}$"


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    CONTROLLER = "controller"
    NETWORK = "network"
    COMPUTE = "compute"
    STORAGE = "storage"


class NetworkName(StrEnum):
    MANAGEMENT = "management"
    OVERLAY = "overlay"
    PROVIDER = "provider"
    UPLINK = "uplink"


class OperatingSystem(StrEnum):
    DEBIAN_13 = "debian-13"
    DEBIAN_12 = "debian-12"


class Hypervisor(StrEnum):
    AUTO = "auto"
    KVM = "kvm"
    QEMU = "qemu"


class Preset(StrEnum):
    AIO = "aio"
    MULTINODE = "multinode"


class ProviderKind(StrEnum):
    LOCAL = "local"
    SSH = "ssh"
    AWS = "aws"
    GCP = "gcp"


class LocalProvider(Strict):
    kind: Literal["local"] = "local"
    mirror: HttpUrl | None = Field(
        default=None,
        description="Debian mirror for the nodes. Default: the mirror this host's apt uses.",
    )
    apt_cache: bool = Field(
        default=True, description="Share an apt cache on the host between labs."
    )
    fabric: str | None = Field(
        default=None,
        description="Emulate a cloud's network on this host (`aws`: a VPC; `gcp`: a VPC "
        "network per lab network, MTU 1460), to rehearse a cloud lab for free; default: plain "
        "bridges with NAT.",
    )


class SshHost(Strict):
    name: Annotated[str, Field(pattern=NODE_NAME_PATTERN)]
    address: str = Field(description="Address or DNS name stacklab connects to.")
    user: str = "root"
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    private_key: Path | None = None
    interfaces: dict[NetworkName, str] = Field(
        default_factory=dict,
        description="Interface name on this host for each lab network it is attached to.",
    )


class SshProvider(Strict):
    kind: Literal["ssh"] = "ssh"
    hosts: list[SshHost] = Field(min_length=1)


class AwsProvider(Strict):
    kind: Literal["aws"] = "aws"
    profile: str | None = None
    region: str = "us-east-1"
    machine_types: dict[Role, str] = Field(
        default_factory=dict, description="Instance type per role; default from the catalog."
    )
    image: str | None = Field(
        default=None, description="AMI id; default: the newest official Debian image."
    )
    root_volume_gb: Annotated[int, Field(ge=20, le=16384)] = 50
    ebs_optimized: bool = True
    iops: Annotated[int, Field(ge=3000, le=16000)] | None = None
    key_pair_name: str | None = None
    private_key_path: Path | None = None
    owner: str | None = Field(default=None, description="Value of the Owner tag.")
    allow_ssh_from_world: bool = Field(
        default=False, description="Allow access.admin_cidr 0.0.0.0/0 (refused otherwise)."
    )


class GcpProvider(Strict):
    kind: Literal["gcp"] = "gcp"
    project: str | None = None
    region: str = "us-central1"
    zone: str | None = Field(
        default=None, description="Default: the region's first zone in the catalog."
    )
    machine_types: dict[Role, str] = Field(
        default_factory=dict, description="Machine type per role; default from the catalog."
    )
    image: str | None = Field(
        default=None,
        description="projects/PROJECT/global/images/NAME; default: the newest image of the "
        "public debian-cloud family for the spec's os.",
    )
    boot_disk_gb: Annotated[int, Field(ge=20, le=65536)] = 50
    credentials_file: Path | None = Field(
        default=None,
        description="A service-account key file (JSON); default: application default "
        "credentials (`gcloud auth application-default login`).",
    )
    owner: str | None = Field(default=None, description="Value of the stacklab-owner label.")
    allow_ssh_from_world: bool = Field(
        default=False, description="Allow access.admin_cidr 0.0.0.0/0 (refused otherwise)."
    )


ProviderSettings = Annotated[
    LocalProvider | SshProvider | AwsProvider | GcpProvider, Field(discriminator="kind")
]


class NodeSpec(Strict):
    name: Annotated[str, Field(pattern=NODE_NAME_PATTERN)]
    roles: list[Role] = Field(min_length=1)
    machine_type: str | None = None


class Topology(Strict):
    preset: Preset | None = None
    nodes: list[NodeSpec] | None = None

    @model_validator(mode="after")
    def _preset_or_nodes(self) -> Topology:
        if self.preset is not None and self.nodes is not None:
            raise ValueError(
                "give either topology.preset or topology.nodes, not both; remove one of them"
            )
        return self


class FloatingRange(Strict):
    start: IPv4Address
    end: IPv4Address

    @model_validator(mode="after")
    def _ordered(self) -> FloatingRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} comes before start {self.start}; swap them")
        return self


class NetworkSpec(Strict):
    cidr: IPv4Network | None = Field(default=None, description="Default: allocated by the plan.")
    mtu: Annotated[int, Field(ge=576, le=9216)] | None = Field(
        default=None, description="Default: the provider's network MTU from the catalog."
    )


class OverlaySpec(NetworkSpec):
    encapsulation: Literal["geneve", "vxlan", "gre"] = "geneve"
    multicast_group: IPv4Address | None = Field(
        default=None, description="Not used: ML2/OVN's Geneve tunnels are unicast."
    )


class ProviderNetworkSpec(NetworkSpec):
    floating_range: FloatingRange | None = Field(
        default=None, description="Floating IPs; default: the upper half of the provider CIDR."
    )


class Networks(Strict):
    management: NetworkSpec = Field(default_factory=NetworkSpec)
    overlay: OverlaySpec = Field(default_factory=OverlaySpec)
    provider: ProviderNetworkSpec = Field(default_factory=ProviderNetworkSpec)
    uplink: NetworkSpec = Field(default_factory=NetworkSpec)

    def spec_of(self, name: NetworkName) -> NetworkSpec:
        spec: NetworkSpec = getattr(self, name.value)
        return spec


class Services(Strict):
    cinder: bool = False
    octavia: bool = False
    horizon: bool = True


class Access(Strict):
    admin_cidr: IPv4Network | None = Field(
        default=None,
        description="Who may reach a cloud lab's SSH and APIs; default: your address.",
    )
    ssh_public_key: str | None = Field(
        default=None,
        description="Path to a public key or the key itself; default: a key generated per lab.",
    )


class Spec(Strict):
    name: Annotated[str, Field(pattern=LAB_NAME_PATTERN)] = Field(
        description="Lab name: 1-10 of a-z, 0-9 and '-', starting with a letter."
    )
    provider: ProviderSettings = Field(default_factory=LocalProvider)
    # Debian 13: OpenStack 2025.1 with ML2/OVN. debian-12 stays a known value only to be
    # refused with the way out (config.rules.os_problems).
    os: OperatingSystem = OperatingSystem.DEBIAN_13
    topology: Topology = Field(default_factory=lambda: Topology(preset=Preset.AIO))
    networks: Networks = Field(default_factory=Networks)
    hypervisor: Hypervisor = Hypervisor.AUTO
    services: Services = Field(default_factory=Services)
    access: Access = Field(default_factory=Access)
    image_url: HttpUrl | None = Field(
        default=None,
        description="A cloud image (http or https) uploaded besides the offline test image, "
        "named after its file name, for `stacklab launch --image NAME`.",
    )

    @field_validator("provider", mode="before")
    @classmethod
    def _provider_shorthand(cls, value: Any) -> Any:
        """`provider: local` is short for `provider: {kind: local}`."""
        if isinstance(value, str):
            return {"kind": value}
        return value

    @property
    def provider_kind(self) -> ProviderKind:
        return ProviderKind(self.provider.kind)
