"""Address plan: a CIDR per lab network, an address per NIC, the VIP and the floating range.

Layout of every network: index 0 is the network, 1 the gateway (the host's
bridge locally, the provider's router in a cloud), 2-9 are reserved (clouds
keep some of them; the management VIP is 9), nodes count up from 10, and the
last two addresses stay free (GCP reserves the one before broadcast).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import NetworkName, Spec
from stacklab.errors import Problem

FIRST_NODE_INDEX = 10
VIP_INDEX = 9
GATEWAY_INDEX = 1
TAIL_RESERVED = 2
DEFAULT_PREFIX = 24
NETWORK_ORDER = (
    NetworkName.MANAGEMENT,
    NetworkName.OVERLAY,
    NetworkName.PROVIDER,
    NetworkName.UPLINK,
)


@dataclass(frozen=True)
class NetworkAddressing:
    cidr: IPv4Network
    gateway: IPv4Address
    node_addresses: tuple[IPv4Address, ...]
    vip: IPv4Address | None = None
    floating: tuple[IPv4Address, IPv4Address] | None = None


def lab_supernet(spec: Spec) -> IPv4Network:
    """Where default CIDRs come from.

    Local labs share this host's routing table, so each lab name maps to its own
    /16 in 10.100.0.0-10.199.255.255; a cloud lab has a VPC to itself.
    """
    traits = load_catalog(with_host=False).of(spec.provider_kind.value).traits
    if not traits.own_lab_network:
        second_octet = 100 + zlib.crc32(spec.name.encode()) % 100
        return IPv4Network(f"10.{second_octet}.0.0/16")
    return IPv4Network("10.0.0.0/16")


def needed_addresses(node_count: int, floating: int = 0) -> int:
    return FIRST_NODE_INDEX + node_count + floating + TAIL_RESERVED


def _default_prefix(node_count: int, with_floating: bool) -> int:
    prefix = DEFAULT_PREFIX
    while prefix > 8:
        size = 2 ** (32 - prefix)
        floating_room = size // 2 if with_floating else 0
        if needed_addresses(node_count) + floating_room <= size:
            return prefix
        prefix -= 1
    return prefix


def _free_block(supernet: IPv4Network, prefix: int, taken: list[IPv4Network]) -> IPv4Network | None:
    for candidate in supernet.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(other) for other in taken):
            return candidate
    return None


def allocate_cidrs(
    spec: Spec, node_counts: dict[NetworkName, int]
) -> tuple[dict[NetworkName, IPv4Network], list[Problem]]:
    """A CIDR for each network: the spec's own, else the next free block of the supernet."""
    problems: list[Problem] = []
    explicit = {
        name: spec.networks.spec_of(name).cidr
        for name in NETWORK_ORDER
        if spec.networks.spec_of(name).cidr is not None
    }
    seen: dict[NetworkName, IPv4Network] = {}
    for name, cidr in explicit.items():
        assert cidr is not None
        for other_name, other in seen.items():
            if cidr.overlaps(other):
                problems.append(
                    Problem(
                        field=f"networks.{name}.cidr",
                        value=str(cidr),
                        why=f"it overlaps networks.{other_name}.cidr {other}",
                        fix="give every lab network its own range, "
                        "or remove cidr to get a free one",
                    )
                )
        seen[name] = cidr
    cidrs: dict[NetworkName, IPv4Network] = {}
    taken = [cidr for cidr in explicit.values() if cidr is not None]
    supernet = lab_supernet(spec)
    for name in NETWORK_ORDER:
        chosen = explicit.get(name)
        if chosen is None:
            prefix = _default_prefix(node_counts[name], name is NetworkName.PROVIDER)
            chosen = _free_block(supernet, prefix, taken)
            if chosen is None:
                problems.append(
                    Problem(
                        field=f"networks.{name}.cidr",
                        value=None,
                        why=f"no free /{prefix} is left in {supernet} beside the given CIDRs",
                        fix=f"set networks.{name}.cidr explicitly",
                    )
                )
                continue
            taken.append(chosen)
        cidrs[name] = chosen
    return cidrs, problems


def size_problems(
    cidrs: dict[NetworkName, IPv4Network], node_counts: dict[NetworkName, int]
) -> list[Problem]:
    problems = []
    for name, cidr in cidrs.items():
        count = node_counts[name]
        floating = 1 if name is NetworkName.PROVIDER else 0
        needed = needed_addresses(count, floating)
        if cidr.num_addresses < needed:
            fitting = 32 - (needed - 1).bit_length()
            problems.append(
                Problem(
                    field=f"networks.{name}.cidr",
                    value=str(cidr),
                    why=(
                        f"it holds {cidr.num_addresses} addresses but this network needs "
                        f"{needed}: {FIRST_NODE_INDEX} reserved at the start, {count} for nodes"
                        + (", at least 1 floating IP" if floating else "")
                        + f" and {TAIL_RESERVED} at the end"
                    ),
                    fix=f"use a /{fitting} or larger",
                )
            )
    return problems


def floating_range(
    spec: Spec, cidr: IPv4Network, node_count: int
) -> tuple[tuple[IPv4Address, IPv4Address] | None, list[Problem]]:
    """The spec's floating range, checked; else the upper half of the provider network."""
    first_free = cidr[FIRST_NODE_INDEX + node_count]
    last_usable = cidr[cidr.num_addresses - 1 - TAIL_RESERVED]
    given = spec.networks.provider.floating_range
    if given is None:
        start = max(cidr[cidr.num_addresses // 2], first_free)
        return (start, last_usable), []
    field = "networks.provider.floating_range"
    value = f"{given.start}-{given.end}"
    if given.start not in cidr or given.end not in cidr:
        return None, [
            Problem(
                field=field,
                value=value,
                why=f"it lies outside the provider network {cidr}",
                fix=(
                    f"choose a range inside {cidr}, for example {first_free}-{last_usable}, "
                    "or remove floating_range to get the upper half"
                ),
            )
        ]
    if given.start < first_free or given.end > last_usable:
        return None, [
            Problem(
                field=field,
                value=value,
                why=(
                    f"it overlaps the addresses kept for the gateway and nodes "
                    f"({cidr[0]}-{cidr[FIRST_NODE_INDEX + node_count - 1]}) or the last two"
                ),
                fix=f"start at {first_free} or later and end at {last_usable} or earlier",
            )
        ]
    return (given.start, given.end), []


def node_addresses(cidr: IPv4Network, count: int) -> tuple[IPv4Address, ...]:
    return tuple(cidr[FIRST_NODE_INDEX + index] for index in range(count))
