"""The request checker the Compute stand-in uses: what it refuses, as Google's API would, and
that the GCP provider's request shapes, serialized by the client library's own messages, pass
it. Offline and quick: no server."""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from typing import Any

import pytest
from compute_discovery import check_request
from google.cloud import compute_v1
from google.protobuf import json_format

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.gcp.adapter import shapes
from stacklab.providers.gcp.layout import lab_layout
from stacklab.providers.gcp.records import AttachedNic, InstanceRequest

ROOT = "/compute/v1/projects/p"
INSTANCE = {
    "name": "stacklab-lab-compute1",
    "machineType": "zones/us-central1-a/machineTypes/n2-standard-4",
    "canIpForward": False,
    "networkInterfaces": [
        {
            "network": "projects/p/global/networks/stacklab-lab-management",
            "subnetwork": "projects/p/regions/us-central1/subnetworks/stacklab-lab-management",
            "networkIP": "10.0.0.12",
            "accessConfigs": [{"name": "external-nat", "type": "ONE_TO_ONE_NAT"}],
        }
    ],
    "disks": [{"boot": True, "autoDelete": True, "initializeParams": {"diskSizeGb": "50"}}],
    "advancedMachineFeatures": {"enableNestedVirtualization": True},
    "labels": {"stacklab-lab": "lab"},
}


def violations(body: Any, path: str = f"{ROOT}/zones/us-central1-a/instances") -> list[str]:
    checked = check_request("POST", path, {"$alt": ["json;enum-encoding=int"]}, body)
    assert checked.method == "compute.instances.insert"
    return checked.violations


def changed(path: str, value: Any) -> dict[str, Any]:
    """The instance with one field, at a dotted path, set (or removed: value None)."""
    body = json.loads(json.dumps(INSTANCE))
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return body


def test_a_well_formed_instance_passes() -> None:
    assert violations(INSTANCE) == []


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        ("canIPForward", True, "canIPForward: no such field"),  # misspelt
        ("networkInterfaces.0.networkIp", "10.0.0.12", "networkIp: no such field"),
        ("enableNestedVirtualization", True, "no such field"),  # misplaced: belongs one down
        ("networkInterfaces.0.accessConfigs.0.type", "ONE_TO_ONE", "is none of"),
        ("canIpForward", "yes", "is not of type boolean"),
        ("disks.0.initializeParams.diskSizeGb", "fifty", "is not of type string (int64)"),
        ("labels", ["stacklab-lab"], "expected an object"),
        ("status", "RUNNING", "output only"),
        ("name", None, "name: required by compute.instances.insert"),
    ],
)
def test_what_the_compute_api_would_refuse_is_a_violation(path: str, value: Any, said: str) -> None:
    found = violations(changed(path, value))
    assert len(found) == 1 and said in found[0], found


def test_paths_and_query_parameters_are_checked_too() -> None:
    assert check_request("DELETE", f"{ROOT}/global/networks/Not_A_Name", {}, None).violations
    bad_query = check_request("GET", f"{ROOT}/global/networks", {"filtre": ["x"]}, None)
    assert bad_query.violations == ["compute.networks.list: unknown query parameter filtre"]
    wrong_type = check_request("GET", f"{ROOT}/global/networks", {"maxResults": ["ten"]}, None)
    assert "not an integer" in wrong_type.violations[0]
    assert check_request("PUT", f"{ROOT}/global/networks", {}, None).method is None
    family = check_request(
        "GET", "/compute/v1/projects/debian-cloud/global/images/family/d", {}, None
    )
    assert (family.method, family.violations) == ("compute.images.getFromFamily", [])


def wire(message_type: Any, request: dict[str, Any]) -> dict[str, Any]:
    """A request dict as the client library puts it on the wire."""
    wire_form: dict[str, Any] = json_format.MessageToDict(message_type.pb(message_type(request)))
    return wire_form


def test_the_providers_request_shapes_pass_as_the_client_serializes_them() -> None:
    spec = Spec.model_validate(
        {
            "name": "lab",
            "provider": {"kind": "gcp", "project": "p"},
            "topology": {"preset": "multinode"},
            "access": {"admin_cidr": "203.0.113.7/32"},
        }
    )
    plan = make_plan(spec, load_catalog(with_host=False))
    layout = lab_layout(plan, load_catalog(with_host=False).of("gcp"))
    assert plan.zone == "us-central1-a" and plan.project == "p"
    for node in layout.nodes:
        request = InstanceRequest(
            name=node.instance,
            zone="us-central1-a",
            machine_type=node.machine_type,
            image="projects/debian-cloud/global/images/debian-13-trixie-v20261120",
            boot_disk_gb=50,
            nics=tuple(
                AttachedNic(
                    network=layout.network(nic.network).name,
                    subnetwork=layout.network(nic.network).name,
                    address=str(nic.address),
                    alias_ranges=tuple(f"{a}/32" for a in nic.alias_addresses),
                    external=nic.external,
                )
                for nic in node.nics
            ),
            can_ip_forward=node.can_ip_forward,
            nested_virtualization=node.nested_virtualization,
            network_tags=node.network_tags,
            metadata={"startup-script": "#!/bin/sh"},
            labels={"stacklab-lab": "lab", "stacklab-node": node.name},
        )
        body = wire(compute_v1.Instance, shapes.instance_request("p", "us-central1", request))
        assert violations(body) == [], node.name
    for rule in layout.firewall_rules:
        body = wire(compute_v1.Firewall, shapes.firewall_request("p", rule))
        assert check_request("POST", f"{ROOT}/global/firewalls", {}, body).violations == []
    for route in layout.routes:
        body = wire(compute_v1.Route, shapes.route_request("p", route))
        assert check_request("POST", f"{ROOT}/global/routes", {}, body).violations == []
    assert IPv4Network(layout.routes[0].destination).prefixlen == 0
