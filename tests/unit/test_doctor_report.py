"""The report's verdict and JSON, the requirement estimates, and the engine's check order."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import stacklab.doctor.engine as engine
from stacklab.config.models import Role
from stacklab.doctor import (
    CheckResult,
    DoctorReport,
    Requirements,
    Status,
    requirements_for,
    run_doctor,
)
from stacklab.doctor.kvm_probe import HypervisorProbe
from stacklab.plan.models import USERSPACE_DATAPATH_COST, DatapathChoice, DatapathKind
from stacklab.runner import LocalRunner, Runner

AIO = [["controller", "network", "compute"]]
MULTINODE = [["controller"], ["network"], ["compute"], ["compute"], ["storage"]]


def report(*statuses: Status) -> DoctorReport:
    checks = tuple(CheckResult(f"c{i}", s, f"summary {i}") for i, s in enumerate(statuses))
    return DoctorReport(checks, "qemu", "because")


def test_ok_means_no_failure_warnings_allowed() -> None:
    assert report(Status.PASS, Status.WARN).ok
    assert not report(Status.PASS, Status.FAIL, Status.WARN).ok


def test_json_shape_is_stable() -> None:
    datapath = DatapathChoice.of(DatapathKind.USERSPACE, "no module")
    data = replace(report(Status.PASS, Status.FAIL), datapath=datapath).to_dict()
    assert json.loads(json.dumps(data)) == {
        "format": "stacklab.doctor/v1",
        "ok": False,
        "hypervisor": "qemu",
        "hypervisor_reason": "because",
        "datapath": {"kind": "userspace", "reason": "no module", "cost": USERSPACE_DATAPATH_COST},
        "checks": [
            {"name": "c0", "status": "pass", "summary": "summary 0", "fix": None},
            {"name": "c1", "status": "fail", "summary": "summary 1", "fix": None},
        ],
    }


def test_aio_estimate_covers_what_the_field_notes_measured_plus_images() -> None:
    aio = requirements_for(AIO, "trixie")
    measured_memory_gib, measured_disk_gib = 3.3e9 / 2**30, 3.0e9 / 2**30
    assert measured_memory_gib < aio.memory_gib < measured_memory_gib * 1.3
    assert measured_disk_gib + 1.5 <= aio.disk_gib < (measured_disk_gib + 1.5) * 1.3
    assert aio.release == "trixie"


def test_split_roles_cost_more_than_one_node_and_roles_may_be_enums() -> None:
    aio = requirements_for(AIO, "bookworm")
    multinode = requirements_for(MULTINODE, "bookworm")
    assert multinode.memory_gib > aio.memory_gib
    assert multinode.disk_gib > aio.disk_gib
    as_enums = [[Role(role) for role in roles] for roles in MULTINODE]
    assert requirements_for(as_enums, "bookworm") == multinode


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(ValueError, match="frontend"):
        requirements_for([["controller", "frontend"]], "trixie")


def test_engine_runs_checks_in_order_and_reports_each_as_it_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def one(name: str, status: Status = Status.PASS) -> CheckResult:
        return CheckResult(name, status, name)

    asked: dict[str, object] = {}

    def probe(runner: Runner, *, qemu_installed: bool) -> HypervisorProbe:
        asked["qemu_installed"] = qemu_installed
        return HypervisorProbe("qemu", "no kvm", (one("kvm", Status.WARN), one("qemu")), None)

    tools = [one("tool: ip"), one("tool: qemu-system-x86_64", Status.FAIL)]
    monkeypatch.setattr(engine, "check_root", lambda: one("root"))
    monkeypatch.setattr(engine, "check_tools", lambda: tools)
    monkeypatch.setattr(engine, "check_kernel_networking", lambda runner: [one("network: netns")])
    datapath = DatapathChoice.of(DatapathKind.KERNEL, "module loaded")
    monkeypatch.setattr(engine, "probe_host_datapath", lambda runner: datapath)
    monkeypatch.setattr(engine, "check_cgroup_v2", lambda: one("cgroup v2", Status.WARN))
    monkeypatch.setattr(engine, "available_memory_gib", lambda: 1.0)
    monkeypatch.setattr(engine, "free_disk_gib", lambda path: 100.0)
    monkeypatch.setattr(engine, "check_debian_mirror", lambda requirements: one("debian mirror"))
    monkeypatch.setattr(engine, "probe_hypervisor", probe)
    monkeypatch.setattr(engine, "cache_dir", lambda: Path("/nonexistent/stacklab"))
    seen: list[str] = []

    result = run_doctor(
        Requirements(memory_gib=3.5, disk_gib=4.6),
        runner=LocalRunner(),
        on_check=lambda check: seen.append(check.name),
    )

    names = [check.name for check in result.checks]
    assert (
        names
        == seen
        == [
            "root",
            "tool: ip",
            "tool: qemu-system-x86_64",
            "network: netns",
            "ovs datapath",
            "cgroup v2",
            "memory",
            "disk",
            "debian mirror",
            "kvm",
            "qemu",
        ]
    )
    assert asked == {"qemu_installed": False}
    assert not result.ok  # qemu missing and 1 GiB of memory for 3.5
    assert (result.hypervisor, result.hypervisor_reason) == ("qemu", "no kvm")
    assert result.datapath == datapath
