import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacklab.catalog import load_catalog
from stacklab.cli.main import run
from stacklab.doctor.ovs_datapath import HOST_KEY, save_datapath
from stacklab.errors import SpecError, StepError
from stacklab.plan.models import DatapathChoice, DatapathKind


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_init_multinode_gcp_then_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    init = ["init", "--preset", "multinode", "--provider", "gcp", "--name", "g1"]
    assert run([*init, "--admin-cidr", "198.51.100.7/32"]) == 0
    capsys.readouterr()
    assert run(["plan", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["format"] == "stacklab.plan/v1"
    assert len(planned["nodes"]) == 5
    overlay = next(n for n in planned["networks"] if n["name"] == "overlay")
    assert overlay["mtu"] == 1460 and planned["tenant_mtu"] == 1402
    assert planned["cost"]["usd_per_hour"] > 0


def test_plan_of_default_local_aio_shows_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init"]) == 0
    assert run(["plan"]) == 0
    shown = capsys.readouterr().out
    for expected in ("Networks", "Nodes", "aio", "management", "Steps of `up`", "qemu"):
        assert expected in shown


def test_plan_of_a_gcp_multinode_lab_shows_mtus_nested_kvm_and_the_cost(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    Path("stacklab.yaml").write_text(
        "name: g1\nprovider: {kind: gcp, project: p1, region: europe-west1,"
        " machine_types: {compute: n2-standard-4, storage: e2-standard-2}}\n"
        "topology: {preset: multinode}\naccess: {admin_cidr: 203.0.113.7/32}\n"
    )
    assert run(["plan"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "tenant MTU 1402 (overlay MTU - 58 bytes of Geneve" in shown
    assert shown.count("│ 1460 │") == 4, "every lab network at GCP's MTU"
    assert "in europe-west1-b (project p1)" in shown
    assert shown.count("kvm: n2-standard-4: nested KVM") == 2
    prices = {
        name: machine.price.usd_per_hour
        for name, machine in load_catalog(with_host=False).of("gcp").machine_types.items()
        if machine.price
    }
    hourly = 4 * prices["n2-standard-4"] + prices["e2-standard-2"]
    assert f"Cost: ${hourly:.2f}/hour" in shown
    assert "Google Compute Engine on-demand list price" in shown and "2026-11-21" in shown


def test_plan_of_a_gcp_lab_on_e2_says_qemu_per_node_and_why_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    Path("stacklab.yaml").write_text(
        "name: g1\nprovider: {kind: gcp, project: p1, region: europe-west1,"
        " machine_types: {compute: e2-standard-4}}\n"
        "topology: {preset: multinode}\naccess: {admin_cidr: 203.0.113.7/32}\n"
    )
    assert run(["plan"]) == 0
    shown = capsys.readouterr().out
    reasons = [line for line in shown.splitlines() if "qemu: e2-standard-4:" in line]
    assert len(reasons) == 2, "one per compute node"
    for line in reasons:
        assert "no nested virtualization on E2" in line
        assert line.count("TCG") == 1, line


@pytest.mark.parametrize(
    ("fabric", "networks"),
    [
        ("gcp", "a network of its own per NIC, routed to none of the others"),
        ("aws", "a routed subnet per network"),
    ],
)
def test_plan_of_an_emulated_fabric_says_how_its_networks_are_joined(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fabric: str, networks: str
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    Path("stacklab.yaml").write_text(
        f"name: f1\nprovider: {{kind: local, fabric: {fabric}}}\n"
        "topology: {preset: multinode}\naccess: {admin_cidr: 192.0.2.7/32}\n"
    )
    assert run(["plan"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert f"Fabric: {fabric}, emulated on this host: {networks}," in shown


def test_plan_of_an_ovn_lab_shows_geneve_and_the_datapath_from_the_host_probe(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("stacklab.yaml").write_text("name: ovn\nos: debian-13\n")
    assert run(["plan"]) == 0
    unprobed = capsys.readouterr().out
    assert "tenant MTU 1442" in unprobed and "58 bytes of Geneve" in unprobed
    assert "not asked yet" in unprobed and "Datapath cost (userspace)" in unprobed
    probed = DatapathChoice.of(DatapathKind.KERNEL, "the kernel answered for ovs_datapath")
    save_datapath(HOST_KEY, probed, platform.release())
    assert run(["plan", "--json"]) == 0
    (node,) = json.loads(capsys.readouterr().out)["nodes"]
    assert node["datapath"] == {"kind": "kernel", "reason": probed.reason, "cost": probed.cost}


def test_plan_of_an_aws_multinode_lab_shows_its_router_and_open_ports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    init = ["init", "--preset", "multinode", "--provider", "aws", "--name", "a1"]
    assert run([*init, "--admin-cidr", "198.51.100.7/32"]) == 0
    assert "admin_cidr: 198.51.100.7/32" in Path("stacklab.yaml").read_text()
    capsys.readouterr()
    assert run(["plan"]) == 0
    shown = " ".join(capsys.readouterr().out.replace("\u2502", " ").split())  # table rules
    gateway = api_plan()["router"]["gateway"]
    assert "network is the lab's router and gateway" in shown
    assert f"default route goes through {gateway}" in shown
    for port in ("22/tcp", "443/tcp"):
        assert f"{port} 198.51.100.7/32 network" in shown


def api_plan() -> dict[str, Any]:
    from stacklab import api

    return api.plan_file(Path("stacklab.yaml")).to_dict()


def test_init_refuses_to_overwrite(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init"]) == 0
    assert run(["init"]) == 1
    assert "--force" in capsys.readouterr().err
    assert run(["init", "--force", "--name", "other"]) == 0
    assert "name: other" in Path("stacklab.yaml").read_text()


def test_bad_spec_exits_2_with_field_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    Path("bad.yaml").write_text("name: x\nhypervizor: kvm\n")
    assert run(["plan", "-f", "bad.yaml"]) == 2
    error = capsys.readouterr().err
    assert "bad.yaml:2" in error and "hypervizor" in error and "did you mean `hypervisor`" in error
    assert "Traceback" not in error


def test_traceback_flag_lets_the_error_through() -> None:
    Path("bad.yaml").write_text("name: x\nhypervizor: kvm\n")
    with pytest.raises(SpecError):
        run(["--traceback", "plan", "-f", "bad.yaml"])


def test_json_errors_are_json(capsys: pytest.CaptureFixture[str]) -> None:
    Path("bad.yaml").write_text("name: x\nhypervisor: kvmm\n")
    assert run(["plan", "--json", "-f", "bad.yaml"]) == 2
    report = json.loads(capsys.readouterr().err)["error"]
    assert report["kind"] == "SpecError"
    assert report["problems"][0]["field"] == "hypervisor"
    assert report["problems"][0]["line"] == 2


def test_missing_spec_file_says_how_to_make_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["plan"]) == 2
    assert "stacklab init" in capsys.readouterr().err


def test_schema_is_json_schema_of_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"name", "provider", "topology", "networks"} <= set(schema["properties"])


def test_up_on_gcp_without_a_project_names_the_field_and_makes_nothing(
    capsys: pytest.CaptureFixture[str], isolated: Path
) -> None:
    run(["init", "--provider", "gcp", "--name", "g1", "--admin-cidr", "203.0.113.7/32"])
    capsys.readouterr()
    assert run(["up"]) == 6  # the preflight step refuses it, before any call to GCP
    error = capsys.readouterr().err
    assert "Step 'preflight' failed" in error and "nothing was created" in error
    assert "provider.project" in error and "Traceback" not in error
    assert "gcloud config get-value project" in error


def test_up_until_unknown_step_lists_the_steps(capsys: pytest.CaptureFixture[str]) -> None:
    run(["init"])
    capsys.readouterr()
    assert run(["up", "--until", "bogus"]) == 1
    error = capsys.readouterr().err
    assert "preflight" in error and "verify" in error


def test_list_without_labs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(["list"]) == 0
    assert "No labs" in capsys.readouterr().out


def test_no_color_means_no_colour_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("bad.yaml").write_text("name: x\nhypervisor: kvmm\n")
    monkeypatch.setenv("FORCE_COLOR", "1")
    run(["plan", "-f", "bad.yaml"])
    assert "31m" in capsys.readouterr().err  # red when colour is forced
    monkeypatch.setenv("NO_COLOR", "1")
    run(["plan", "-f", "bad.yaml"])
    coloured = capsys.readouterr().err
    assert "31m" not in coloured and "error:" in coloured


def test_installed_command_prints_help_and_no_traceback(tmp_path: Path) -> None:
    stacklab = Path(sys.executable).with_name("stacklab")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "s")}
    shown = subprocess.run([stacklab, "--help"], capture_output=True, text=True, env=env)
    assert shown.returncode == 0 and "stacklab init" in shown.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: 9lives\n")
    failed = subprocess.run([stacklab, "plan", "-f", bad], capture_output=True, text=True, env=env)
    assert failed.returncode == 2
    assert "name" in failed.stderr and "Fix:" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_bare_exception_in_a_step_ends_on_one_screen_and_the_next_up_resumes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    from stacklab.providers.ssh.provider import SshProvider
    from stacklab.state.db import StateDB

    def broken_check(self: SshProvider, plan: object) -> None:
        raise KeyError("a bug in a step")

    run(["init", "--provider", "ssh", "--name", "lockx"])
    monkeypatch.setattr(SshProvider, "check", broken_check)
    # The bug is meant for the preflight step: no survey of the hosts' datapath before it.
    monkeypatch.setattr("stacklab.orchestration.up.datapaths_unprobed", lambda spec: False)
    capsys.readouterr()
    assert run(["up", "--until", "preflight"]) == 6
    error = capsys.readouterr().err
    assert "Step 'preflight' failed" in error and "Unexpected KeyError" in error
    assert "a bug in a step" in error and "resumes at this step" in error
    assert "Traceback" not in error
    log = next((isolated / "state" / "stacklab" / "labs" / "lockx" / "logs").iterdir())
    assert log.name.startswith("preflight-") and "Traceback" in log.read_text()
    assert str(log) in error.replace("\n", "")
    database = StateDB(isolated / "state" / "stacklab" / "state.db")
    try:
        assert [(e.step, e.status) for e in database.journal("lockx")] == [("preflight", "failed")]
    finally:
        database.close()
    with pytest.raises(StepError) as shown:  # the stack, down to the KeyError
        run(["--traceback", "up", "--until", "preflight"])
    assert isinstance(shown.value.__cause__, KeyError)
    monkeypatch.setattr(SshProvider, "check", lambda self, plan: None)
    assert run(["up", "--until", "preflight"]) == 0
