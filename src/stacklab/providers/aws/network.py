"""The lab's network on AWS, find-or-create: VPC, internet gateway, subnets, route tables,
security group. Each function looks for the lab's tagged resource first, so a second run
makes nothing new."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stacklab.config.models import NetworkName
from stacklab.errors import ProviderError
from stacklab.providers.aws.layout import ANYWHERE, LabLayout, Routes
from stacklab.providers.aws.records import RouteTable, SecurityGroup, Subnet, Vpc
from stacklab.providers.aws.tags import NETWORK_TAG, PART_TAG, Tagger, lab_filter, resource_name
from stacklab.providers.rented import Created

if TYPE_CHECKING:
    from stacklab.providers.aws.adapter import Ec2Adapter

# (kind, AWS id, what it is for): the provider turns it into progress and a state record.

SECURITY_GROUP_PART = "security-group"
DOWN_FIRST = "`stacklab down {lab}` first, then `stacklab up` again"


@dataclass(frozen=True)
class LabNetwork:
    vpc_id: str
    subnet_ids: dict[NetworkName, str]
    security_group_id: str
    route_table_ids: dict[Routes, str]


def choose_zone(ec2: Ec2Adapter, lab: str, machine_types: Sequence[str]) -> str:
    """The zone the lab's subnets are in, else the first zone that offers every type.

    All of a lab's subnets share one zone: an instance's ENIs must be in its own zone.
    """
    existing = sorted({subnet.availability_zone for subnet in ec2.subnets(lab_filter(lab))})
    if existing:
        return existing[0]
    wanted = frozenset(machine_types)
    offering = ec2.zones_offering(sorted(wanted))
    for zone in ec2.availability_zones():
        if wanted <= offering.get(zone, frozenset()):
            return zone
    raise ProviderError(
        f"No availability zone of {ec2.region} offers all of {', '.join(sorted(wanted))}.",
        fix="choose machine types offered in this region (provider.machine_types), "
        "or another provider.region",
    )


def ensure_network(
    ec2: Ec2Adapter, layout: LabLayout, tagger: Tagger, zone: str, created: Created
) -> LabNetwork:
    vpc = _ensure_vpc(ec2, layout, tagger, created)
    gateway_id = _ensure_gateway(ec2, vpc.id, tagger, created)
    subnets = {
        subnet.network: _ensure_subnet(
            ec2, vpc.id, subnet.network, str(subnet.cidr), zone, tagger, created
        )
        for subnet in layout.subnets
    }
    tables: dict[Routes, str] = {}
    for routes in (Routes.INTERNET, Routes.VIA_ACCESS_NODE):
        subnet = layout.subnet_with(routes)
        if subnet is None:
            continue
        table = _ensure_route_table(
            ec2, vpc.id, routes, subnets[subnet.network].id, tagger, created
        )
        if routes is Routes.INTERNET:
            ensure_default_route(ec2, table, gateway_id=gateway_id)
        tables[routes] = table.id
    group = _ensure_security_group(ec2, vpc.id, layout, tagger, created)
    return LabNetwork(
        vpc.id,
        {name: subnet.id for name, subnet in subnets.items()},
        group.id,
        tables,
    )


def find_network(ec2: Ec2Adapter, layout: LabLayout) -> LabNetwork:
    """The network `ensure_network` made, for the nodes step."""
    lab = layout.lab
    vpc = _single(ec2.vpcs(lab_filter(lab, part="vpc")), "VPC", lab)
    subnets = {s.tags.get(NETWORK_TAG): s for s in ec2.subnets(lab_filter(lab))}
    missing = [s.network.value for s in layout.subnets if s.network.value not in subnets]
    groups = ec2.security_groups(lab_filter(lab, part=SECURITY_GROUP_PART))
    if vpc is None or missing or not groups:
        raise ProviderError(
            f"The network of lab {lab} is not (completely) there.",
            fix="`stacklab up` again: its networks step makes what is missing",
        )
    tables = {
        Routes(table.tags[PART_TAG]): table.id
        for table in ec2.route_tables(lab_filter(lab))
        if table.tags.get(PART_TAG) in {r.value for r in Routes}
    }
    return LabNetwork(
        vpc.id,
        {s.network: subnets[s.network.value].id for s in layout.subnets},
        groups[0].id,
        tables,
    )


def ensure_default_route(
    ec2: Ec2Adapter,
    table: RouteTable,
    *,
    gateway_id: str | None = None,
    network_interface_id: str | None = None,
) -> None:
    destination = str(ANYWHERE)
    current = next((r for r in table.routes if r.destination == destination), None)
    if current is not None and (current.gateway_id, current.network_interface_id) == (
        gateway_id,
        network_interface_id,
    ):
        return
    ec2.set_route(
        table.id,
        destination,
        gateway_id=gateway_id,
        network_interface_id=network_interface_id,
        replace=current is not None,
    )


def _single(found: list[Vpc], what: str, lab: str) -> Vpc | None:
    if len(found) > 1:
        raise ProviderError(
            f"Lab {lab} has {len(found)} {what}s tagged stacklab:lab={lab}; stacklab makes one.",
            fix=f"`stacklab down {lab}` removes all of them",
        )
    return found[0] if found else None


def _ensure_vpc(ec2: Ec2Adapter, layout: LabLayout, tagger: Tagger, created: Created) -> Vpc:
    vpc = _single(ec2.vpcs(lab_filter(layout.lab, part="vpc")), "VPC", layout.lab)
    blocks = [str(block) for block in layout.vpc_blocks]
    if vpc is None:
        vpc = ec2.create_vpc(blocks[0], tagger.tags("vpc", part="vpc"))
        created("vpc", vpc.id, f"VPC {vpc.id} ({', '.join(blocks)})")
    for block in blocks:
        if block not in vpc.cidr_blocks:
            ec2.add_vpc_cidr(vpc.id, block)
    return vpc


def _ensure_gateway(ec2: Ec2Adapter, vpc_id: str, tagger: Tagger, created: Created) -> str:
    found = ec2.internet_gateways(lab_filter(tagger.lab))
    if found:
        gateway = found[0]
    else:
        gateway = ec2.create_internet_gateway(tagger.tags("igw", part="internet-gateway"))
        created("internet-gateway", gateway.id, f"internet gateway {gateway.id}")
    if vpc_id not in gateway.attached_vpc_ids:
        ec2.attach_internet_gateway(gateway.id, vpc_id)
    return gateway.id


def _ensure_subnet(
    ec2: Ec2Adapter,
    vpc_id: str,
    network: NetworkName,
    cidr: str,
    zone: str,
    tagger: Tagger,
    created: Created,
) -> Subnet:
    found = ec2.subnets(lab_filter(tagger.lab, network=network.value))
    if found:
        subnet = found[0]
        if subnet.cidr != cidr:
            raise ProviderError(
                f"Lab {tagger.lab}'s {network} subnet is {subnet.cidr}, the plan says {cidr}.",
                fix=DOWN_FIRST.format(lab=tagger.lab) + " (a subnet's range cannot change)",
            )
        return subnet
    subnet = ec2.create_subnet(
        vpc_id, cidr, zone, tagger.tags(network.value, network=network.value)
    )
    created("subnet", subnet.id, f"subnet {subnet.id} for {network} ({cidr}, {zone})")
    return subnet


def _ensure_route_table(
    ec2: Ec2Adapter,
    vpc_id: str,
    routes: Routes,
    subnet_id: str,
    tagger: Tagger,
    created: Created,
) -> RouteTable:
    found = ec2.route_tables(lab_filter(tagger.lab, part=routes.value))
    if found:
        table = found[0]
    else:
        table = ec2.create_route_table(vpc_id, tagger.tags(routes.value, part=routes.value))
        created("route-table", table.id, f"route table {table.id} ({routes.value})")
    if subnet_id not in {a.subnet_id for a in table.associations}:
        ec2.associate_route_table(table.id, subnet_id)
    return table


def _ensure_security_group(
    ec2: Ec2Adapter, vpc_id: str, layout: LabLayout, tagger: Tagger, created: Created
) -> SecurityGroup:
    found = ec2.security_groups(lab_filter(tagger.lab, part=SECURITY_GROUP_PART))
    if not found:
        group_id = ec2.create_security_group(
            vpc_id,
            resource_name(tagger.lab),
            f"stacklab lab {tagger.lab}: SSH and HTTPS from access.admin_cidr, all within the lab",
            tagger.tags("sg", part=SECURITY_GROUP_PART),
        )
        created("security-group", group_id, f"security group {group_id}")
        # New: no ingress rules yet (and EC2 may not list it for a moment).
        found = [SecurityGroup(group_id, vpc_id, resource_name(tagger.lab), (), {})]
    group = found[0]
    wanted = set(layout.ingress)
    missing = [rule for rule in layout.ingress if rule not in group.ingress]
    stale = [rule for rule in group.ingress if rule not in wanted]
    if missing:
        ec2.authorize_ingress(group.id, missing)
    if stale:  # e.g. the admin CIDR changed: the old one must no longer reach SSH
        ec2.revoke_ingress(group.id, stale)
    return group
