"""KVM or QEMU: decided by booting a probe guest, never by the mere presence of /dev/kvm.

On public-cloud VMs /dev/kvm often exists while nested guests hang or crash; only a
guest that boots under KVM proves it works. The outcome is cached for the planner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacklab.doctor.guest_boot import BootOutcome, boot_guest
from stacklab.doctor.models import CheckResult, HostFacts, Status
from stacklab.doctor.probe_guest import ProbeGuest, ensure_probe_guest, probe_directory
from stacklab.errors import StacklabError
from stacklab.runner import Runner
from stacklab.state.paths import cache_dir

KVM_TIMEOUT_S = 15.0
TCG_TIMEOUT_S = 60.0
KVM_DEVICE = Path("/dev/kvm")
FIX_NO_KVM = (
    "nothing needed: guests run under QEMU TCG, about 10x slower; for KVM use bare metal "
    "or a VM type with nested virtualization"
)

BootGuest = Callable[[ProbeGuest, str, float, Path], BootOutcome]


@dataclass(frozen=True)
class HypervisorProbe:
    hypervisor: str  # "kvm", "qemu" or "none"
    reason: str
    checks: tuple[CheckResult, ...]
    facts: HostFacts | None  # None when KVM could not be tried (no guest, no qemu)


def host_facts_path() -> Path:
    return cache_dir() / "host-facts.json"


def load_host_facts() -> HostFacts | None:
    """The outcome of the last KVM probe, or None if there was none (or it is unreadable)."""
    try:
        raw = json.loads(host_facts_path().read_text())
        return HostFacts(
            kvm_usable=bool(raw["kvm_usable"]),
            reason=str(raw["reason"]),
            probed_at=str(raw["probed_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_host_facts(facts: HostFacts) -> None:
    path = host_facts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(facts.to_dict(), indent=2) + "\n")
    partial.replace(path)


def probe_hypervisor(
    runner: Runner,
    *,
    qemu_installed: bool,
    kvm_device: Path = KVM_DEVICE,
    build_guest: Callable[[Runner], ProbeGuest] = ensure_probe_guest,
    boot: BootGuest = boot_guest,
    log_dir: Path | None = None,
) -> HypervisorProbe:
    if not qemu_installed:
        return _without_guest(
            "qemu-system-x86_64 is not installed", "apt-get install qemu-system-x86"
        )
    try:
        guest = build_guest(runner)
    except (StacklabError, OSError) as error:
        message = error.message if isinstance(error, StacklabError) else str(error)
        return _without_guest(
            f"the probe guest could not be built: {message}",
            "check that this host's apt can download linux-image-amd64 and busybox-static",
        )
    log_dir = log_dir or probe_directory()
    kvm = boot(guest, "kvm", KVM_TIMEOUT_S, log_dir) if kvm_device.exists() else None
    tcg = None if kvm is not None and kvm.booted else boot(guest, "tcg", TCG_TIMEOUT_S, log_dir)
    probe = decide(kvm_device, kvm, tcg, log_dir)
    if probe.facts is not None:
        save_host_facts(probe.facts)
    return probe


def decide(
    kvm_device: Path, kvm: BootOutcome | None, tcg: BootOutcome | None, log_dir: Path
) -> HypervisorProbe:
    """The hypervisor and its reason from the two boots (kvm is None without /dev/kvm)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if kvm is not None and kvm.booted:
        reason = f"a probe guest booted under KVM in {kvm.seconds:.1f} s"
        checks = (
            CheckResult("kvm", Status.PASS, reason),
            CheckResult("qemu", Status.PASS, "QEMU works (it ran the KVM probe guest)"),
        )
        return HypervisorProbe("kvm", reason, checks, HostFacts(True, reason, now))
    kvm_reason = _why_not_kvm(kvm_device, kvm)
    kvm_check = CheckResult("kvm", Status.WARN, kvm_reason, FIX_NO_KVM)
    facts = HostFacts(False, kvm_reason, now)
    if tcg is not None and tcg.booted:
        reason = (
            f"{kvm_reason}; guests run under QEMU TCG (software emulation, about 10x slower; "
            f"the probe guest booted in {tcg.seconds:.1f} s)"
        )
        qemu_check = CheckResult(
            "qemu", Status.PASS, f"a probe guest booted under QEMU TCG in {tcg.seconds:.1f} s"
        )
        return HypervisorProbe("qemu", reason, (kvm_check, qemu_check), facts)
    detail = _failure(tcg, TCG_TIMEOUT_S) if tcg is not None else "it was not tried"
    reason = f"{kvm_reason}; and QEMU TCG did not boot a probe guest either: {detail}"
    qemu_check = CheckResult(
        "qemu",
        Status.FAIL,
        f"QEMU TCG did not boot a probe guest: {detail}",
        f"apt-get install --reinstall qemu-system-x86; the guest's console is in {log_dir}",
    )
    return HypervisorProbe("none", reason, (kvm_check, qemu_check), facts)


def _why_not_kvm(kvm_device: Path, kvm: BootOutcome | None) -> str:
    if kvm is None:
        return (
            f"{kvm_device} does not exist: no hardware virtualization here (a VM without "
            "nested virtualization, or the kvm module is not loaded)"
        )
    if kvm.timed_out:
        return (
            f"{kvm_device} is present but a probe guest did not boot under KVM within "
            f"{KVM_TIMEOUT_S:.0f} s: nested virtualization does not work here"
        )
    if "Permission denied" in kvm.detail:
        return (
            f"{kvm_device} is present but qemu may not open it ({kvm.detail}): "
            "run as root or as a member of the kvm group"
        )
    return (
        f"{kvm_device} is present but a probe guest could not run under KVM "
        f"({kvm.detail}): nested virtualization does not work here"
    )


def _failure(outcome: BootOutcome, timeout: float) -> str:
    if outcome.timed_out:
        return f"no marker within {timeout:.0f} s ({outcome.detail})"
    return outcome.detail


def _without_guest(why: str, fix: str) -> HypervisorProbe:
    checks = (
        CheckResult("kvm", Status.WARN, f"not probed: {why}", fix),
        CheckResult("qemu", Status.FAIL, why, fix),
    )
    return HypervisorProbe("none", why, checks, None)
