"""Find a lab's AWS resources by their tag, and delete them in dependency order.

Everything is found from AWS itself, so `down` works when the state database is gone. The
VPC's main route table and default security group carry no tag: they go with the VPC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from stacklab.core.nodes import ProgressCallback
from stacklab.errors import ProviderError
from stacklab.providers.aws.errors import AwsTimeout
from stacklab.providers.aws.records import (
    Address,
    Instance,
    InternetGateway,
    KeyPair,
    NetworkInterface,
    RouteTable,
    SecurityGroup,
    Subnet,
    Tags,
    Volume,
    Vpc,
)
from stacklab.providers.aws.retry import poll
from stacklab.providers.aws.tags import NAME_TAG, NODE_TAG, lab_filter
from stacklab.providers.base import FoundResource

if TYPE_CHECKING:
    from stacklab.providers.aws.adapter import Ec2Adapter

# Not yet terminated: still billed, or about to be.
PRESENT_INSTANCE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")
# A root volume goes by itself once its instance has ended ("deleting", then gone).
PRESENT_VOLUME_STATES = ("creating", "available", "in-use", "error")

# What must be gone before a kind can be deleted.
HELD_BY: dict[str, frozenset[str]] = {
    "instance": frozenset(),
    "elastic-ip": frozenset({"instance"}),
    "network-interface": frozenset({"instance", "elastic-ip"}),
    "volume": frozenset({"instance"}),
    "security-group": frozenset({"instance", "network-interface"}),
    "subnet": frozenset({"instance", "network-interface"}),
    "route-table": frozenset({"subnet"}),
    "internet-gateway": frozenset({"elastic-ip"}),
    "vpc": frozenset(
        {"subnet", "security-group", "route-table", "internet-gateway", "network-interface"}
    ),
    "key-pair": frozenset({"instance"}),
}
DELETION_ORDER = (
    "instance",
    "elastic-ip",
    "network-interface",
    "volume",
    "security-group",
    "subnet",
    "route-table",
    "internet-gateway",
    "vpc",
    "key-pair",
)


def in_deletion_order(resources: list[FoundResource]) -> list[FoundResource]:
    return sorted(resources, key=lambda resource: DELETION_ORDER.index(resource.kind))


@dataclass(frozen=True)
class LabInventory:
    instances: tuple[Instance, ...] = ()
    addresses: tuple[Address, ...] = ()
    interfaces: tuple[NetworkInterface, ...] = ()
    volumes: tuple[Volume, ...] = ()
    security_groups: tuple[SecurityGroup, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    route_tables: tuple[RouteTable, ...] = ()
    gateways: tuple[InternetGateway, ...] = ()
    vpcs: tuple[Vpc, ...] = ()
    key_pairs: tuple[KeyPair, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, field.name) for field in fields(self))

    def resources(self) -> list[FoundResource]:
        """Everything found, in the order `down` deletes it."""
        found = [
            *(
                _found(
                    "instance",
                    i.id,
                    i.tags,
                    state=i.state,
                    instance_type=i.instance_type,
                    launched=i.launch_time.isoformat(),
                )
                for i in self.instances
            ),
            *(
                _found("elastic-ip", a.allocation_id, a.tags, public_ip=a.public_ip)
                for a in self.addresses
            ),
            *(
                _found("network-interface", n.id, n.tags, state=n.status, address=n.private_address)
                for n in self.interfaces
            ),
            *(_found("volume", v.id, v.tags, state=v.state) for v in self.volumes),
            *(_found("security-group", g.id, g.tags) for g in self.security_groups),
            *(
                _found("subnet", s.id, s.tags, cidr=s.cidr, zone=s.availability_zone)
                for s in self.subnets
            ),
            *(_found("route-table", t.id, t.tags) for t in self.route_tables),
            *(_found("internet-gateway", g.id, g.tags) for g in self.gateways),
            *(_found("vpc", v.id, v.tags, cidr=", ".join(v.cidr_blocks)) for v in self.vpcs),
            *(_found("key-pair", k.name, k.tags) for k in self.key_pairs),
        ]
        return in_deletion_order(found)


def _found(kind: str, ident: str, tags: Tags, **details: str) -> FoundResource:
    named = {"name": tags.get(NAME_TAG, "")}
    if NODE_TAG in tags:
        named["node"] = tags[NODE_TAG]
    state = details.pop("state", "present")
    return FoundResource(kind, ident, state, {**named, **details})


def inventory(ec2: Ec2Adapter, lab: str) -> LabInventory:
    tagged = lab_filter(lab)
    return LabInventory(
        instances=tuple(ec2.instances({**tagged, "instance-state-name": PRESENT_INSTANCE_STATES})),
        addresses=tuple(ec2.addresses(tagged)),
        interfaces=tuple(ec2.network_interfaces(tagged)),
        volumes=tuple(ec2.volumes({**tagged, "status": PRESENT_VOLUME_STATES})),
        security_groups=tuple(ec2.security_groups(tagged)),
        subnets=tuple(ec2.subnets(tagged)),
        route_tables=tuple(ec2.route_tables(tagged)),
        gateways=tuple(ec2.internet_gateways(tagged)),
        vpcs=tuple(ec2.vpcs(tagged)),
        key_pairs=tuple(ec2.key_pairs(tagged)),
    )


def tear_down(ec2: Ec2Adapter, lab: str, found: LabInventory, progress: ProgressCallback) -> None:
    """Delete what was found, each kind once what holds it is gone."""
    if found.instances:
        ids = [instance.id for instance in found.instances]
        progress(f"terminating {len(ids)} instances and waiting for them to end")
        ec2.terminate_instances(ids)
        ec2.wait_for_instances(ids, "terminated")
    for address in found.addresses:
        progress(f"releasing Elastic IP {address.public_ip}")
        if address.association_id:
            ec2.delete("elastic-ip-association", address.association_id)
        ec2.delete("elastic-ip", address.allocation_id)
    for interface in found.interfaces:
        progress(f"deleting network interface {interface.id}")
        ec2.delete("network-interface", interface.id)
    # Root volumes went with their instances; only the ones left over are deleted.
    for volume in ec2.volumes({**lab_filter(lab), "status": ("available", "error")}):
        progress(f"deleting volume {volume.id}")
        ec2.delete("volume", volume.id)
    for group in found.security_groups:
        progress(f"deleting security group {group.id}")
        ec2.delete("security-group", group.id)
    for subnet in found.subnets:
        progress(f"deleting subnet {subnet.id} ({subnet.cidr})")
        ec2.delete("subnet", subnet.id)
    for table in found.route_tables:
        progress(f"deleting route table {table.id}")
        for association in table.associations:
            if not association.main:
                ec2.delete("route-table-association", association.id)
        ec2.delete("route-table", table.id)
    for gateway in found.gateways:
        progress(f"deleting internet gateway {gateway.id}")
        for vpc_id in gateway.attached_vpc_ids:
            ec2.detach_internet_gateway(gateway.id, vpc_id)
        ec2.delete("internet-gateway", gateway.id)
    for vpc in found.vpcs:
        progress(f"deleting VPC {vpc.id}")
        ec2.delete("vpc", vpc.id)
    for pair in found.key_pairs:
        progress(f"deleting key pair {pair.name}")
        ec2.delete("key-pair", pair.name)


def verify_gone(ec2: Ec2Adapter, lab: str) -> None:
    """Until EC2 lists nothing of the lab (its answers lag a little behind deletes)."""
    left = [LabInventory()]

    def nothing_left() -> bool | None:
        left[0] = inventory(ec2, lab)
        return True if left[0].empty else None

    try:
        poll(
            nothing_left,
            timeout=ec2.visible_timeout,
            what=f"lab {lab} to be gone",
            fix="",
            pacing=ec2.pacing,
        )
    except AwsTimeout as still_there:
        listed = ", ".join(f"{r.kind} {r.ident}" for r in left[0].resources())
        raise ProviderError(
            f"After deleting, lab {lab} still has AWS resources: {listed}.",
            fix="`stacklab down` again (AWS may still have been releasing them); if they stay, "
            "delete them in the EC2 console (filter on the tag stacklab:lab)",
        ) from still_there
