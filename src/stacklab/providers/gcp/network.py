"""The lab's networks on GCP, find-or-create: a VPC network and one subnetwork per lab
network, the firewall rules, the route out through the router node. Each looks for the lab's
own resource first, so a second run makes nothing new."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from stacklab.errors import ProviderError
from stacklab.providers.gcp.labels import belongs_to, described
from stacklab.providers.gcp.layout import LabLayout
from stacklab.providers.gcp.records import FirewallRule, Route
from stacklab.providers.rented import Created

if TYPE_CHECKING:
    from stacklab.providers.gcp.adapter import ComputeAdapter

# (kind, name, what it is for): the provider turns it into progress and a state record.

Marked = TypeVar("Marked", FirewallRule, Route)
DOWN_FIRST = "`stacklab down {lab}` first, then `stacklab up` again"


def ensure_networks(gcp: ComputeAdapter, layout: LabLayout, region: str, created: Created) -> None:
    lab = layout.lab
    networks = {n.name: n for n in gcp.networks()}
    for wanted in layout.networks:
        found = networks.get(wanted.name)
        if found is not None and not belongs_to(found.description, lab):
            raise ProviderError(
                f"A network named {wanted.name} exists in project {gcp.project} but is not "
                f"lab {lab}'s.",
                fix="choose another lab name, or delete that network",
            )
        if found is None:
            gcp.insert_network(
                wanted.name, wanted.mtu, described(lab, f"lab network {wanted.network}")
            )
            created("network", wanted.name, f"network {wanted.name} (MTU {wanted.mtu})")
        elif found.mtu != wanted.mtu:
            raise ProviderError(
                f"Lab {lab}'s network {wanted.name} has MTU {found.mtu}, the plan says "
                f"{wanted.mtu}.",
                fix=DOWN_FIRST.format(lab=lab),
            )
    subnetworks = {s.name: s for s in gcp.subnetworks(region)}
    for wanted in layout.networks:
        subnet = subnetworks.get(wanted.name)
        if subnet is None:
            gcp.insert_subnetwork(
                region,
                wanted.name,
                wanted.name,
                str(wanted.cidr),
                described(lab, f"lab network {wanted.network}"),
            )
            created("subnetwork", wanted.name, f"subnetwork {wanted.name} ({wanted.cidr})")
        elif subnet.cidr != str(wanted.cidr):
            raise ProviderError(
                f"Lab {lab}'s subnetwork {wanted.name} is {subnet.cidr}, the plan says "
                f"{wanted.cidr}.",
                fix=DOWN_FIRST.format(lab=lab) + " (a subnetwork's range cannot shrink)",
            )
    _ensure_firewall_rules(gcp, layout, created)
    _ensure_routes(gcp, layout, created)


def _ensure_firewall_rules(gcp: ComputeAdapter, layout: LabLayout, created: Created) -> None:
    lab = layout.lab
    found = {rule.name: rule for rule in gcp.firewall_rules() if belongs_to(rule.description, lab)}
    for wanted in layout.firewall_rules:
        rule = _marked(wanted, lab)
        if wanted.name not in found:
            gcp.insert_firewall_rule(rule)
            created("firewall", wanted.name, f"firewall rule {wanted.name}")
        elif found[wanted.name] != rule:  # e.g. the admin CIDR changed: the old one loses SSH
            gcp.patch_firewall_rule(rule)
    wanted_names = {rule.name for rule in layout.firewall_rules}
    for name in sorted(set(found) - wanted_names):
        gcp.delete_firewall_rule(name)


def _marked(resource: Marked, lab: str) -> Marked:
    """The resource as GCP lists it: its description starts with the lab's marker."""
    return replace(resource, description=described(lab, resource.description))


def _ensure_routes(gcp: ComputeAdapter, layout: LabLayout, created: Created) -> None:
    lab = layout.lab
    found = {route.name: route for route in gcp.routes() if belongs_to(route.description, lab)}
    for wanted in layout.routes:
        route = _marked(wanted, lab)
        current = found.get(wanted.name)
        if current is not None and current != route:  # routes cannot be changed in place
            gcp.delete_route(wanted.name)
            current = None
        if current is None:
            gcp.insert_route(route)
            created(
                "route",
                wanted.name,
                f"route {wanted.name} ({wanted.destination} via {wanted.next_hop_ip})",
            )
