"""A local stand-in for the Compute API (v1), for exactly the calls the GCP provider makes,
spoken over HTTP as Google's REST endpoint speaks it, so the real client library talks to it.

Every request is first checked against the published discovery document
(`compute_discovery`); a violation is recorded (tests assert there are none) and answered
with 400, as Google would. The stand-in keeps GCP's rules that the provider depends on:
names unique per scope, a NIC per distinct network, addresses inside their subnetwork and
free, the boot image existing, nothing deleted while something uses it. Inserts, deletes,
starts and stops answer with an operation that is RUNNING until it is waited on.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv4Network
from typing import Any
from urllib.parse import parse_qs, urlsplit

from compute_discovery import check_request

BASE = "https://www.googleapis.com/compute/v1/"
PUBLIC_ADDRESSES = (f"203.0.113.{host}" for host in itertools.count(10))

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


@dataclass
class Injected:
    """Make the nth call of a method fail in its operation (the way GCP reports most
    failures: the insert is accepted, its operation ends DONE with an error)."""

    method: str
    nth: int
    code: str
    calls: int = 0


@dataclass
class ComputeStandIn:
    project: str = "stacklab-test"
    violations: list[str] = field(default_factory=list)
    calls: list[tuple[str, Json | None]] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)  # the Authorization headers seen
    resources: dict[str, dict[str, Json]] = field(default_factory=dict)
    operations: dict[str, Json] = field(default_factory=dict)
    injected: list[Injected] = field(default_factory=list)
    stuck: set[str] = field(default_factory=set)  # methods whose operations never finish
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)  # method -> status, reason
    # operation name -> the change it makes once waited on, and the failure injected into it
    pending: dict[str, tuple[Callable[[], None], str | None, str]] = field(default_factory=dict)
    clock: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 12, tzinfo=UTC))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    # what tests set up and read

    def add_public_image(self, project: str, family: str, name: str, created: str) -> Json:
        image = {
            "kind": "compute#image",
            "id": str(next(self._ids)),
            "name": name,
            "family": family,
            "status": "READY",
            "creationTimestamp": created,
            "selfLink": f"{BASE}projects/{project}/global/images/{name}",
        }
        self._store("images", f"{project}/{name}", image)
        return image

    def fail(self, method: str, nth: int, code: str) -> None:
        self.injected.append(Injected(method, nth, code))

    def items(self, collection: str) -> list[Json]:
        with self._lock:
            return [dict(item) for item in self.resources.get(collection, {}).values()]

    def called(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    def _store(self, collection: str, key: str, item: Json) -> None:
        self.resources.setdefault(collection, {})[key] = item

    # HTTP

    @contextmanager
    def serving(self) -> Iterator[str]:
        """The endpoint (http://127.0.0.1:PORT) while the server runs."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()

    def answer(self, verb: str, url: str, body: Json | None) -> tuple[int, Json]:
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        checked = check_request(verb, parts.path, query, body)
        with self._lock:
            self.calls.append((checked.method or f"{verb} {parts.path}", body))
            if checked.violations:
                self.violations += checked.violations
                return _error(ApiError(400, "invalid", "; ".join(checked.violations)))
            assert checked.method is not None
            handler = HANDLERS.get(checked.method)
            if handler is None:
                self.violations.append(f"{checked.method}: the stand-in does not serve it")
                return _error(ApiError(501, "notImplemented", checked.method))
            if checked.method in self.refused:
                status, reason = self.refused[checked.method]
                return _error(ApiError(status, reason, f"{checked.method} refused (injected)"))
            params = {**checked.path_parameters, **{k: v[0] for k, v in query.items()}}
            try:
                return 200, handler(self, params, body or {})
            except ApiError as error:
                return _error(error)

    # operations

    def _operation(
        self, kind: str, target: str, scope: Json, apply: Callable[[], None], method: str
    ) -> Json:
        """The change is made once its operation is waited on, unless a failure is injected."""
        name = f"operation-{next(self._ids)}"
        where = (
            f"zones/{scope['zone']}"
            if "zone" in scope
            else f"regions/{scope['region']}"
            if "region" in scope
            else "global"
        )
        operation: Json = {
            "kind": "compute#operation",
            "id": str(next(self._ids)),
            "name": name,
            "operationType": kind,
            "targetLink": target,
            "status": "RUNNING",
            "selfLink": f"{BASE}projects/{self.project}/{where}/operations/{name}",
        }
        if "zone" in scope:
            operation["zone"] = f"{BASE}projects/{self.project}/zones/{scope['zone']}"
        if "region" in scope:
            operation["region"] = f"{BASE}projects/{self.project}/regions/{scope['region']}"
        failure = self._injected(method)
        self.operations[name] = operation
        self.pending[name] = (apply, failure, method)
        return operation

    def _injected(self, method: str) -> str | None:
        for injected in self.injected:
            if injected.method == method:
                injected.calls += 1
                if injected.calls == injected.nth:
                    return injected.code
        return None

    def _finish(self, name: str) -> Json:
        operation = self.operations.get(name)
        if operation is None:
            raise ApiError(404, "notFound", f"operation {name} not found")
        if operation["status"] != "DONE":
            if self.pending[name][2] in self.stuck:
                return operation  # as GCP's wait does after 2 minutes: still running
            apply, failure, _ = self.pending.pop(name)
            if failure is not None:
                operation["error"] = {"errors": [{"code": failure, "message": "injected"}]}
                operation["httpErrorStatusCode"] = 503
            else:
                try:
                    apply()
                except ApiError as error:
                    operation["error"] = {
                        "errors": [{"code": error.reason, "message": error.message}]
                    }
                    operation["httpErrorStatusCode"] = error.status
            operation["status"] = "DONE"
        return operation

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.isoformat()


def _error(error: ApiError) -> tuple[int, Json]:
    return error.status, {
        "error": {
            "code": error.status,
            "message": error.message,
            "errors": [{"reason": error.reason, "message": error.message, "domain": "global"}],
        }
    }


def _handler(standin: ComputeStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            standin.authorizations.add(self.headers.get("Authorization", ""))
            status, answer = standin.answer(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# resources


def _link(project: str, *parts: str) -> str:
    return f"{BASE}projects/{project}/" + "/".join(parts)


def _name_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


_LABEL_TERM = re.compile(r'^labels\.([a-z][a-z0-9_-]*)\s*=\s*"([^"]*)"$')


def _matches(item: Json, expression: str | None) -> bool:
    """The filters the provider sends: `labels.K = "V"`, and such terms joined by AND."""
    if not expression:
        return True
    terms = re.split(r"\)\s+AND\s+\(", expression.strip())
    for term in terms:
        match = _LABEL_TERM.match(term.strip("() "))
        if match is None:
            raise ApiError(400, "invalid", f"the stand-in cannot read the filter {expression!r}")
        if item.get("labels", {}).get(match[1]) != match[2]:
            return False
    return True


def _listing(
    standin: ComputeStandIn, collection: str, kind: str, keep: Callable[[Json], bool], params: Json
) -> Json:
    items = [item for item in standin.resources.get(collection, {}).values() if keep(item)]
    items = [item for item in items if _matches(item, params.get("filter"))]
    return {"kind": kind, "items": sorted(items, key=lambda item: item["name"])}


def _new(standin: ComputeStandIn, collection: str, key: str, what: str) -> None:
    if key in standin.resources.get(collection, {}):
        raise ApiError(409, "alreadyExists", f"The resource '{what}' already exists")


def _existing(standin: ComputeStandIn, collection: str, key: str, what: str) -> Json:
    found = standin.resources.get(collection, {}).get(key)
    if found is None:
        raise ApiError(404, "notFound", f"The resource '{what}' was not found")
    return found


def _in_use(what: str, users: list[str]) -> ApiError:
    return ApiError(
        400,
        "resourceInUseByAnotherResource",
        f"The {what} resource is already being used by '{users[0]}'",
    )


def _network_key(standin: ComputeStandIn, link: str) -> str:
    return f"{standin.project}/{_name_of(link)}"


# networks


def networks_insert(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    name = body["name"]
    key = f"{params['project']}/{name}"
    _new(standin, "networks", key, f"projects/{params['project']}/global/networks/{name}")
    if body.get("autoCreateSubnetworks", True):
        raise ApiError(400, "invalid", "the provider wants a custom-mode network")
    mtu = body.get("mtu", 1460)
    if not 1300 <= mtu <= 8896:
        raise ApiError(400, "invalid", f"Invalid value for field 'resource.mtu': '{mtu}'")
    link = _link(params["project"], "global", "networks", name)

    def apply() -> None:
        standin._store(
            "networks",
            key,
            {
                **body,
                "kind": "compute#network",
                "id": str(next(standin._ids)),
                "mtu": mtu,
                "selfLink": link,
                "creationTimestamp": standin._tick(),
            },
        )

    return standin._operation("insert", link, {}, apply, "compute.networks.insert")


def networks_list(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    return _listing(standin, "networks", "compute#networkList", lambda item: True, params)


def networks_delete(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    key = f"{params['project']}/{params['network']}"
    network = _existing(standin, "networks", key, params["network"])
    users = [
        item["selfLink"]
        for collection in ("subnetworks", "firewalls", "routes")
        for item in standin.resources.get(collection, {}).values()
        if item.get("network") == network["selfLink"]
    ]
    if users:
        raise _in_use(f"network '{params['network']}'", users)

    def apply() -> None:
        standin.resources["networks"].pop(key, None)

    return standin._operation("delete", network["selfLink"], {}, apply, "compute.networks.delete")


def _network_link(standin: ComputeStandIn, partial: str) -> str:
    network = _existing(standin, "networks", _network_key(standin, partial), partial)
    link: str = network["selfLink"]
    return link


# subnetworks


def subnetworks_insert(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    region, name = params["region"], body["name"]
    key = f"{region}/{name}"
    _new(standin, "subnetworks", key, name)
    network = _network_link(standin, body["network"])
    cidr = IPv4Network(body["ipCidrRange"])
    for other in standin.resources.get("subnetworks", {}).values():
        if other["network"] == network and IPv4Network(other["ipCidrRange"]).overlaps(cidr):
            raise ApiError(400, "invalid", f"{cidr} overlaps {other['name']}")
    link = _link(params["project"], "regions", region, "subnetworks", name)

    def apply() -> None:
        standin._store(
            "subnetworks",
            key,
            {
                **body,
                "kind": "compute#subnetwork",
                "network": network,
                "selfLink": link,
                "region": _link(params["project"], "regions", region),
                "gatewayAddress": str(cidr[1]),
                "creationTimestamp": standin._tick(),
            },
        )

    return standin._operation(
        "insert", link, {"region": region}, apply, "compute.subnetworks.insert"
    )


def subnetworks_list(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    return _listing(
        standin,
        "subnetworks",
        "compute#subnetworkList",
        lambda item: _name_of(item["region"]) == params["region"],
        params,
    )


def subnetworks_delete(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    key = f"{params['region']}/{params['subnetwork']}"
    subnet = _existing(standin, "subnetworks", key, params["subnetwork"])
    users = [
        instance["selfLink"]
        for instance in standin.resources.get("instances", {}).values()
        for nic in instance["networkInterfaces"]
        if nic["subnetwork"] == subnet["selfLink"]
    ]
    if users:
        raise _in_use(f"subnetwork '{params['subnetwork']}'", users)

    def apply() -> None:
        standin.resources["subnetworks"].pop(key, None)

    return standin._operation(
        "delete",
        subnet["selfLink"],
        {"region": params["region"]},
        apply,
        "compute.subnetworks.delete",
    )


# firewall rules and routes (global, on a network)


def _global_insert(collection: str, kind: str) -> Callable[[ComputeStandIn, Json, Json], Json]:
    def insert(standin: ComputeStandIn, params: Json, body: Json) -> Json:
        name = body["name"]
        _new(standin, collection, name, name)
        network = _network_link(standin, body["network"])
        link = _link(params["project"], "global", collection, name)

        def apply() -> None:
            standin._store(
                collection,
                name,
                {
                    **body,
                    "kind": kind,
                    "network": network,
                    "selfLink": link,
                    "creationTimestamp": standin._tick(),
                },
            )

        return standin._operation("insert", link, {}, apply, f"compute.{collection}.insert")

    return insert


def _global_delete(collection: str, parameter: str) -> Callable[[ComputeStandIn, Json, Json], Json]:
    def delete(standin: ComputeStandIn, params: Json, body: Json) -> Json:
        item = _existing(standin, collection, params[parameter], params[parameter])

        def apply() -> None:
            standin.resources[collection].pop(params[parameter], None)

        return standin._operation(
            "delete", item["selfLink"], {}, apply, f"compute.{collection}.delete"
        )

    return delete


def _global_list(collection: str, kind: str) -> Callable[[ComputeStandIn, Json, Json], Json]:
    def listing(standin: ComputeStandIn, params: Json, body: Json) -> Json:
        return _listing(standin, collection, kind, lambda item: True, params)

    return listing


def firewalls_patch(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    rule = _existing(standin, "firewalls", params["firewall"], params["firewall"])

    def apply() -> None:
        rule.update({key: value for key, value in body.items() if key != "network"})

    return standin._operation("patch", rule["selfLink"], {}, apply, "compute.firewalls.patch")


# instances and disks


def _region_of(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


def instances_insert(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    project, zone, name = params["project"], params["zone"], body["name"]
    key = f"{zone}/{name}"
    _new(standin, "instances", key, name)
    if not body["machineType"].startswith(f"zones/{zone}/machineTypes/"):
        raise ApiError(400, "invalid", f"machine type {body['machineType']} is not of {zone}")
    link = _link(project, "zones", zone, "instances", name)
    nics = [
        _attach(standin, zone, nic, index) for index, nic in enumerate(body["networkInterfaces"])
    ]
    networks = [nic["network"] for nic in nics]
    if len(set(networks)) != len(networks):
        raise ApiError(400, "invalid", "every network interface must be in a different network")
    disks = [disk for disk in body["disks"] if disk.get("boot")]
    if len(disks) != 1 or "initializeParams" not in disks[0]:
        raise ApiError(400, "invalid", "one boot disk, made from an image")
    params_of_disk = disks[0]["initializeParams"]
    image = _image_by_link(standin, params_of_disk["sourceImage"])
    disk_link = _link(project, "zones", zone, "disks", name)

    def apply() -> None:
        now = standin._tick()
        standin._store(
            "disks",
            key,
            {
                "kind": "compute#disk",
                "name": name,
                "zone": _link(project, "zones", zone),
                "status": "READY",
                "sizeGb": str(params_of_disk.get("diskSizeGb", "10")),
                "sourceImage": image["selfLink"],
                "labels": params_of_disk.get("labels", {}),
                "users": [link],
                "selfLink": disk_link,
                "creationTimestamp": now,
            },
        )
        standin._store(
            "instances",
            key,
            {
                **body,
                "kind": "compute#instance",
                "id": str(next(standin._ids)),
                "zone": _link(project, "zones", zone),
                "status": "RUNNING",
                "machineType": _link(project, body["machineType"]),
                "networkInterfaces": nics,
                "disks": [
                    {
                        "boot": True,
                        "autoDelete": disks[0].get("autoDelete", True),
                        "source": disk_link,
                        "deviceName": "persistent-disk-0",
                    }
                ],
                "selfLink": link,
                "creationTimestamp": now,
                "lastStartTimestamp": now,
            },
        )

    return standin._operation("insert", link, {"zone": zone}, apply, "compute.instances.insert")


def _attach(standin: ComputeStandIn, zone: str, nic: Json, index: int) -> Json:
    network = _network_link(standin, nic["network"])
    subnet_key = f"{_region_of(zone)}/{_name_of(nic['subnetwork'])}"
    subnet = _existing(standin, "subnetworks", subnet_key, nic["subnetwork"])
    if subnet["network"] != network:
        raise ApiError(400, "invalid", f"{nic['subnetwork']} is not in {nic['network']}")
    cidr = IPv4Network(subnet["ipCidrRange"])
    address = IPv4Address(nic["networkIP"])
    reserved = {cidr[0], cidr[1], cidr[-2], cidr[-1]}
    if address not in cidr or address in reserved:
        raise ApiError(400, "invalid", f"{address} is not a usable address of {cidr}")
    taken = {
        other["networkIP"]
        for instance in standin.resources.get("instances", {}).values()
        for other in instance["networkInterfaces"]
        if other["subnetwork"] == subnet["selfLink"]
    }
    if str(address) in taken:
        raise ApiError(400, "invalid", f"IP address {address} is already being used")
    for alias in nic.get("aliasIpRanges", []):
        if not IPv4Network(alias["ipCidrRange"]).subnet_of(cidr):
            raise ApiError(400, "invalid", f"alias {alias['ipCidrRange']} is outside {cidr}")
    attached = {**nic, "network": network, "subnetwork": subnet["selfLink"], "name": f"nic{index}"}
    if nic.get("accessConfigs"):
        attached["accessConfigs"] = [
            {**config, "natIP": next(PUBLIC_ADDRESSES)} for config in nic["accessConfigs"]
        ]
    return attached


def instances_list(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    return _listing(
        standin,
        "instances",
        "compute#instanceList",
        lambda item: _name_of(item["zone"]) == params["zone"],
        params,
    )


def instances_delete(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    key = f"{params['zone']}/{params['instance']}"
    instance = _existing(standin, "instances", key, params["instance"])

    def apply() -> None:
        standin.resources["instances"].pop(key, None)
        for attached in instance["disks"]:
            disk = standin.resources["disks"].get(
                f"{params['zone']}/{_name_of(attached['source'])}"
            )
            if disk is None:
                continue
            disk["users"] = [user for user in disk["users"] if user != instance["selfLink"]]
            if attached.get("autoDelete"):
                standin.resources["disks"].pop(f"{params['zone']}/{disk['name']}", None)

    return standin._operation(
        "delete", instance["selfLink"], {"zone": params["zone"]}, apply, "compute.instances.delete"
    )


def _power(status: str, method: str) -> Callable[[ComputeStandIn, Json, Json], Json]:
    def change(standin: ComputeStandIn, params: Json, body: Json) -> Json:
        key = f"{params['zone']}/{params['instance']}"
        instance = _existing(standin, "instances", key, params["instance"])

        def apply() -> None:
            instance["status"] = status
            if status == "RUNNING":
                instance["lastStartTimestamp"] = standin._tick()
                for nic in instance["networkInterfaces"]:  # a new ephemeral address
                    for config in nic.get("accessConfigs", []):
                        config["natIP"] = next(PUBLIC_ADDRESSES)

        return standin._operation(
            method.rsplit(".", 1)[1], instance["selfLink"], {"zone": params["zone"]}, apply, method
        )

    return change


def disks_list(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    return _listing(
        standin,
        "disks",
        "compute#diskList",
        lambda item: _name_of(item["zone"]) == params["zone"],
        params,
    )


def disks_delete(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    key = f"{params['zone']}/{params['disk']}"
    disk = _existing(standin, "disks", key, params["disk"])
    if disk["users"]:
        raise _in_use(f"disk '{params['disk']}'", disk["users"])

    def apply() -> None:
        standin.resources["disks"].pop(key, None)

    return standin._operation(
        "delete", disk["selfLink"], {"zone": params["zone"]}, apply, "compute.disks.delete"
    )


# images


def _image_by_link(standin: ComputeStandIn, link: str) -> Json:
    match = re.search(r"projects/([^/]+)/global/images/([^/]+)$", link)
    if match is None:
        raise ApiError(400, "invalid", f"{link} names no image")
    return _existing(standin, "images", f"{match[1]}/{match[2]}", link)


def images_get_from_family(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    family = [
        image
        for key, image in standin.resources.get("images", {}).items()
        if key.startswith(f"{params['project']}/") and image.get("family") == params["family"]
    ]
    if not family:
        raise ApiError(404, "notFound", f"The resource 'family/{params['family']}' was not found")
    return max(family, key=lambda image: image["creationTimestamp"])


def images_get(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    key = f"{params['project']}/{params['image']}"
    return _existing(standin, "images", key, params["image"])


def images_list(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    return _listing(
        standin,
        "images",
        "compute#imageList",
        lambda item: f"/projects/{params['project']}/" in item["selfLink"],
        params,
    )


def images_insert(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    project, name = params["project"], body["name"]
    key = f"{project}/{name}"
    _new(standin, "images", key, name)
    match = re.search(r"zones/([^/]+)/disks/([^/]+)$", body["sourceDisk"])
    if match is None:
        raise ApiError(400, "invalid", f"{body['sourceDisk']} names no disk")
    disk = _existing(standin, "disks", f"{match[1]}/{match[2]}", body["sourceDisk"])
    running = [
        user
        for user in disk["users"]
        if standin.resources["instances"].get(f"{match[1]}/{_name_of(user)}", {}).get("status")
        == "RUNNING"
    ]
    if running and params.get("forceCreate") != "true":
        raise ApiError(
            400,
            "resourceInUseByAnotherResource",
            f"The disk resource is already being used by '{running[0]}'",
        )
    link = _link(project, "global", "images", name)

    def apply() -> None:
        standin._store(
            "images",
            key,
            {
                **body,
                "kind": "compute#image",
                "sourceDisk": disk["selfLink"],
                "status": "READY",
                "selfLink": link,
                "creationTimestamp": standin._tick(),
            },
        )

    return standin._operation("insert", link, {}, apply, "compute.images.insert")


def images_delete(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    key = f"{params['project']}/{params['image']}"
    image = _existing(standin, "images", key, params["image"])

    def apply() -> None:
        standin.resources["images"].pop(key, None)

    return standin._operation("delete", image["selfLink"], {}, apply, "compute.images.delete")


def operations_wait(standin: ComputeStandIn, params: Json, body: Json) -> Json:
    return standin._finish(params["operation"])


HANDLERS: dict[str, Callable[[ComputeStandIn, Json, Json], Json]] = {
    "compute.networks.insert": networks_insert,
    "compute.networks.list": networks_list,
    "compute.networks.delete": networks_delete,
    "compute.subnetworks.insert": subnetworks_insert,
    "compute.subnetworks.list": subnetworks_list,
    "compute.subnetworks.delete": subnetworks_delete,
    "compute.firewalls.insert": _global_insert("firewalls", "compute#firewall"),
    "compute.firewalls.list": _global_list("firewalls", "compute#firewallList"),
    "compute.firewalls.patch": firewalls_patch,
    "compute.firewalls.delete": _global_delete("firewalls", "firewall"),
    "compute.routes.insert": _global_insert("routes", "compute#route"),
    "compute.routes.list": _global_list("routes", "compute#routeList"),
    "compute.routes.delete": _global_delete("routes", "route"),
    "compute.instances.insert": instances_insert,
    "compute.instances.list": instances_list,
    "compute.instances.delete": instances_delete,
    "compute.instances.start": _power("RUNNING", "compute.instances.start"),
    "compute.instances.stop": _power("TERMINATED", "compute.instances.stop"),
    "compute.disks.list": disks_list,
    "compute.disks.delete": disks_delete,
    "compute.images.getFromFamily": images_get_from_family,
    "compute.images.get": images_get,
    "compute.images.list": images_list,
    "compute.images.insert": images_insert,
    "compute.images.delete": images_delete,
    "compute.zoneOperations.wait": operations_wait,
    "compute.regionOperations.wait": operations_wait,
    "compute.globalOperations.wait": operations_wait,
}
