"""What a fresh lab cloud gets (kolla's init-runonce, seed 003), as values made from the Plan.

Names here are the contract between bootstrap, verify and the workloads: they find what
bootstrap made by these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from stacklab.config.models import NetworkName
from stacklab.errors import StacklabError
from stacklab.openstack_records import RuleRecord
from stacklab.plan.models import Plan

MEMBER_ROLE = "member"

EXTERNAL_NETWORK = "public"
EXTERNAL_SUBNET = "public-subnet"
TENANT_NETWORK = "demo-net"
TENANT_SUBNET = "demo-subnet"
ROUTER = "demo-router"
# The flat network's name in the installer's ml2_conf.ini (`flat_networks`) and in each
# linuxbridge agent's physical_interface_mappings.
PHYSICAL_NETWORK = "provider"

TEST_IMAGE = "stacklab-test"
# A second bootable image, for tests that need two distinct ones (Tempest's
# image_ref_alt: rebuild, image lists): the same kernel and initramfs, its own root disk.
ALT_TEST_IMAGE = "stacklab-test-alt"
IMAGE_HASH_PROPERTY = "stacklab_inputs_hash"
IMAGE_USER = "root"  # the test image's only user; dropbear takes the metadata key for it

# Tenant subnets sit behind the router's SNAT, but must not overlap a lab network, or the
# router could not reach that network.
TENANT_SUPERNET = IPv4Network("192.168.0.0/16")
TENANT_PREFIX = 24


@dataclass(frozen=True)
class FlavorSpec:
    name: str
    ram_mb: int
    vcpus: int
    disk_gb: int


# tiny fits the test image (256 MB RAM, 1 vCPU, 1 GB disk was enough: FIELD-NOTES).
FLAVORS: tuple[FlavorSpec, ...] = (
    FlavorSpec("m1.tiny", 256, 1, 1),
    FlavorSpec("m1.small", 2048, 1, 20),
    FlavorSpec("m1.medium", 4096, 2, 40),
    FlavorSpec("m1.large", 8192, 4, 80),
    FlavorSpec("m1.xlarge", 16384, 8, 160),
)
VERIFY_FLAVOR = "m1.tiny"

COMPUTE_QUOTAS: dict[str, int] = {"instances": 20, "cores": 40, "ram": 40960, "key_pairs": 20}
NETWORK_QUOTAS: dict[str, int] = {
    "floating_ips": 20,
    "networks": 10,
    "subnets": 10,
    "routers": 5,
    "ports": 100,
    "security_groups": 20,
    "security_group_rules": 200,
}

ANYWHERE = "0.0.0.0/0"
DEMO_RULES: tuple[RuleRecord, ...] = (
    RuleRecord("ingress", "IPv4", "icmp", None, None, ANYWHERE),
    RuleRecord("ingress", "IPv4", "tcp", 22, 22, ANYWHERE),
)


def keypair_name(lab: str) -> str:
    return f"stacklab-{lab}"


@dataclass(frozen=True)
class SubnetSpec:
    name: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: tuple[tuple[str, str], ...]
    dhcp: bool


@dataclass(frozen=True)
class LabNetworks:
    """The two Neutron networks of a lab, from its Plan."""

    external: SubnetSpec
    tenant: SubnetSpec
    tenant_mtu: int


def lab_networks(plan: Plan) -> LabNetworks:
    provider = plan.network(NetworkName.PROVIDER)
    if provider.floating_range is None:
        raise StacklabError(
            f"The plan of lab {plan.lab} has no floating range on the provider network.",
            fix="set networks.provider.floating_range in the spec",
        )
    floating = provider.floating_range
    external = SubnetSpec(
        name=EXTERNAL_SUBNET,
        cidr=str(provider.cidr),
        # The host's bridge locally, the provider's router in a cloud (plan.addressing).
        gateway_ip=str(provider.gateway),
        allocation_pools=((str(floating.start), str(floating.end)),),
        dhcp=False,
    )
    cidr = tenant_cidr(tuple(network.cidr for network in plan.networks))
    tenant = SubnetSpec(
        name=TENANT_SUBNET,
        cidr=str(cidr),
        gateway_ip=str(cidr[1]),
        allocation_pools=((str(cidr[10]), str(cidr[-2])),),
        dhcp=True,
    )
    return LabNetworks(external, tenant, plan.tenant_mtu)


def tenant_cidr(lab_cidrs: tuple[IPv4Network, ...]) -> IPv4Network:
    """The first /24 of 192.168.0.0/16 that overlaps none of the lab's own networks."""
    for candidate in TENANT_SUPERNET.subnets(new_prefix=TENANT_PREFIX):
        if not any(candidate.overlaps(taken) for taken in lab_cidrs):
            return candidate
    raise StacklabError(
        f"Every /{TENANT_PREFIX} of {TENANT_SUPERNET} overlaps a network of this lab.",
        fix="give the lab networks CIDRs outside 192.168.0.0/16 in the spec",
    )
