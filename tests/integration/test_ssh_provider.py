"""The ssh provider on real hosts: two nodes of a local lab stand in for machines that
already exist. A second lab, on the ssh provider, checks them, marks them, finds them, is
refused by a third lab, and goes away with only its marker. Root; about a minute."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacklab import api
from stacklab.config.models import NetworkName
from stacklab.config.models import SshProvider as SshSettings
from stacklab.core.ssh import known_hosts_path, ssh_argv
from stacklab.errors import HostError
from stacklab.plan.models import Plan
from stacklab.providers.local.naming import NODE_INTERFACES
from stacklab.providers.ssh import SshProvider
from stacklab.state.paths import lab_dir

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("systemd-nspawn") is None,
        reason="the hosts are local nodes: root and systemd-nspawn",
    ),
]

HOSTS_LAB = "sshl"  # the local lab whose nodes are the "existing" hosts
LAB = "sshh"
OTHER_LAB = "sshtwo"
LOCAL_SPEC = f"""\
name: {HOSTS_LAB}
topology:
  nodes:
    - {{name: ctl, roles: [controller, network]}}
    - {{name: cmp, roles: [compute]}}
"""


def cli(*argv: str) -> tuple[int, str]:
    """Run stacklab as a user would, in a child process: its exit code and both outputs
    with the lines joined (the console wraps them)."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("stacklab")), *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def on_host(node: str, command: str) -> str:
    """A command on one of the local lab's nodes, as that lab reaches it."""
    access = api.node_access(HOSTS_LAB, node)
    argv = ssh_argv(access, known_hosts_path(lab_dir(HOSTS_LAB)), [command])
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


def ssh_spec(name: str, hosts_plan: Plan, key: Path, **changes: dict[str, str]) -> str:
    """An ssh lab on the local lab's nodes: same CIDRs (so the same planned addresses), the
    nodes' management addresses, the local lab's key and its interface names."""
    hosts = []
    for node in hosts_plan.nodes:
        host: dict[str, Any] = {
            "name": node.name,
            "address": str(node.management_address),
            "private_key": str(key),
            "interfaces": {nic.network.value: NODE_INTERFACES[nic.network] for nic in node.nics},
        }
        for field, value in changes.get(node.name, {}).items():
            if field.startswith("interfaces."):
                host["interfaces"][field.split(".", 1)[1]] = value
            else:
                host[field] = value
        hosts.append(host)
    spec = {
        "name": name,
        "provider": {"kind": "ssh", "hosts": hosts},
        "topology": {
            "nodes": [
                {"name": node.name, "roles": [role.value for role in node.roles]}
                for node in hosts_plan.nodes
            ]
        },
        "networks": {
            network.name.value: {"cidr": str(network.cidr)} for network in hosts_plan.networks
        },
    }
    return yaml.safe_dump(spec, sort_keys=False)


def checked(spec_text: str, path: Path) -> None:
    path.write_text(spec_text)
    loaded = api.load(path)
    assert isinstance(loaded.spec.provider, SshSettings)
    SshProvider.from_settings(loaded.spec.provider).check(api.plan_of(loaded))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "local.yaml").write_text(LOCAL_SPEC)
    yield tmp_path
    for lab in (OTHER_LAB, LAB, HOSTS_LAB):  # even when the test failed
        cli("down", lab)


def test_ssh_lab_on_existing_hosts(home: Path) -> None:
    assert cli("up", "-f", "local.yaml", "--until", "nodes")[0] == 0
    hosts_plan = api.plan_file(home / "local.yaml")
    key = lab_dir(HOSTS_LAB) / "ssh" / "id_ed25519"
    cmp_overlay = hosts_plan.node("cmp").nic(NetworkName.OVERLAY)
    assert cmp_overlay is not None
    # An address the ssh lab must put in place itself, and take away again with it.
    on_host("cmp", f"ip addr del {cmp_overlay.with_prefix} dev overlay0")

    checked(ssh_spec(LAB, hosts_plan, key), home / "ssh.yaml")

    wrong_key = home / "wrong_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True
    )
    bad = ssh_spec(
        LAB,
        hosts_plan,
        key,
        ctl={"interfaces.uplink": "eth9"},
        cmp={"address": str(hosts_plan.network(NetworkName.MANAGEMENT).cidr[99])},
    )
    with pytest.raises(HostError) as refused:
        checked(bad, home / "bad.yaml")
    said = " ".join(refused.value.render().split())
    assert "2 problems" in said and "nothing was changed" in said
    assert "no interface eth9 for the uplink network" in said
    assert "does not answer SSH" in said and ".99:22" in said
    with pytest.raises(HostError) as denied:
        checked(ssh_spec(LAB, hosts_plan, wrong_key), home / "bad.yaml")
    assert "does not accept the key" in denied.value.render()
    assert on_host("ctl", "ls /etc/stacklab 2>/dev/null; true") == ""  # nothing marked

    code, said = cli("up", "-f", "ssh.yaml", "--until", "nodes")
    assert code == 0, said
    for node in ("ctl", "cmp"):
        assert f"lab={LAB}\nnode={node}\n" in on_host(node, "cat /etc/stacklab/lab")
    assert f"inet {cmp_overlay.with_prefix}" in on_host("cmp", "ip -4 -o addr show dev overlay0")
    assert cli("up", "-f", "ssh.yaml", "--until", "nodes")[0] == 0  # again: nothing new

    code, shown = cli("status", LAB, "--json")
    found = {r["id"]: r["state"] for r in json.loads(shown)["resources"]}
    assert found == {"ctl": "marked", "cmp": "marked"}
    assert cli("ssh", "--lab", LAB, "cmp", "--", "true")[0] == 0

    (home / "two.yaml").write_text(ssh_spec(OTHER_LAB, hosts_plan, key))
    code, said = cli("up", "-f", "two.yaml", "--until", "nodes")
    assert code == 6 and f"belongs to the lab {LAB}" in said
    assert cli("down", OTHER_LAB)[0] == 0  # finds none of the hosts its own

    (home / "ssh.yaml").unlink()  # down finds the hosts the nodes step recorded
    code, said = cli("down", LAB)
    assert code == 0 and "OpenStack stays installed" in said
    for node in ("ctl", "cmp"):
        assert on_host(node, "ls /etc/stacklab 2>/dev/null; true") == ""
    assert on_host("cmp", "ip -4 -o addr show dev overlay0").strip() == ""
    assert "inet" in on_host("ctl", "ip -4 -o addr show dev overlay0")  # never ours
    code, shown = cli("list", "--json")
    assert [lab["lab"] for lab in json.loads(shown)] == [HOSTS_LAB]
