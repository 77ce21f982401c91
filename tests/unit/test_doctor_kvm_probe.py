"""KVM or QEMU from the outcome of the probe boots, and the cached host facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacklab.doctor.guest_boot import BootOutcome, qemu_command
from stacklab.doctor.kvm_probe import decide, load_host_facts, probe_hypervisor
from stacklab.doctor.models import Status
from stacklab.doctor.probe_guest import ProbeGuest
from stacklab.errors import CommandError
from stacklab.runner import LocalRunner, Runner

GUEST = ProbeGuest(Path("/cache/vmlinuz"), Path("/cache/initramfs.cpio"), "linux-image-x")


def booted(accelerator: str, seconds: float = 5.0) -> BootOutcome:
    return BootOutcome(accelerator, True, seconds, False, "")


def hung(accelerator: str) -> BootOutcome:
    return BootOutcome(accelerator, False, 15.0, True, "no output on the serial console")


def crashed(accelerator: str) -> BootOutcome:
    return BootOutcome(accelerator, False, 0.1, False, "error: failed to set MSR; qemu died")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def kvm_device(tmp_path: Path) -> Path:
    device = tmp_path / "kvm"
    device.touch()
    return device


def test_a_guest_booting_under_kvm_means_kvm(kvm_device: Path, tmp_path: Path) -> None:
    probe = decide(kvm_device, booted("kvm", 1.2), None, tmp_path)
    assert probe.hypervisor == "kvm"
    assert "1.2 s" in probe.reason
    assert probe.facts is not None and probe.facts.kvm_usable
    assert [c.status for c in probe.checks] == [Status.PASS, Status.PASS]


@pytest.mark.parametrize("kvm_outcome", [hung("kvm"), crashed("kvm")])
def test_present_dev_kvm_that_fails_the_probe_means_qemu(
    kvm_device: Path, tmp_path: Path, kvm_outcome: BootOutcome
) -> None:
    probe = decide(kvm_device, kvm_outcome, booted("tcg", 5.5), tmp_path)
    assert probe.hypervisor == "qemu"
    assert f"{kvm_device} is present" in probe.reason
    assert "nested virtualization does not work here" in probe.reason
    assert "5.5 s" in probe.reason
    assert probe.facts is not None and not probe.facts.kvm_usable
    kvm, qemu = probe.checks
    assert (kvm.name, kvm.status, qemu.status) == ("kvm", Status.WARN, Status.PASS)


def test_hang_reason_says_the_timeout(kvm_device: Path, tmp_path: Path) -> None:
    probe = decide(kvm_device, hung("kvm"), booted("tcg"), tmp_path)
    assert "did not boot under KVM within 15 s" in probe.reason


def test_no_permission_on_dev_kvm_is_not_blamed_on_nesting(
    kvm_device: Path, tmp_path: Path
) -> None:
    denied = BootOutcome(
        "kvm", False, 0.1, False, "Could not access KVM kernel module: Permission denied"
    )
    probe = decide(kvm_device, denied, booted("tcg"), tmp_path)
    assert probe.hypervisor == "qemu"
    assert "kvm group" in probe.reason and "nested" not in probe.reason


def test_no_dev_kvm_means_qemu_without_trying_kvm(tmp_path: Path) -> None:
    probe = decide(tmp_path / "absent", None, booted("tcg"), tmp_path)
    assert probe.hypervisor == "qemu"
    assert "does not exist" in probe.reason


def test_qemu_failing_too_means_none_and_a_failed_check(kvm_device: Path, tmp_path: Path) -> None:
    probe = decide(kvm_device, hung("kvm"), hung("tcg"), tmp_path)
    assert probe.hypervisor == "none"
    assert probe.checks[1].status is Status.FAIL
    assert probe.checks[1].fix and str(tmp_path) in probe.checks[1].fix


def test_probe_boots_tcg_only_after_kvm_failed_and_caches_the_facts(kvm_device: Path) -> None:
    boots: list[str] = []

    def boot(guest: ProbeGuest, accelerator: str, timeout: float, log_dir: Path) -> BootOutcome:
        boots.append(accelerator)
        return hung(accelerator) if accelerator == "kvm" else booted(accelerator)

    assert load_host_facts() is None
    probe = probe_hypervisor(
        LocalRunner(),
        qemu_installed=True,
        kvm_device=kvm_device,
        build_guest=lambda runner: GUEST,
        boot=boot,
    )

    assert boots == ["kvm", "tcg"]
    assert probe.hypervisor == "qemu"
    facts = load_host_facts()
    assert facts is not None and facts == probe.facts and not facts.kvm_usable


def test_working_kvm_needs_no_tcg_boot(kvm_device: Path) -> None:
    boots: list[str] = []

    def boot(guest: ProbeGuest, accelerator: str, timeout: float, log_dir: Path) -> BootOutcome:
        boots.append(accelerator)
        return booted(accelerator)

    probe = probe_hypervisor(
        LocalRunner(),
        qemu_installed=True,
        kvm_device=kvm_device,
        build_guest=lambda r: GUEST,
        boot=boot,
    )
    assert (boots, probe.hypervisor) == (["kvm"], "kvm")


def test_without_qemu_or_a_guest_nothing_is_booted_nor_cached(kvm_device: Path) -> None:
    def boot(guest: ProbeGuest, accelerator: str, timeout: float, log_dir: Path) -> BootOutcome:
        raise AssertionError("must not boot")

    def no_guest(runner: Runner) -> ProbeGuest:
        raise CommandError(["apt-get", "download"], 100, "E: Failed to fetch")

    no_qemu = probe_hypervisor(LocalRunner(), qemu_installed=False, boot=boot)
    no_build = probe_hypervisor(
        LocalRunner(), qemu_installed=True, kvm_device=kvm_device, build_guest=no_guest, boot=boot
    )

    assert (no_qemu.hypervisor, no_build.hypervisor) == ("none", "none")
    assert no_qemu.checks[1].fix == "apt-get install qemu-system-x86"
    assert "could not be built" in no_build.reason
    assert load_host_facts() is None


def test_unreadable_host_facts_are_none(private_cache: Path) -> None:
    path = private_cache / "cache" / "stacklab" / "host-facts.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"kvm_usable": true}')
    assert load_host_facts() is None


def test_kvm_boot_uses_the_host_cpu_and_both_boots_are_bounded(tmp_path: Path) -> None:
    kvm = qemu_command(GUEST, "kvm", tmp_path / "serial.log")
    tcg = qemu_command(GUEST, "tcg", tmp_path / "serial.log")
    assert kvm[1:5] == ["-accel", "kvm", "-cpu", "host"]
    assert tcg[1:3] == ["-accel", "tcg"] and "host" not in tcg
    for command in (kvm, tcg):
        assert "-no-reboot" in command
        assert "console=ttyS0 panic=-1" in command
        assert f"file:{tmp_path / 'serial.log'}" in command
