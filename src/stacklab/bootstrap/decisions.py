"""Find-or-create decisions on plain data: what exists against what the lab wants.

Everything here is pure, so a second bootstrap that must create nothing is tested
without a cloud; `steps` applies the decisions through the adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network

from stacklab.bootstrap.resources import ANYWHERE, FlavorSpec, SubnetSpec
from stacklab.openstack_records import (
    FlavorRecord,
    ImageRecord,
    NetworkRecord,
    RouterRecord,
    RuleRecord,
    SubnetRecord,
)


class Action(StrEnum):
    FOUND = "found"
    CREATED = "created"
    UPDATED = "updated"
    REPLACED = "replaced"


@dataclass(frozen=True)
class Change:
    """What bootstrap did about one resource."""

    kind: str
    name: str
    action: Action
    detail: str = ""


def missing_flavors(
    wanted: Sequence[FlavorSpec], existing: Iterable[FlavorRecord]
) -> tuple[FlavorSpec, ...]:
    names = {flavor.name for flavor in existing}
    return tuple(flavor for flavor in wanted if flavor.name not in names)


def flavor_differences(
    wanted: Sequence[FlavorSpec], existing: Iterable[FlavorRecord]
) -> dict[str, str]:
    """Flavors of a wanted name but other sizes: name -> how they differ. Flavors cannot be
    changed in place and instances may use them, so these are reported, not replaced."""
    by_name = {flavor.name: flavor for flavor in existing}
    differences = {}
    for flavor in wanted:
        found = by_name.get(flavor.name)
        if found is None:
            continue
        have = (found.ram_mb, found.vcpus, found.disk_gb)
        want = (flavor.ram_mb, flavor.vcpus, flavor.disk_gb)
        if have != want:
            differences[flavor.name] = (
                f"has {have[0]} MB, {have[1]} vCPU, {have[2]} GB; "
                f"stacklab's is {want[0]} MB, {want[1]} vCPU, {want[2]} GB"
            )
    return differences


def quota_updates(wanted: Mapping[str, int], current: Mapping[str, int]) -> dict[str, int]:
    """The quotas to set: wanted values that differ from the current ones."""
    return {name: value for name, value in wanted.items() if current.get(name) != value}


def _normalized(rule: RuleRecord) -> RuleRecord:
    """A rule as Neutron matches it: no remote prefix means anywhere; ICMP has no ports."""
    prefix = rule.remote_ip_prefix
    if prefix is not None:
        prefix = str(IPv4Network(prefix, strict=False)) if rule.ethertype == "IPv4" else prefix
    anywhere = None if prefix in (None, ANYWHERE) else prefix
    protocol = (rule.protocol or "").lower() or None
    return RuleRecord(
        rule.direction.lower(), rule.ethertype, protocol, rule.port_min, rule.port_max, anywhere
    )


def missing_rules(
    wanted: Sequence[RuleRecord], existing: Iterable[RuleRecord]
) -> tuple[RuleRecord, ...]:
    have = {_normalized(rule) for rule in existing}
    return tuple(rule for rule in wanted if _normalized(rule) not in have)


@dataclass(frozen=True)
class ImageDecision:
    keep: ImageRecord | None  # the image to use; None: upload it
    stale: tuple[ImageRecord, ...]  # same name, other inputs or a failed upload: delete


def image_decision(
    images: Iterable[ImageRecord], name: str, expected: Mapping[str, str]
) -> ImageDecision:
    """The active image of the name with every expected property (the inputs' hash, the
    ids it links to) is kept; every other image of the name is stale."""
    named = [image for image in images if image.name == name]
    current = [
        image
        for image in named
        if image.status == "active"
        and all(image.properties.get(key) == value for key, value in expected.items())
    ]
    keep = current[0] if current else None
    stale = tuple(image for image in named if keep is None or image.id != keep.id)
    return ImageDecision(keep, stale)


def keypair_action(existing_public_key: str | None, wanted_public_key: str) -> Action:
    """FOUND when the same key is there already (comments aside), REPLACED when another key
    has the name, CREATED when none has."""
    if existing_public_key is None:
        return Action.CREATED
    if _key_material(existing_public_key) == _key_material(wanted_public_key):
        return Action.FOUND
    return Action.REPLACED


def _key_material(public_key: str) -> tuple[str, ...]:
    return tuple(public_key.split()[:2])


def find_network(
    networks: Iterable[NetworkRecord], name: str, *, project_id: str | None = None
) -> NetworkRecord | None:
    """The network of this name (in this project, when given)."""
    for network in networks:
        if network.name == name and (project_id is None or network.project_id == project_id):
            return network
    return None


def find_subnet(subnets: Iterable[SubnetRecord], network_id: str) -> SubnetRecord | None:
    return next((subnet for subnet in subnets if subnet.network_id == network_id), None)


def subnet_conflict(existing: SubnetRecord, wanted: SubnetSpec) -> str | None:
    """Why an existing subnet cannot serve (a CIDR cannot change in place), or None."""
    if IPv4Network(existing.cidr) != IPv4Network(wanted.cidr):
        return f"subnet {existing.name} has CIDR {existing.cidr}, the lab wants {wanted.cidr}"
    return None


def subnet_needs_update(existing: SubnetRecord, wanted: SubnetSpec) -> bool:
    return (existing.gateway_ip, tuple(existing.allocation_pools)) != (
        wanted.gateway_ip,
        wanted.allocation_pools,
    )


def find_router(routers: Iterable[RouterRecord], name: str, project_id: str) -> RouterRecord | None:
    return next((r for r in routers if r.name == name and r.project_id == project_id), None)
