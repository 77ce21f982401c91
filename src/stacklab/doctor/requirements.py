"""How much memory and disk a local lab needs, estimated from its nodes' roles.

Calibrated on FIELD-NOTES: one all-in-one node (controller, network, compute) with a
256 MB guest used ~3.3 GB of RAM (uwsgi trimmed to one process) and its root grew to
3.0 GB. The per-role split below adds up to a little more than that for the AIO node;
a node of its own also pays for its own systemd, agents and Python runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stacklab.doctor.models import Requirements


@dataclass(frozen=True)
class Footprint:
    memory_gib: float
    disk_gib: float


NODE_BASE = Footprint(memory_gib=0.3, disk_gib=0.4)  # booted systemd, sshd; minbase rootfs
ROLE_FOOTPRINTS = {
    # MariaDB, RabbitMQ, memcached, keystone, glance, placement, nova and neutron APIs.
    "controller": Footprint(memory_gib=2.0, disk_gib=1.6),
    # neutron linuxbridge, DHCP, L3 and metadata agents, dnsmasq, haproxy.
    "network": Footprint(memory_gib=0.4, disk_gib=0.3),
    # nova-compute, libvirt, qemu, the linuxbridge agent and one 256 MB guest.
    "compute": Footprint(memory_gib=0.8, disk_gib=0.8),
    # cinder-volume, LVM and the target daemon; a small file-backed volume group.
    "storage": Footprint(memory_gib=0.5, disk_gib=2.5),
}
BASE_IMAGES_DISK_GIB = 1.5  # cached Debian rootfs and guest images, shared by every node


def requirements_for(node_roles: Sequence[Sequence[str]], release: str) -> Requirements:
    """Memory and disk for a lab whose nodes carry these roles (one list per node).

    Sequences rather than lists so that lists of `Role` (a str enum) type-check too.
    """
    memory = 0.0
    disk = BASE_IMAGES_DISK_GIB
    for roles in node_roles:
        unknown = sorted(set(roles) - ROLE_FOOTPRINTS.keys())
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {sorted(ROLE_FOOTPRINTS)}")
        footprints = [NODE_BASE, *(ROLE_FOOTPRINTS[role] for role in set(roles))]
        memory += sum(footprint.memory_gib for footprint in footprints)
        disk += sum(footprint.disk_gib for footprint in footprints)
    return Requirements(memory_gib=round(memory, 1), disk_gib=round(disk, 1), release=release)
