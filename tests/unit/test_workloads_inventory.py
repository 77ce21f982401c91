"""Workload names, finding workloads in server lists, and the inventory as Ansible reads it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacklab.errors import StacklabError
from stacklab.openstack_records import FloatingIpRecord, ServerRecord
from stacklab.workloads.inventory import InventoryFormat, render
from stacklab.workloads.launch import Workload, check_launch_arguments, next_names, workloads_of
from stacklab.workloads.servers import ROLE_KEY, USER_KEY

KEY = Path("/state/labs/v1/ssh/id_ed25519")
WORKLOADS = [
    Workload("vm-1", "id-1", "10.113.2.140", "root", "ACTIVE"),
    Workload("vm-2", "id-2", "10.113.2.141", "debian", "ACTIVE"),
    Workload("vm-3", "id-3", None, "root", "ACTIVE"),  # no floating IP: not reachable
]


def test_names_continue_after_the_highest_number() -> None:
    assert next_names("vm", [], 3) == ["vm-1", "vm-2", "vm-3"]
    existing = ["vm-1", "vm-7", "vm-x", "web-9", "vm-3-old"]
    assert next_names("vm", existing, 2) == ["vm-8", "vm-9"]


@pytest.mark.parametrize(("count", "prefix"), [(0, "vm"), (2, "Bad_Name"), (1, "-vm")])
def test_launch_arguments_are_checked_first(count: int, prefix: str) -> None:
    with pytest.raises(StacklabError):
        check_launch_arguments(count, prefix)


def server(
    server_id: str, name: str, role: str | None, floating: tuple[str, ...] = ()
) -> ServerRecord:
    metadata = {ROLE_KEY: role, USER_KEY: "root"} if role else {}
    return ServerRecord(server_id, name, "ACTIVE", None, metadata, ("192.168.0.5",), floating)


def test_workloads_are_the_servers_launch_marked_with_their_floating_ips() -> None:
    servers = [
        server("b", "vm-2", "workload"),
        server("a", "vm-1", "workload", ("10.113.2.150",)),
        server("c", "stacklab-verify-1", "verify"),
        server("d", "by-hand", None, ("10.113.2.160",)),
    ]
    floating = [
        FloatingIpRecord("f1", "10.113.2.151", "p", "ACTIVE", "stacklab-workload b"),
        FloatingIpRecord("f2", "10.113.2.152", "p", "ACTIVE", "something else"),
    ]
    found = workloads_of(servers, floating)
    assert [(w.name, w.address, w.user) for w in found] == [
        ("vm-1", "10.113.2.150", "root"),  # Nova's addresses when no IP names it
        ("vm-2", "10.113.2.151", "root"),
    ]


def ansible_inventory() -> str | None:
    beside_python = Path(sys.executable).parent / "ansible-inventory"
    return str(beside_python) if beside_python.exists() else shutil.which("ansible-inventory")


def parsed_by_ansible(text: str, suffix: str, tmp_path: Path) -> dict[str, Any]:
    command = ansible_inventory()
    if command is None:
        pytest.skip("ansible-inventory is not installed")
    path = tmp_path / f"inventory.{suffix}"
    path.write_text(text)
    result = subprocess.run(
        [command, "-i", str(path), "--list"], capture_output=True, text=True, check=True
    )
    listed: dict[str, Any] = json.loads(result.stdout)
    return listed


@pytest.mark.parametrize("form", list(InventoryFormat))
def test_ansible_reads_hosts_addresses_users_and_the_key(
    form: InventoryFormat, tmp_path: Path
) -> None:
    listed = parsed_by_ansible(render(WORKLOADS, KEY, form), form.value, tmp_path)
    assert sorted(listed["workloads"]["hosts"]) == ["vm-1", "vm-2"]
    hostvars = listed["_meta"]["hostvars"]
    assert hostvars["vm-1"]["ansible_host"] == "10.113.2.140"
    assert hostvars["vm-2"]["ansible_user"] == "debian"
    assert hostvars["vm-1"]["ansible_ssh_private_key_file"] == str(KEY)
    assert "UserKnownHostsFile=/dev/null" in hostvars["vm-2"]["ansible_ssh_common_args"]


def test_yaml_form_is_plain_yaml_with_the_group() -> None:
    document = yaml.safe_load(render(WORKLOADS, KEY, InventoryFormat.YAML))
    hosts = document["all"]["children"]["workloads"]["hosts"]
    assert hosts["vm-1"] == {"ansible_host": "10.113.2.140", "ansible_user": "root"}


def test_ini_form_has_one_line_per_host() -> None:
    lines = render(WORKLOADS, KEY, InventoryFormat.INI).splitlines()
    assert lines[:3] == [
        "[workloads]",
        "vm-1 ansible_host=10.113.2.140 ansible_user=root",
        "vm-2 ansible_host=10.113.2.141 ansible_user=debian",
    ]
