"""The ansible-runner adapter, with real ansible-playbook runs on this machine (connection
local): progress, stats, idempotence, errors, and no secret in the artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.core.nodes import NodeAccess
from stacklab.installer.ansible import (
    PLAYBOOK,
    PlaybookRun,
    PlaybookStats,
    ansible_environment,
    ansible_playbook,
    run_playbook,
)
from stacklab.installer.failures import InstallError
from stacklab.installer.inventory import build_inventory, extra_vars
from stacklab.installer.phases import PHASES
from stacklab.installer.proxy import proxy_vars
from stacklab.plan.planner import plan
from stacklab.state.secrets import SecretStore

LOCAL_INVENTORY = {
    "all": {
        "hosts": {
            "local": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        }
    }
}

PLAYBOOK_TEXT = """
- name: Adapter test
  hosts: all
  gather_facts: false
  vars:
    secrets: "{{ lookup('ansible.builtin.file', secrets_file) | from_json }}"
  tasks:
    - name: Write a file
      ansible.builtin.copy:
        dest: "{{ work }}/plain.txt"
        content: "plain\\n"
        mode: "0600"
    - name: Write the password
      ansible.builtin.copy:
        dest: "{{ work }}/secret.txt"
        content: "{{ secrets.admin_password }}"
        mode: "0600"
      no_log: true
    - name: Echo the password
      ansible.builtin.command:
        argv: [echo, "{{ secrets.admin_password }}"]
      changed_when: false
      no_log: true
    - name: Break on purpose
      ansible.builtin.shell: "echo starting; echo it broke >&2; exit 3"
      when: break_it | default(false)
"""


@pytest.fixture
def lab(tmp_path: Path) -> tuple[Path, Path, SecretStore]:
    playbook = tmp_path / "test.yml"
    playbook.write_text(PLAYBOOK_TEXT)
    store = SecretStore("lab", tmp_path / "lab")
    store.get("admin_password")
    return playbook, tmp_path / "lab" / "ansible", store


def run(
    lab: tuple[Path, Path, SecretStore], messages: list[str], **variables: object
) -> PlaybookStats:
    playbook, private, store = lab
    work = private.parent / "work"
    work.mkdir(exist_ok=True)
    request = PlaybookRun(
        private_dir=private,
        inventory=LOCAL_INVENTORY,
        extra_vars={"secrets_file": str(store.path), "work": str(work), **variables},
        tags=("all",),
        step="test",
        playbook=playbook,
        timeout_s=120,
    )
    return run_playbook(request, messages.append)


def test_run_reports_tasks_and_a_second_run_changes_nothing(
    lab: tuple[Path, Path, SecretStore],
) -> None:
    messages: list[str] = []
    first = run(lab, messages)
    assert first.changed == 2
    assert first.changed_tasks == ("local: Write a file", "local: Write the password")
    assert "test: Write a file" in messages and "test: Echo the password" in messages
    assert first.log.exists() and "Write the password" in first.log.read_text()
    second = run(lab, [])
    assert second.changed == 0 and second.changed_tasks == ()


def test_no_secret_lands_in_the_artifacts(lab: tuple[Path, Path, SecretStore]) -> None:
    _, private, store = lab
    run(lab, [])
    with pytest.raises(InstallError):
        run(lab, [], break_it=True)
    password = store.get("admin_password")
    assert (private.parent / "work" / "secret.txt").read_text() == password
    leaks = [
        path
        for path in private.rglob("*")
        if path.is_file() and password in path.read_text(errors="replace")
    ]
    assert leaks == []


def test_a_failed_task_raises_with_node_task_output_and_log(
    lab: tuple[Path, Path, SecretStore],
) -> None:
    with pytest.raises(InstallError) as raised:
        run(lab, [], break_it=True)
    error = raised.value
    assert error.failure.node == "local"
    assert error.failure.task == "Break on purpose"
    assert "it broke" in error.failure.output
    assert error.log.exists() and "Break on purpose" in error.log.read_text()
    shown = error.render()
    assert "it broke" in shown and str(error.log) in shown


def test_site_playbook_lists_each_phases_tasks(tmp_path: Path) -> None:
    services = {"cinder": True, "octavia": True}
    spec = Spec.model_validate({"name": "lab", "services": services})
    lab_plan = plan(spec, load_catalog(with_host=False))
    nodes = tuple(
        NodeAccess(n.name, str(n.management_address), "root", 22, tmp_path / "key")
        for n in lab_plan.nodes
    )
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps(build_inventory(lab_plan, nodes)))
    variables = tmp_path / "vars.json"
    proxy = proxy_vars(lab_plan, nodes, tmp_path)
    variables.write_text(json.dumps({**extra_vars(lab_plan, tmp_path / "secrets.json"), **proxy}))
    environment = ansible_environment(tmp_path, tmp_path)
    listed = {}
    for phase in PHASES:
        done = subprocess.run(
            [
                ansible_playbook(),
                "--list-tasks",
                "--tags",
                phase,
                "-i",
                str(inventory),
                "-e",
                f"@{variables}",
                str(PLAYBOOK),
            ],
            env={**environment, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        listed[phase] = done.stdout
    assert "Install what is missing" in listed["packages"]
    # Listed everywhere, run only where the plan has a router node (lab_router not null).
    assert "The masquerade is loaded" in listed["packages"]
    assert "The default route goes through the router node" in listed["packages"]
    assert "Map the compute nodes to cell1" in listed["compute"]
    assert "The OSD on a file" in listed["block-storage"]
    assert "libvirt holds Ceph's key for Cinder's volumes" in listed["compute"]
    assert "Octavia's user, service and endpoints" in listed["load-balancer"]
    assert "Map the compute nodes to cell1" not in listed["image"]
    assert "Wait for every network agent to report alive" in listed["network"]
    assert "Horizon answers" in listed["dashboard"]
    assert "Keystone answers through the proxy" in listed["proxy"]
    assert "through the proxy" not in listed["dashboard"]
    assert "through the proxy" not in listed["network"]
