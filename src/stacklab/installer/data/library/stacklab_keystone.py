"""Ansible module: the Keystone side of a service, find-or-create over the v3 REST API.

Bootstraps Keystone when the admin cannot log in yet, then makes sure projects, users
(with their passwords and roles on a project), services and their endpoints exist.
Uses only the standard library, so it runs with any node's Python 3.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DOCUMENTATION = """
module: stacklab_keystone
short_description: Keystone projects, users, services and endpoints, find-or-create
options:
  auth_url: {type: str, required: true, description: 'e.g. http://10.0.0.9:5000/v3'}
  admin_password: {type: str, required: true, no_log: true}
  region: {type: str, default: RegionOne}
  bootstrap_urls: {type: dict, description: public/internal/admin URLs of Keystone itself}
  projects: {type: list, elements: str, default: []}
  users: {type: list, elements: dict, default: [], description: name, password, project, roles}
  services: {type: list, elements: dict, default: [], description: name, type, endpoints}
  wait_seconds: {type: int, default: 120}
"""

INTERFACES = ("public", "internal", "admin")


class KeystoneError(Exception):
    pass


class Client:
    # A plain class: dataclasses need their module in sys.modules, which AnsiballZ's
    # runpy execution does not promise.
    def __init__(self, auth_url: str) -> None:
        self.auth_url = auth_url
        self.token = ""
        self.changes: list[str] = []

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: bool = True
    ) -> tuple[int, dict[str, Any], str]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.auth_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                subject = response.headers.get("X-Subject-Token", "")
                return response.status, json.loads(text) if text else {}, subject
        except urllib.error.HTTPError as error:
            if error.code in (401, 404):
                return error.code, {}, ""
            detail = error.read().decode(errors="replace")[:300]
            raise KeystoneError(f"{method} {path}: HTTP {error.code} {detail}") from None

    def login(self, user: str, password: str, project: str | None = "admin") -> str | None:
        identity = {
            "methods": ["password"],
            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
        }
        auth: dict[str, Any] = {"identity": identity}
        if project:
            auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        status, _, subject = self.call("POST", "/auth/tokens", {"auth": auth}, token=False)
        return subject if status == 201 else None

    def find(self, collection: str, **query: str) -> dict[str, Any] | None:
        _, found, _ = self.call("GET", f"/{collection}?{urllib.parse.urlencode(query)}")
        items: list[dict[str, Any]] = found.get(collection, [])
        return items[0] if items else None

    def ensure(
        self, collection: str, singular: str, query: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        existing = self.find(collection, **query)
        if existing is not None:
            return existing
        _, created, _ = self.call("POST", f"/{collection}", {singular: body})
        self.changes.append(f"created {singular} {body.get('name', body)}")
        result: dict[str, Any] = created[singular]
        return result


def wait_for_keystone(client: Client, seconds: int) -> None:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            client.call("GET", "/", token=False)
            return
        except (urllib.error.URLError, OSError, KeystoneError) as error:
            last = str(error)
        time.sleep(2)
    raise KeystoneError(f"Keystone at {client.auth_url} did not answer in {seconds} s: {last}")


def bootstrap(password: str, urls: dict[str, str], region: str) -> None:
    environment = dict(os.environ, OS_BOOTSTRAP_PASSWORD=password)
    command = ["keystone-manage", "bootstrap", "--bootstrap-region-id", region]
    for interface in INTERFACES:
        command += [f"--bootstrap-{interface}-url", urls[interface]]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KeystoneError(f"keystone-manage bootstrap failed: {done.stderr.strip()[-500:]}")


def ensure_user(client: Client, spec: dict[str, Any]) -> None:
    name, password = spec["name"], spec["password"]
    user = client.find("users", name=name, domain_id="default")
    if user is None:
        user = client.ensure(
            "users",
            "user",
            {"name": name},
            {"name": name, "password": password, "domain_id": "default"},
        )
    elif client.login(name, password, project=None) is None:
        client.call("PATCH", f"/users/{user['id']}", {"user": {"password": password}})
        client.changes.append(f"password of user {name}")
    project = client.find("projects", name=spec["project"], domain_id="default")
    if project is None:
        raise KeystoneError(f"project {spec['project']} missing")
    for role_name in spec["roles"]:
        role = client.find("roles", name=role_name)
        if role is None:
            raise KeystoneError(f"role {role_name} missing")
        path = f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}"
        status, _, _ = client.call("HEAD", path)
        if status == 404:
            client.call("PUT", path)
            client.changes.append(f"role {role_name} of {name} on {spec['project']}")


def ensure_service(client: Client, spec: dict[str, Any], region: str) -> None:
    service = client.ensure(
        "services",
        "service",
        {"type": spec["type"], "name": spec["name"]},
        {"name": spec["name"], "type": spec["type"], "description": spec.get("description", "")},
    )
    for interface, url in spec["endpoints"].items():
        endpoint = client.find("endpoints", service_id=service["id"], interface=interface)
        if endpoint is None:
            client.ensure(
                "endpoints",
                "endpoint",
                {"service_id": service["id"], "interface": interface},
                {
                    "service_id": service["id"],
                    "interface": interface,
                    "url": url,
                    "region_id": region,
                },
            )
        elif endpoint["url"] != url:
            client.call("PATCH", f"/endpoints/{endpoint['id']}", {"endpoint": {"url": url}})
            client.changes.append(f"{interface} endpoint of {spec['name']}: {url}")


def converge(params: dict[str, Any]) -> list[str]:
    client = Client(params["auth_url"].rstrip("/"))
    wait_for_keystone(client, params["wait_seconds"])
    token = client.login("admin", params["admin_password"])
    if token is None:
        if not params.get("bootstrap_urls"):
            raise KeystoneError("the admin cannot log in, and no bootstrap_urls were given")
        bootstrap(params["admin_password"], params["bootstrap_urls"], params["region"])
        client.changes.append("keystone-manage bootstrap")
        token = client.login("admin", params["admin_password"])
        if token is None:
            raise KeystoneError("the admin cannot log in even after keystone-manage bootstrap")
    client.token = token
    for name in params["projects"]:
        client.ensure(
            "projects",
            "project",
            {"name": name, "domain_id": "default"},
            {"name": name, "domain_id": "default", "description": f"{name} project"},
        )
    for user in params["users"]:
        ensure_user(client, user)
    for service in params["services"]:
        ensure_service(client, service, params["region"])
    return client.changes


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

    module = AnsibleModule(
        argument_spec={
            "auth_url": {"type": "str", "required": True},
            "admin_password": {"type": "str", "required": True, "no_log": True},
            "region": {"type": "str", "default": "RegionOne"},
            "bootstrap_urls": {"type": "dict"},
            "projects": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "dict", "default": [], "no_log": True},
            "services": {"type": "list", "elements": "dict", "default": []},
            "wait_seconds": {"type": "int", "default": 120},
        },
    )
    try:
        changes = converge(module.params)
    except KeystoneError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=bool(changes), changes=changes)


if __name__ == "__main__":
    main()
