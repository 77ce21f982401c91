"""An emulated cloud fabric (`provider: {kind: local, fabric: aws|gcp}`): the lab's bridges made to
behave like a VPC's subnets, as nftables rules on the host side of every node's veth.

A VPC delivers a packet only to the interface that owns its destination address and drops
what an interface sends from an address it does not own (the source/destination check),
except on interfaces where the check is off (a router's). It answers ARP itself, so no node
can claim another's address. Only the access node has a public address, 1:1 NATed by the
internet gateway and open only on the ports the security group opens; the other nodes have
no way out but through the lab's router node.

Here the host plays the VPC's router between the subnets, the internet gateway and the
user's machine. `fabric: gcp` differs in what GCP differs in: MTU 1460 (the plan's) and a VPC
network per NIC, so the host routes between none of the lab's networks. Each function
returns nft text; the provider loads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from stacklab.config.models import NetworkName
from stacklab.plan.models import Plan
from stacklab.providers.local.naming import ALIAS_PREFIX, nft_table_name, veth_name

FABRIC_FAMILY = "bridge"


@dataclass(frozen=True)
class FabricPort:
    """A node's interface on the fabric, seen from the host end of its veth."""

    veth: str
    node: str
    addresses: tuple[IPv4Address, ...]
    source_dest_check: bool


@dataclass(frozen=True)
class OpenedPort:
    protocol: str
    port: int
    source: IPv4Network


@dataclass(frozen=True)
class PublicEdge:
    """The internet gateway: the access node's public address and what it lets in."""

    public: IPv4Address
    private: IPv4Address  # the access node's uplink address, the only one NATed out
    opened: tuple[OpenedPort, ...]


def fabric_ports(plan: Plan) -> tuple[FabricPort, ...]:
    """Every node interface with the addresses it owns (the controller's management one
    also owns the VIP, as a secondary address would on a cloud)."""
    vip = plan.network(NetworkName.MANAGEMENT).vip
    ports = []
    for node in plan.nodes:
        for nic in node.nics:
            owned = [nic.address]
            if vip and nic.network is NetworkName.MANAGEMENT and node.name == plan.controller:
                owned.append(vip)
            ports.append(
                FabricPort(
                    veth=veth_name(plan.lab, node.name, nic.network),
                    node=node.name,
                    addresses=tuple(owned),
                    source_dest_check=nic.source_dest_check,
                )
            )
    return tuple(ports)


def public_edge(plan: Plan) -> PublicEdge | None:
    """None where the plan has no public address (plain bridges)."""
    if plan.public_address is None:
        return None
    uplink = plan.node(plan.access_node).nic(NetworkName.UPLINK)
    if uplink is None:
        return None
    opened = tuple(
        OpenedPort(port.protocol, port.port, port.source)
        for port in plan.open_ports
        if port.source is not None and port.node == plan.access_node
    )
    return PublicEdge(plan.public_address, uplink.address, opened)


def _set(items: Iterable[object]) -> str:
    return "{ " + ", ".join(str(item) for item in items) + " }"


def render_fabric_table(lab: str, ports: tuple[FabricPort, ...]) -> str:
    """The bridge-family table of the lab's fabric.

    prerouting sees what a node sends: an ARP answer or an IP packet from an address the
    interface does not own is dropped (IP only where its check is on; ARP always, since a
    VPC answers ARP itself). postrouting sees what the fabric delivers: an IP packet to an
    address the interface does not own is dropped where the check is on.
    """
    sends, delivers = [], []
    for port in sorted(ports, key=lambda p: p.veth):
        owned = _set(sorted(port.addresses))
        sends.append(f'\t\tiifname "{port.veth}" arp saddr ip != {owned} drop')
        if port.source_dest_check:
            sends.append(f'\t\tiifname "{port.veth}" ip saddr != {owned} drop')
            delivers.append(f'\t\toifname "{port.veth}" ip daddr != {owned} drop')
    body = (
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority filter; policy accept;\n"
        + "".join(line + "\n" for line in sends)
        + "\t}\n"
        "\tchain postrouting {\n"
        "\t\ttype filter hook postrouting priority filter; policy accept;\n"
        + "".join(line + "\n" for line in delivers)
        + "\t}\n"
    )
    return _table(FABRIC_FAMILY, lab, body)


def edge_rules(edge: PublicEdge, uplink: str, bridges: list[str]) -> dict[str, list[str]]:
    """Rules of the lab's `ip` table, by chain, that make the host the internet gateway:
    the public address NATed 1:1 to the access node for the opened ports from their source
    only; nothing else of the lab goes out or comes in."""
    own = _set(f'"{bridge}"' for bridge in sorted(bridges))
    dnat = [
        f"ip daddr {edge.public} ip saddr {port.source} {port.protocol} dport {port.port} "
        f"dnat to {edge.private}"
        for port in edge.opened
    ]
    return {
        # Arriving from outside, and from this host itself (the user's machine).
        "prerouting": dnat,
        "output": dnat,
        "postrouting": [f'ip saddr {edge.private} oifname "{uplink}" masquerade'],
        "forward": [
            f'iifname {own} oifname "{uplink}" ip saddr != {edge.private} drop',
            f'iifname "{uplink}" oifname {own} ct status dnat accept',
            f'iifname "{uplink}" oifname {own} ct state new drop',
            f"ip daddr {edge.public} drop",
        ],
        # What was not NATed to the access node is refused at once, not sent out.
        "refuse": [f"ip daddr {edge.public} reject"],
    }


def separation_rules(bridges: list[str]) -> list[str]:
    """Forward rules that route between none of the lab's bridges: each is a network of its
    own, as GCP's VPC networks are (a VPC network per NIC, not peered), so only a node with a
    NIC on two of them (the router node) joins them."""
    ordered = sorted(bridges)
    rules = []
    for bridge in ordered:
        others = [f'"{other}"' for other in ordered if other != bridge]
        if others:
            rules.append(f'iifname "{bridge}" oifname {_set(others)} drop')
    return rules


def _table(family: str, lab: str, body: str) -> str:
    """The table with a comment that carries a digest of its body, so an unchanged table is
    seen as such and an outdated one replaced."""
    name = nft_table_name(lab)
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    return f'table {family} {name} {{\n\tcomment "{ALIAS_PREFIX}:{lab}:{digest}"\n{body}}}\n'
