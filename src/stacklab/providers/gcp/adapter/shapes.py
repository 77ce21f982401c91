"""The Compute API's resources as dicts (the client's messages in their dict form, field names
in snake case) into records, and records into request dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stacklab.providers.gcp.records import (
    AttachedNic,
    Disk,
    FirewallRule,
    Image,
    Instance,
    InstanceRequest,
    Network,
    Route,
    Subnetwork,
)

DISK_TYPE = "pd-balanced"  # offered by every series of the catalog


def last(link: str) -> str:
    """A resource's name from its URL (self link) or partial URL."""
    return link.rstrip("/").rsplit("/", 1)[-1]


def network_link(project: str, name: str) -> str:
    return f"projects/{project}/global/networks/{name}"


def subnetwork_link(project: str, region: str, name: str) -> str:
    return f"projects/{project}/regions/{region}/subnetworks/{name}"


def network(raw: dict[str, Any]) -> Network:
    return Network(raw["name"], int(raw.get("mtu", 1460)), raw.get("description", ""))


def subnetwork(raw: dict[str, Any]) -> Subnetwork:
    return Subnetwork(
        raw["name"],
        raw.get("network", ""),
        raw.get("ip_cidr_range", ""),
        last(raw.get("region", "")),
        raw.get("description", ""),
    )


def firewall(raw: dict[str, Any]) -> FirewallRule:
    allowed = raw.get("allowed") or [{}]
    return FirewallRule(
        name=raw["name"],
        network=last(raw.get("network", "")),
        protocol=allowed[0].get("I_p_protocol", ""),
        ports=tuple(allowed[0].get("ports", ())),
        sources=tuple(raw.get("source_ranges", ())),
        target_tags=tuple(raw.get("target_tags", ())),
        description=raw.get("description", ""),
    )


def firewall_request(project: str, rule: FirewallRule) -> dict[str, Any]:
    allowed: dict[str, Any] = {"I_p_protocol": rule.protocol}
    if rule.ports:
        allowed["ports"] = list(rule.ports)
    request: dict[str, Any] = {
        "name": rule.name,
        "network": network_link(project, rule.network),
        "direction": "INGRESS",
        "priority": 1000,
        "allowed": [allowed],
        "source_ranges": list(rule.sources),
        "description": rule.description,
    }
    if rule.target_tags:
        request["target_tags"] = list(rule.target_tags)
    return request


def route(raw: dict[str, Any]) -> Route:
    return Route(
        name=raw["name"],
        network=last(raw.get("network", "")),
        destination=raw.get("dest_range", ""),
        next_hop_ip=raw.get("next_hop_ip", ""),
        priority=int(raw.get("priority", 1000)),
        tags=tuple(raw.get("tags", ())),
        description=raw.get("description", ""),
    )


def route_request(project: str, wanted: Route) -> dict[str, Any]:
    return {
        "name": wanted.name,
        "network": network_link(project, wanted.network),
        "dest_range": wanted.destination,
        "next_hop_ip": wanted.next_hop_ip,
        "priority": wanted.priority,
        "tags": list(wanted.tags),
        "description": wanted.description,
    }


def _time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def instance(raw: dict[str, Any]) -> Instance:
    nics = tuple(
        AttachedNic(
            network=last(nic.get("network", "")),
            subnetwork=last(nic.get("subnetwork", "")),
            address=nic.get("network_i_p", ""),
            alias_ranges=tuple(a.get("ip_cidr_range", "") for a in nic.get("alias_ip_ranges", ())),
            external=bool(nic.get("access_configs")),
            external_address=next(
                (c.get("nat_i_p", "") for c in nic.get("access_configs", ()) if c.get("nat_i_p")),
                "",
            ),
        )
        for nic in raw.get("network_interfaces", ())
    )
    boot: dict[str, Any] = next((d for d in raw.get("disks", ()) if d.get("boot")), {})
    return Instance(
        name=raw["name"],
        zone=last(raw.get("zone", "")),
        status=raw.get("status", ""),
        machine_type=last(raw.get("machine_type", "")),
        nics=nics,
        labels=dict(raw.get("labels", {})),
        boot_disk=boot.get("source", ""),
        started_at=_time(raw.get("last_start_timestamp") or raw.get("creation_timestamp")),
    )


def instance_request(project: str, region: str, wanted: InstanceRequest) -> dict[str, Any]:
    interfaces = []
    for nic in wanted.nics:
        interface: dict[str, Any] = {
            "network": network_link(project, nic.network),
            "subnetwork": subnetwork_link(project, region, nic.subnetwork),
            "network_i_p": nic.address,
        }
        if nic.alias_ranges:
            interface["alias_ip_ranges"] = [{"ip_cidr_range": r} for r in nic.alias_ranges]
        if nic.external:
            interface["access_configs"] = [
                {"name": "external-nat", "type_": "ONE_TO_ONE_NAT", "network_tier": "PREMIUM"}
            ]
        interfaces.append(interface)
    request: dict[str, Any] = {
        "name": wanted.name,
        "machine_type": f"zones/{wanted.zone}/machineTypes/{wanted.machine_type}",
        "can_ip_forward": wanted.can_ip_forward,
        "network_interfaces": interfaces,
        "disks": [
            {
                "boot": True,
                "auto_delete": True,
                "initialize_params": {
                    "source_image": wanted.image,
                    "disk_size_gb": wanted.boot_disk_gb,
                    "disk_type": f"zones/{wanted.zone}/diskTypes/{DISK_TYPE}",
                    "labels": dict(wanted.labels),
                },
            }
        ],
        "metadata": {"items": [{"key": k, "value": v} for k, v in wanted.metadata.items()]},
        "tags": {"items": list(wanted.network_tags)},
        "labels": dict(wanted.labels),
    }
    if wanted.nested_virtualization:
        request["advanced_machine_features"] = {"enable_nested_virtualization": True}
    return request


def disk(raw: dict[str, Any]) -> Disk:
    return Disk(
        raw["name"],
        last(raw.get("zone", "")),
        raw.get("status", ""),
        tuple(raw.get("users", ())),
        dict(raw.get("labels", {})),
    )


def image(raw: dict[str, Any]) -> Image:
    return Image(
        name=raw["name"],
        self_link=raw.get("self_link", ""),
        created=raw.get("creation_timestamp", ""),
        status=raw.get("status", ""),
        labels=dict(raw.get("labels", {})),
    )
