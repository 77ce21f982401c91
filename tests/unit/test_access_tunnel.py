"""`stacklab tunnel`: the sshuttle command of seed 000 through the access node, the SSH
forward without sshuttle, none for a local lab; and the CLI over a saved lab."""

from __future__ import annotations

import json
import shlex
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from stacklab.access.cloud_files import ssh_config_text
from stacklab.access.ssh_config_hosts import host_blocks, reported_access
from stacklab.access.tunnel import (
    LabRoute,
    TunnelKind,
    horizon_address,
    lab_routes,
    lab_tunnel,
)
from stacklab.catalog import load_catalog
from stacklab.cli.main import run
from stacklab.config.models import Spec
from stacklab.core.nodes import NodeAccess
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.state.db import StateDB
from stacklab.state.paths import lab_dir

KEY = Path("/labs/l/ssh/id_ed25519")
KNOWN = Path("/labs/l/known_hosts")
ROUTES = (
    LabRoute("management", IPv4Network("10.0.0.0/24")),
    LabRoute("provider", IPv4Network("10.0.2.0/24")),
)
ACCESS = NodeAccess("network", "198.51.100.1", "admin", 22, KEY)


def test_a_local_lab_needs_no_tunnel() -> None:
    tunnel = lab_tunnel("l", "local", ROUTES, None, KNOWN, sshuttle_installed=True)
    assert tunnel.kind is TunnelKind.NONE and not tunnel.needed and tunnel.argv == ()
    assert "no tunnel is needed" in tunnel.hint and "10.0.2.0/24" in tunnel.hint
    assert tunnel.to_dict()["command"] is None


def test_sshuttle_routes_the_lab_networks_through_the_access_node_with_the_lab_key() -> None:
    tunnel = lab_tunnel("l", "aws", ROUTES, ACCESS, KNOWN, sshuttle_installed=True)
    assert tunnel.kind is TunnelKind.SSHUTTLE and tunnel.via == "admin@198.51.100.1"
    argv = list(tunnel.argv)
    assert argv[0] == "sshuttle" and argv[-2:] == ["10.0.0.0/24", "10.0.2.0/24"]
    assert argv[argv.index("-r") + 1] == "admin@198.51.100.1:22"
    assert "-x" not in argv  # the access node's address is outside the routed networks
    ssh = shlex.split(argv[argv.index("--ssh-cmd") + 1])  # as sshuttle splits it
    assert ssh[0] == "ssh" and ssh[ssh.index("-i") + 1] == str(KEY)
    assert f"UserKnownHostsFile={KNOWN}" in ssh and "ServerAliveInterval=30" in ssh
    assert shlex.split(tunnel.command) == argv


def test_a_jump_host_reaches_sshuttle_through_its_ssh_command() -> None:
    behind = NodeAccess("net", "10.9.0.5", "root", 2222, KEY, "root@203.0.113.9")
    tunnel = lab_tunnel("l", "gcp", ROUTES, behind, KNOWN, sshuttle_installed=True)
    ssh = shlex.split(tunnel.argv[tunnel.argv.index("--ssh-cmd") + 1])
    proxy = next(arg for arg in ssh if arg.startswith("ProxyCommand="))
    assert shlex.split(proxy.removeprefix("ProxyCommand="))[-1] == "root@203.0.113.9"
    assert "root@10.9.0.5:2222" in tunnel.argv


def test_an_ssh_host_inside_a_routed_network_is_kept_out_of_its_own_tunnel() -> None:
    inside = NodeAccess("ctl", "10.0.0.10", "root", 22, KEY)
    tunnel = lab_tunnel("l", "ssh", ROUTES, inside, KNOWN, sshuttle_installed=True)
    assert tunnel.argv[tunnel.argv.index("-x") + 1] == "10.0.0.10"


def test_without_sshuttle_an_ssh_forward_with_socks_and_horizon_and_a_hint() -> None:
    tunnel = lab_tunnel(
        "l", "aws", ROUTES, ACCESS, KNOWN, sshuttle_installed=False, horizon="10.0.0.9"
    )
    assert tunnel.kind is TunnelKind.SSH_FORWARD and tunnel.needed
    argv = list(tunnel.argv)
    assert argv[0] == "ssh" and argv[-1] == "admin@198.51.100.1" and "-N" in argv
    assert argv[argv.index("-D") + 1] == "127.0.0.1:1080"
    assert argv[argv.index("-L") + 1] == "127.0.0.1:8080:10.0.0.9:80"
    assert "sshuttle is not installed" in tunnel.hint and "pip install sshuttle" in tunnel.hint
    assert "http://127.0.0.1:8080/horizon/" in tunnel.hint


def test_without_horizon_the_forward_is_socks_only() -> None:
    tunnel = lab_tunnel("l", "aws", ROUTES, ACCESS, KNOWN, sshuttle_installed=False)
    assert "-L" not in tunnel.argv and "Horizon" not in tunnel.hint


def aws_plan() -> dict[str, Any]:
    spec = Spec.model_validate(
        {
            "name": "cl",
            "provider": {"kind": "aws"},
            "topology": {"preset": "multinode"},
            "access": {"admin_cidr": "192.0.2.1/32"},
        }
    )
    return make_plan(spec, load_catalog(with_host=False)).to_dict()


def test_routes_and_horizon_come_from_the_saved_plan() -> None:
    saved = aws_plan()
    cidrs = {n["name"]: n["cidr"] for n in saved["networks"]}
    assert lab_routes(Plan.from_dict(saved)) == (
        LabRoute("management", IPv4Network(cidrs["management"])),
        LabRoute("provider", IPv4Network(cidrs["provider"])),
    )
    management = next(n for n in saved["networks"] if n["name"] == "management")
    controller = next(n for n in saved["nodes"] if n["name"] == saved["controller"])
    expected = management["vip"] or controller["nics"][0]["address"]
    assert horizon_address(Plan.from_dict(saved)) == expected
    assert horizon_address(Plan.from_dict({**saved, "services": []})) is None


def test_where_the_access_step_said_a_node_answers_is_read_back() -> None:
    network = NodeAccess("network", "198.51.100.1", "admin", 22, KEY)
    compute = NodeAccess("compute1", "10.0.0.12", "admin", 2222, KEY, "admin@198.51.100.1")
    config = ssh_config_text("cl", [network, compute], KNOWN)
    assert set(host_blocks(config)) == {"cl-network", "cl-compute1"}
    assert reported_access("network", "cl-network", config) == network
    assert reported_access("compute1", "cl-compute1", config) == compute
    assert reported_access("network", "cl-missing", config) is None
    spaced = NodeAccess("network", "h", "u", 22, Path("/my labs/key"))
    assert reported_access("network", "x-network", ssh_config_text("x", [spaced], KNOWN)) == spaced


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def save_lab(name: str, provider: str, saved_plan: dict[str, Any]) -> None:
    with StateDB() as db:
        db.save_lab(name, provider, None, "hash", saved_plan)


def save_cloud_lab_after_its_access_step() -> None:
    saved = aws_plan()
    save_lab("cl", "aws", saved)
    directory = lab_dir("cl")
    directory.mkdir(parents=True)
    key = directory / "ssh" / "id_ed25519"
    public = NodeAccess(saved["access_node"], "198.51.100.7", "admin", 22, key)
    (directory / "ssh_config").write_text(ssh_config_text("cl", [public], KNOWN))


def test_cli_json_of_a_cloud_lab_uses_the_address_from_its_ssh_config(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    save_cloud_lab_after_its_access_step()
    monkeypatch.setenv("PATH", str(isolated))  # no sshuttle here
    assert run(["tunnel", "cl", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["kind"] == "ssh-forward" and shown["needed"] is True
    assert shown["via"] == "admin@198.51.100.7" and shown["argv"][-1] == "admin@198.51.100.7"
    assert set(shown["networks"]) == {"management", "provider"}


def test_cli_run_executes_the_command_in_the_foreground(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    save_cloud_lab_after_its_access_step()
    (isolated / "sshuttle").write_text("#!/bin/sh\n")
    (isolated / "sshuttle").chmod(0o755)
    monkeypatch.setenv("PATH", str(isolated))
    executed: list[list[str]] = []
    monkeypatch.setattr("os.execvp", lambda program, argv: executed.append(argv))
    assert run(["tunnel", "cl", "--run"]) == 0
    printed = capsys.readouterr()
    assert executed and executed[0][0] == "sshuttle"
    assert shlex.split(printed.out.strip()) == executed[0]
    assert "Ctrl-C" in printed.err


def test_cli_says_a_local_lab_needs_no_tunnel_and_runs_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    local = make_plan(Spec(name="lo"), load_catalog(with_host=False)).to_dict()
    save_lab("lo", "local", local)
    executed: list[list[str]] = []
    monkeypatch.setattr("os.execvp", lambda program, argv: executed.append(argv))
    assert run(["tunnel", "lo", "--run"]) == 0
    assert "no tunnel is needed" in capsys.readouterr().out and executed == []


def test_cli_of_a_cloud_lab_before_its_access_step_says_to_run_up(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_lab("cl", "aws", aws_plan())
    assert run(["tunnel", "cl"]) == 8
    error = capsys.readouterr().err
    assert "no SSH address of its node" in error and "stacklab up" in error


def test_cli_of_an_unknown_lab_is_a_state_error(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["tunnel", "nope"]) == 8
    assert "stacklab list" in capsys.readouterr().err
