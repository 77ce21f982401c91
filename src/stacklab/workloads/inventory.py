"""`stacklab inventory`: an Ansible inventory of the lab's workload servers, in YAML or INI
(the hosts.yaml of seed 000, for Kubernetes or DC/OS on top). Rendering is pure."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from stacklab.labcloud.credentials import lab_private_key
from stacklab.workloads.launch import Workload, list_workloads

GROUP = "workloads"
# Every instance makes a new host key and floating IPs are reused, so host keys of
# workloads are not pinned (as the installer does for nodes).
SSH_COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


class InventoryFormat(StrEnum):
    YAML = "yaml"
    INI = "ini"


def _reachable(workloads: Sequence[Workload]) -> list[Workload]:
    return [w for w in workloads if w.address is not None]


def _group_vars(private_key: Path) -> dict[str, str]:
    return {
        "ansible_ssh_private_key_file": str(private_key),
        "ansible_ssh_common_args": SSH_COMMON_ARGS,
    }


def inventory_document(workloads: Sequence[Workload], private_key: Path) -> dict[str, Any]:
    hosts = {
        w.name: {"ansible_host": w.address, "ansible_user": w.user} for w in _reachable(workloads)
    }
    return {"all": {"children": {GROUP: {"hosts": hosts, "vars": _group_vars(private_key)}}}}


def render_yaml(workloads: Sequence[Workload], private_key: Path) -> str:
    document = inventory_document(workloads, private_key)
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def render_ini(workloads: Sequence[Workload], private_key: Path) -> str:
    lines = [f"[{GROUP}]"]
    lines += [
        f"{w.name} ansible_host={w.address} ansible_user={w.user}" for w in _reachable(workloads)
    ]
    lines += ["", f"[{GROUP}:vars]"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in _group_vars(private_key).items()]
    return "\n".join(lines) + "\n"


def render(workloads: Sequence[Workload], private_key: Path, form: InventoryFormat) -> str:
    if form is InventoryFormat.INI:
        return render_ini(workloads, private_key)
    return render_yaml(workloads, private_key)


def lab_inventory(lab: str, lab_directory: Path, form: InventoryFormat) -> str:
    """The inventory text of the lab's workloads as the cloud lists them now."""
    return render(list_workloads(lab, lab_directory), lab_private_key(lab_directory), form)
