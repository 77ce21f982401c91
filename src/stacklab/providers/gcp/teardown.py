"""Find a lab's GCP resources (instances and disks by label, the rest by its name and the
lab's marker in the description) and delete them in dependency order, each deletion's
operation waited on before what it held goes.

Everything is found from GCP itself, so `down` works when the state database is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from stacklab.core.nodes import ProgressCallback
from stacklab.errors import ProviderError
from stacklab.providers.base import FoundResource
from stacklab.providers.gcp.labels import LAB_LABEL, NODE_LABEL, belongs_to, label_filter
from stacklab.providers.gcp.records import Disk, FirewallRule, Instance, Network, Route, Subnetwork

if TYPE_CHECKING:
    from stacklab.providers.gcp.adapter import ComputeAdapter

DELETION_ORDER = ("instance", "disk", "route", "firewall", "subnetwork", "network")


@dataclass(frozen=True)
class Where:
    region: str
    zone: str


@dataclass(frozen=True)
class LabInventory:
    instances: tuple[Instance, ...] = ()
    disks: tuple[Disk, ...] = ()  # left over: a boot disk goes with its instance
    routes: tuple[Route, ...] = ()
    firewall_rules: tuple[FirewallRule, ...] = ()
    subnetworks: tuple[Subnetwork, ...] = ()
    networks: tuple[Network, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, field.name) for field in fields(self))

    def resources(self) -> list[FoundResource]:
        """Everything found, in the order `down` deletes it."""
        return [
            *(
                FoundResource(
                    "instance",
                    i.name,
                    i.status.lower(),
                    {
                        "node": i.labels.get(NODE_LABEL, ""),
                        "machine_type": i.machine_type,
                        "zone": i.zone,
                        "started": i.started_at.isoformat(),
                    },
                )
                for i in self.instances
            ),
            *(
                FoundResource("disk", d.name, d.status.lower(), {"zone": d.zone})
                for d in self.disks
            ),
            *(
                FoundResource("route", r.name, details={"destination": r.destination})
                for r in self.routes
            ),
            *(
                FoundResource("firewall", f.name, details={"network": f.network})
                for f in self.firewall_rules
            ),
            *(
                FoundResource("subnetwork", s.name, details={"cidr": s.cidr, "region": s.region})
                for s in self.subnetworks
            ),
            *(FoundResource("network", n.name, details={"mtu": str(n.mtu)}) for n in self.networks),
        ]


def inventory(gcp: ComputeAdapter, lab: str, where: Where) -> LabInventory:
    labelled = label_filter(LAB_LABEL, lab)
    instances = tuple(gcp.instances(where.zone, labelled))
    return LabInventory(
        instances=instances,
        disks=tuple(d for d in gcp.disks(where.zone, labelled) if not d.users),
        routes=tuple(r for r in gcp.routes() if belongs_to(r.description, lab)),
        firewall_rules=tuple(f for f in gcp.firewall_rules() if belongs_to(f.description, lab)),
        subnetworks=tuple(
            s for s in gcp.subnetworks(where.region) if belongs_to(s.description, lab)
        ),
        networks=tuple(n for n in gcp.networks() if belongs_to(n.description, lab)),
    )


def tear_down(
    gcp: ComputeAdapter, found: LabInventory, where: Where, progress: ProgressCallback
) -> None:
    """Delete what was found, each kind once what holds it is gone."""
    for instance in found.instances:
        progress(f"deleting instance {instance.name} and waiting for it to go")
        gcp.delete_instance(instance.zone or where.zone, instance.name)
    for disk in found.disks:
        progress(f"deleting disk {disk.name}")
        gcp.delete_disk(disk.zone or where.zone, disk.name)
    for route in found.routes:
        progress(f"deleting route {route.name}")
        gcp.delete_route(route.name)
    for rule in found.firewall_rules:
        progress(f"deleting firewall rule {rule.name}")
        gcp.delete_firewall_rule(rule.name)
    for subnet in found.subnetworks:
        progress(f"deleting subnetwork {subnet.name} ({subnet.cidr})")
        gcp.delete_subnetwork(subnet.region or where.region, subnet.name)
    for network in found.networks:
        progress(f"deleting network {network.name}")
        gcp.delete_network(network.name)


def verify_gone(gcp: ComputeAdapter, lab: str, where: Where) -> None:
    """Every deletion was waited on: whatever is still listed was not deleted."""
    left = inventory(gcp, lab, where)
    if not left.empty:
        listed = ", ".join(f"{r.kind} {r.ident}" for r in left.resources())
        raise ProviderError(
            f"After deleting, lab {lab} still has GCP resources: {listed}.",
            fix="`stacklab down` again; if they stay, delete them in the console (instances "
            f"and disks by the label {LAB_LABEL}={lab}, the rest named stacklab-{lab}-*)",
        )
