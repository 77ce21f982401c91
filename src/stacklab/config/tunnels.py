"""The tunnel that carries a lab's tenant networks over its overlay network, per OpenStack
release: what it costs of the overlay MTU decides the tenant networks' MTU."""

from __future__ import annotations

from dataclasses import dataclass

from stacklab.config.models import OperatingSystem


@dataclass(frozen=True)
class Tunnel:
    name: str
    overhead: int  # bytes each tenant packet gains on the overlay network
    made_of: str


# Debian 12 (Zed): Neutron's linuxbridge agent.
VXLAN = Tunnel("VXLAN", 50, "outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14")
# Debian 13 (2025.1): ML2/OVN. Neutron's max_header_size = 38 for OVN plus the outer IPv4
# header; measured here: Neutron gives a 1500-byte overlay a tenant MTU of 1442 (FIELD-NOTES).
GENEVE = Tunnel(
    "Geneve", 58, "outer IPv4 20 + UDP 8 + Geneve 8 + OVN's option 8 + inner Ethernet 14"
)


def tunnel_for(os: OperatingSystem) -> Tunnel:
    return GENEVE if os is OperatingSystem.DEBIAN_13 else VXLAN
