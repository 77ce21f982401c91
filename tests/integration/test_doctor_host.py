"""The real doctor on this host: real namespaces, real apt, real qemu. Needs root."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stacklab.doctor import DoctorReport, Status, load_host_facts, requirements_for, run_doctor
from stacklab.doctor.guest_boot import BootOutcome, boot_guest
from stacklab.doctor.kvm_probe import probe_hypervisor
from stacklab.doctor.network import NAMESPACE_PREFIX
from stacklab.doctor.ovs_datapath import GENL_FAMILY_PROBE, load_host_datapath, read_kernel_facts
from stacklab.doctor.probe_guest import ProbeGuest, ensure_probe_guest, probe_directory
from stacklab.plan.models import DatapathKind
from stacklab.runner import LocalRunner

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the doctor's real checks need root"),
]
EXPECTED_CHECKS = [
    "root",
    "tool: systemd-nspawn",
    "tool: debootstrap",
    "tool: nft",
    "tool: ip",
    "tool: qemu-system-x86_64",
    "network: netns",
    "network: bridge",
    "network: veth",
    "network: vxlan",
    "network: nat",
    "ovs datapath",
    "cgroup v2",
    "memory",
    "disk",
    "debian mirror",
    "kvm",
    "qemu",
]


@pytest.fixture(scope="module")
def doctor_run() -> tuple[DoctorReport, list[str], float]:
    seen: list[str] = []
    started = time.monotonic()
    report = run_doctor(
        requirements_for([["controller", "network", "compute"]], "trixie"),
        on_check=lambda check: seen.append(check.name),
    )
    return report, seen, time.monotonic() - started


def test_every_check_ran_in_order_with_a_status(
    doctor_run: tuple[DoctorReport, list[str], float],
) -> None:
    report, seen, _ = doctor_run
    assert [check.name for check in report.checks] == seen == EXPECTED_CHECKS
    for check in report.checks:
        assert isinstance(check.status, Status) and check.summary
        assert check.status is Status.PASS or check.fix, f"{check.name} has no fix"


def test_the_datapath_check_says_what_this_kernel_answered_and_caches_it(
    doctor_run: tuple[DoctorReport, list[str], float],
) -> None:
    report, _, _ = doctor_run
    assert report.datapath is not None
    check = next(check for check in report.checks if check.name == "ovs datapath")
    assert report.datapath.reason in check.summary and report.datapath.cost in check.summary
    facts = read_kernel_facts(LocalRunner())
    assert facts is not None and facts.kernel == platform.release()
    # Asked, not guessed: the kernel answered yes or no (a loaded module registers the family).
    assert facts.genl_family is Path("/sys/module/openvswitch").exists()
    expected = DatapathKind.KERNEL if facts.genl_family else DatapathKind.USERSPACE
    assert report.datapath.kind is expected
    assert load_host_datapath() == report.datapath


def test_the_generic_netlink_question_tells_a_present_family_from_a_missing_one() -> None:
    def answer(family: str) -> str:
        script = GENL_FAMILY_PROBE.replace("ovs_datapath", family)
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert answer("nlctrl") == "genl-family yes"  # the controller itself: every kernel has it
    assert answer("no_such_family") == "genl-family no"


def test_the_doctors_network_namespaces_are_gone(
    doctor_run: tuple[DoctorReport, list[str], float],
) -> None:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert f"{NAMESPACE_PREFIX}{os.getpid()}" not in listing.stdout


def test_the_probe_names_a_hypervisor_with_its_reason_and_caches_it(
    doctor_run: tuple[DoctorReport, list[str], float],
) -> None:
    report, _, _ = doctor_run
    assert report.hypervisor in {"kvm", "qemu"}
    assert report.hypervisor_reason
    facts = load_host_facts()
    assert facts is not None and facts.reason
    assert facts.kvm_usable is (report.hypervisor == "kvm")
    probed_at = datetime.fromisoformat(facts.probed_at)
    assert datetime.now(UTC) - probed_at < timedelta(minutes=5)


def test_a_dev_kvm_that_fails_the_probe_means_qemu_on_this_host(
    doctor_run: tuple[DoctorReport, list[str], float],
) -> None:
    report, _, _ = doctor_run
    facts = load_host_facts()
    assert facts is not None
    if not (Path("/dev/kvm").exists() and not facts.kvm_usable):
        pytest.skip("this host has no /dev/kvm, or KVM works here")
    assert report.hypervisor == "qemu"
    assert "/dev/kvm is present" in report.hypervisor_reason
    kvm = next(check for check in report.checks if check.name == "kvm")
    assert kvm.status is Status.WARN


def test_a_kvm_probe_failure_falls_back_to_a_real_qemu_boot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever KVM does here: present /dev/kvm, make its boot fail, and QEMU TCG must answer."""
    real_probe_dir = probe_directory()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # keep the real facts intact
    fake_kvm_device = tmp_path / "kvm"
    fake_kvm_device.touch()

    def kvm_never_boots(
        guest: ProbeGuest, accelerator: str, timeout: float, log_dir: Path
    ) -> BootOutcome:
        return boot_guest(guest, accelerator, 0.01 if accelerator == "kvm" else timeout, log_dir)

    probe = probe_hypervisor(
        LocalRunner(),
        qemu_installed=True,
        kvm_device=fake_kvm_device,
        build_guest=lambda runner: ensure_probe_guest(runner, real_probe_dir),
        boot=kvm_never_boots,
        log_dir=tmp_path,
    )
    assert probe.hypervisor == "qemu", probe.reason
    assert f"{fake_kvm_device} is present" in probe.reason
    assert "PROBE-OK" in (tmp_path / "boot-tcg.log").read_text()
    facts = load_host_facts()
    assert facts is not None and not facts.kvm_usable


def test_a_run_with_the_probe_guest_cached_takes_under_a_minute(
    doctor_run: tuple[DoctorReport, list[str], float],
) -> None:
    started = time.monotonic()
    second = run_doctor(requirements_for([["controller", "network", "compute"]], "trixie"))
    seconds = time.monotonic() - started
    assert seconds < 60, f"the cached doctor took {seconds:.0f} s"
    assert second.hypervisor == doctor_run[0].hypervisor
