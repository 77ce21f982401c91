"""tempest.conf from what the lab knows of itself: Keystone's URL and the admin from the
lab's directory, the images, flavors and external network bootstrap made, the Compute API's
microversions, the network extensions, and the plan's services and compute nodes.

`lab_facts` asks the cloud; `render_tempest_conf` is a pure function of the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

from stacklab.bootstrap.resources import (
    ALT_TEST_IMAGE,
    EXTERNAL_NETWORK,
    FLAVORS,
    IMAGE_USER,
    TEST_IMAGE,
    VERIFY_FLAVOR,
)
from stacklab.config.models import Role
from stacklab.errors import CloudError
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import Credentials
from stacklab.plan.models import HypervisorKind, Plan

# The second flavor (Tempest's flavor_ref_alt, which resize needs): the smallest other one.
ALT_FLAVOR = next(flavor.name for flavor in FLAVORS if flavor.name != VERIFY_FLAVOR)
# Tempest's own project networks: inside 192.168.0.0/16 like bootstrap's tenant subnet,
# away from it (it takes the first free /24) and from the lab's own networks.
PROJECT_NETWORK_CANDIDATES = (IPv4Network("192.168.128.0/17"), IPv4Network("172.30.0.0/16"))
PROJECT_NETWORK_MASK_BITS = 28
# The catalog types a Block Storage v3 endpoint goes by; Tempest looks for exactly one.
VOLUME_CATALOG_TYPES = ("block-storage", "volumev3", "volume")


@dataclass(frozen=True)
class LabFacts:
    admin: Credentials
    image_ref: str
    image_ref_alt: str
    flavor_ref: str
    flavor_ref_alt: str
    public_network_id: str
    public_network_name: str
    compute_microversions: tuple[str, str]
    volume_microversions: tuple[str, str] | None  # None: the lab runs no Cinder
    network_extensions: tuple[str, ...]
    compute_nodes: int
    software_emulation: bool  # QEMU without KVM: guests ~10x slower, longer timeouts
    project_network_cidr: IPv4Network
    # Whether this host reaches the floating IPs (the local provider's host sits on the
    # provider network): Tempest then checks servers over SSH.
    validation: bool = True
    image_ssh_user: str = IMAGE_USER
    volume_catalog_type: str = VOLUME_CATALOG_TYPES[0]


def project_network_cidr(taken: tuple[IPv4Network, ...]) -> IPv4Network:
    """The first candidate range that overlaps none of the lab's networks."""
    for candidate in PROJECT_NETWORK_CANDIDATES:
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise CloudError(
        f"Every range stacklab would give Tempest's project networks "
        f"({', '.join(map(str, PROJECT_NETWORK_CANDIDATES))}) overlaps a network of the lab.",
        fix="give the lab networks CIDRs outside those ranges in the spec",
    )


def _one_id(kind: str, name: str, ids: list[str]) -> str:
    if len(ids) != 1:
        found = "none" if not ids else f"{len(ids)} of them"
        raise CloudError(
            f"The lab has {found} {kind} named {name}; Tempest needs exactly one.",
            fix="run `stacklab up` again: its bootstrap step makes it"
            if not ids
            else f"delete the extra {kind}s named {name}",
        )
    return ids[0]


def lab_facts(
    admin_cloud: OpenStackCloud, admin: Credentials, plan: Plan, *, reachable: bool
) -> LabFacts:
    """What the lab runs, asked of its cloud (as the admin) and read from its plan."""
    images = {name: admin_cloud.images(name) for name in (TEST_IMAGE, ALT_TEST_IMAGE)}
    flavors: dict[str, list[str]] = {}
    for flavor in admin_cloud.flavors():
        flavors.setdefault(flavor.name, []).append(flavor.id)
    externals = [n for n in admin_cloud.networks() if n.external and n.name == EXTERNAL_NETWORK]
    compute = admin_cloud.microversion_range("compute")
    if compute is None:
        raise CloudError(
            "The lab's Compute API announces no microversions.",
            fix="check nova-api with `stacklab status`",
        )
    volume_type = (
        volume_catalog_type(admin_cloud.service_types()) if "cinder" in plan.services else None
    )
    hypervisors = [node.hypervisor for node in plan.nodes_with(Role.COMPUTE) if node.hypervisor]
    return LabFacts(
        admin=admin,
        image_ref=_one_id("image", TEST_IMAGE, [i.id for i in images[TEST_IMAGE]]),
        image_ref_alt=_one_id("image", ALT_TEST_IMAGE, [i.id for i in images[ALT_TEST_IMAGE]]),
        flavor_ref=_one_id("flavor", VERIFY_FLAVOR, flavors.get(VERIFY_FLAVOR, [])),
        flavor_ref_alt=_one_id("flavor", ALT_FLAVOR, flavors.get(ALT_FLAVOR, [])),
        public_network_id=_one_id("external network", EXTERNAL_NETWORK, [n.id for n in externals]),
        public_network_name=EXTERNAL_NETWORK,
        compute_microversions=compute,
        volume_microversions=(
            _volume_microversions(admin_cloud, volume_type) if volume_type else None
        ),
        network_extensions=tuple(admin_cloud.network_extensions()),
        compute_nodes=len(hypervisors),
        software_emulation=any(h.kind is HypervisorKind.QEMU for h in hypervisors),
        project_network_cidr=project_network_cidr(tuple(n.cidr for n in plan.networks)),
        validation=reachable,
        volume_catalog_type=volume_type or VOLUME_CATALOG_TYPES[0],
    )


def volume_catalog_type(service_types: list[str]) -> str:
    found = [kind for kind in VOLUME_CATALOG_TYPES if kind in service_types]
    if not found:
        raise CloudError(
            "The plan has Cinder, but the lab's service catalog has no Block Storage endpoint "
            f"(looked for {', '.join(VOLUME_CATALOG_TYPES)}).",
            fix="run `stacklab up` again: its block-storage phase registers it",
        )
    return found[0]


def _volume_microversions(cloud: OpenStackCloud, catalog_type: str) -> tuple[str, str]:
    return cloud.microversion_range(catalog_type) or ("3.0", "3.0")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def render_tempest_conf(facts: LabFacts, workspace: Path) -> str:
    """The whole tempest.conf. It holds the admin's password: write it mode 0600."""
    admin = facts.admin
    # Timeouts sized for TCG, where a guest boots ~10x slower than under KVM.
    build_timeout = 900 if facts.software_emulation else 300
    volume = facts.volume_microversions
    several_computes = facts.compute_nodes > 1
    sections: dict[str, dict[str, str]] = {
        "DEFAULT": {
            "log_file": str(workspace / "tempest.log"),
            "debug": "false",
        },
        "oslo_concurrency": {"lock_path": str(workspace / "locks")},
        "auth": {
            "use_dynamic_credentials": "true",
            "create_isolated_networks": "true",
            "admin_username": admin.username,
            "admin_password": str(admin.password),
            "admin_project_name": admin.project_name,
            "admin_domain_name": admin.domain,
        },
        "identity": {
            "uri_v3": admin.auth_url,
            "auth_version": "v3",
            "region": admin.region_name,
            "v3_endpoint_type": "public",
        },
        "identity-feature-enabled": {"api_v2": "false", "api_v3": "true"},
        "compute": {
            "image_ref": facts.image_ref,
            "image_ref_alt": facts.image_ref_alt,
            "flavor_ref": facts.flavor_ref,
            "flavor_ref_alt": facts.flavor_ref_alt,
            "min_microversion": facts.compute_microversions[0],
            "max_microversion": facts.compute_microversions[1],
            "build_timeout": str(build_timeout),
            "region": admin.region_name,
        },
        "compute-feature-enabled": {
            # Resize on one node: the installer sets nova's allow_resize_to_same_host.
            "resize": "true",
            "console_output": "true",
            "snapshot": "true",
            "pause": "true",
            "suspend": "true",
            "shelve": "true",
            "rescue": "true",
            "metadata_service": "true",
            "interface_attach": "true",
            "change_password": "false",  # the test image runs no guest agent
            "cold_migration": _bool(several_computes),
            "live_migration": _bool(several_computes),
            "vnc_console": "false",
            "serial_console": "false",
            "spice_console": "false",
            "attach_encrypted_volume": "false",
            "personality": "false",
        },
        # Glance refuses an upload whose content does not match its disk_format. The image
        # listing tests upload random bytes once per configured format: with raw the only one,
        # that data is an honest raw image, so they run instead of skipping for enforcement.
        "image": {
            "region": admin.region_name,
            "build_timeout": str(build_timeout),
            "container_formats": "bare",
            "disk_formats": "raw",
        },
        "image-feature-enabled": {"image_format_enforcement": "false"},
        "network": {
            "public_network_id": facts.public_network_id,
            "floating_network_name": facts.public_network_name,
            "project_network_cidr": str(facts.project_network_cidr),
            "project_network_mask_bits": str(PROJECT_NETWORK_MASK_BITS),
            "project_networks_reachable": "false",
            "region": admin.region_name,
            "build_timeout": str(build_timeout),
        },
        "network-feature-enabled": {
            "api_extensions": ",".join(facts.network_extensions),
            "ipv6": "true",
            "ipv6_subnet_attributes": "true",
            "port_security": _bool("port-security" in facts.network_extensions),
            "floating_ips": "true",
        },
        "validation": {
            "run_validation": _bool(facts.validation),
            "connect_method": "floating",
            "auth_method": "keypair",
            "image_ssh_user": facts.image_ssh_user,
            "image_alt_ssh_user": facts.image_ssh_user,
            "ssh_timeout": str(build_timeout),
            "ping_timeout": "300" if facts.software_emulation else "120",
            "network_for_ssh": facts.public_network_name,
        },
        "service_available": {
            "nova": "true",
            "neutron": "true",
            "glance": "true",
            "cinder": _bool(volume is not None),
            "swift": "false",
            "heat": "false",
            "horizon": "false",
            "octavia": "false",
        },
    }
    if volume is not None:
        sections["volume"] = {
            "catalog_type": facts.volume_catalog_type,
            "region": admin.region_name,
            "build_timeout": str(build_timeout),
            "min_microversion": volume[0],
            "max_microversion": volume[1],
        }
        sections["volume-feature-enabled"] = {"backup": "false", "multi_backend": "false"}
    lines: list[str] = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        # oslo.config reads $name as a reference to another option: $$ is a plain $.
        lines += [f"{name} = {value.replace('$', '$$')}" for name, value in options.items()]
        lines.append("")
    return "\n".join(lines)
