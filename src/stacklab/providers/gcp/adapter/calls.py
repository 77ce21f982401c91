"""Every Compute call the GCP provider makes, in terms of records."""

from __future__ import annotations

from stacklab.providers.gcp.adapter import shapes
from stacklab.providers.gcp.adapter.client import ComputeClient
from stacklab.providers.gcp.records import (
    Disk,
    FirewallRule,
    Image,
    Instance,
    InstanceRequest,
    Labels,
    Network,
    Route,
    Subnetwork,
)


class ComputeCalls(ComputeClient):
    # networks, subnetworks, firewall rules, routes (global, but subnetworks: regional)

    def networks(self) -> list[Network]:
        return [shapes.network(raw) for raw in self._list("networks")]

    def insert_network(self, name: str, mtu: int, description: str) -> None:
        resource = {
            "name": name,
            "mtu": mtu,
            "auto_create_subnetworks": False,
            "routing_config": {"routing_mode": "REGIONAL"},
            "description": description,
        }
        self._change("networks", "insert", f"network {name}", network_resource=resource)

    def delete_network(self, name: str) -> bool:
        return self._delete("networks", f"network {name}", network=name)

    def subnetworks(self, region: str) -> list[Subnetwork]:
        return [shapes.subnetwork(raw) for raw in self._list("subnetworks", region=region)]

    def insert_subnetwork(
        self, region: str, name: str, network: str, cidr: str, description: str
    ) -> None:
        resource = {
            "name": name,
            "network": shapes.network_link(self.project, network),
            "ip_cidr_range": cidr,
            "description": description,
        }
        self._change(
            "subnetworks",
            "insert",
            f"subnetwork {name}",
            region=region,
            subnetwork_resource=resource,
        )

    def delete_subnetwork(self, region: str, name: str) -> bool:
        return self._delete(
            "subnetworks",
            f"subnetwork {name}",
            region=region,
            subnetwork=name,
        )

    def firewall_rules(self) -> list[FirewallRule]:
        return [shapes.firewall(raw) for raw in self._list("firewalls")]

    def insert_firewall_rule(self, rule: FirewallRule) -> None:
        self._change(
            "firewalls",
            "insert",
            f"firewall rule {rule.name}",
            firewall_resource=shapes.firewall_request(self.project, rule),
        )

    def patch_firewall_rule(self, rule: FirewallRule) -> None:
        self._change(
            "firewalls",
            "patch",
            f"firewall rule {rule.name}",
            firewall=rule.name,
            firewall_resource=shapes.firewall_request(self.project, rule),
        )

    def delete_firewall_rule(self, name: str) -> bool:
        return self._delete("firewalls", f"firewall rule {name}", firewall=name)

    def routes(self) -> list[Route]:
        return [shapes.route(raw) for raw in self._list("routes")]

    def insert_route(self, route: Route) -> None:
        self._change(
            "routes",
            "insert",
            f"route {route.name}",
            route_resource=shapes.route_request(self.project, route),
        )

    def delete_route(self, name: str) -> bool:
        return self._delete("routes", f"route {name}", route=name)

    # instances and their disks (zonal)

    def instances(self, zone: str, label_filter: str) -> list[Instance]:
        raw = self._list("instances", zone=zone, filter=label_filter)
        return [shapes.instance(item) for item in raw]

    def insert_instance(self, region: str, request: InstanceRequest) -> None:
        self._change(
            "instances",
            "insert",
            f"instance {request.name}",
            zone=request.zone,
            instance_resource=shapes.instance_request(self.project, region, request),
        )

    def start_instance(self, zone: str, name: str) -> None:
        self._change("instances", "start", f"starting {name}", zone=zone, instance=name)

    def stop_instance(self, zone: str, name: str) -> None:
        self._change("instances", "stop", f"stopping {name}", zone=zone, instance=name)

    def delete_instance(self, zone: str, name: str) -> bool:
        return self._delete("instances", f"instance {name}", zone=zone, instance=name)

    def disks(self, zone: str, label_filter: str) -> list[Disk]:
        return [shapes.disk(raw) for raw in self._list("disks", zone=zone, filter=label_filter)]

    def delete_disk(self, zone: str, name: str) -> bool:
        return self._delete("disks", f"disk {name}", zone=zone, disk=name)

    # images

    def image_from_family(self, project: str, family: str) -> Image | None:
        raw = self._get("images", "get_from_family", project=project, family=family)
        return shapes.image(raw) if raw else None

    def image(self, project: str, name: str) -> Image | None:
        raw = self._get("images", project=project, image=name)
        return shapes.image(raw) if raw else None

    def images(self, label_filter: str) -> list[Image]:
        return [shapes.image(raw) for raw in self._list("images", filter=label_filter)]

    def insert_image(self, name: str, source_disk: str, description: str, labels: Labels) -> None:
        resource = {
            "name": name,
            "source_disk": source_disk,
            "description": description,
            "labels": dict(labels),
        }
        self._change("images", "insert", f"image {name}", image_resource=resource)

    def delete_image(self, name: str) -> bool:
        return self._delete("images", f"image {name}", image=name)
