"""The values `stacklab doctor` works with and reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stacklab.plan.models import DatapathChoice

REPORT_FORMAT = "stacklab.doctor/v1"


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    summary: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Requirements:
    """What a lab needs from this host; mirror is the spec's provider.mirror, if set."""

    memory_gib: float
    disk_gib: float
    release: str = "trixie"  # the Debian codename the lab's nodes run
    mirror: str | None = None


@dataclass(frozen=True)
class HostFacts:
    """The outcome of the last KVM probe, cached for the planner."""

    kvm_usable: bool
    reason: str
    probed_at: str  # ISO 8601, UTC

    def to_dict(self) -> dict[str, Any]:
        return {"kvm_usable": self.kvm_usable, "reason": self.reason, "probed_at": self.probed_at}


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[CheckResult, ...]
    hypervisor: str  # "kvm", "qemu", or "none" when even QEMU TCG could not boot a guest
    hypervisor_reason: str
    datapath: DatapathChoice | None = None  # Open vSwitch's, for the nodes of an OVN lab

    @property
    def ok(self) -> bool:
        return all(check.status is not Status.FAIL for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape for `stacklab doctor --json`."""
        return {
            "format": REPORT_FORMAT,
            "ok": self.ok,
            "hypervisor": self.hypervisor,
            "hypervisor_reason": self.hypervisor_reason,
            "datapath": (
                None
                if self.datapath is None
                else {
                    "kind": self.datapath.kind.value,
                    "reason": self.datapath.reason,
                    "cost": self.datapath.cost,
                }
            ),
            "checks": [check.to_dict() for check in self.checks],
        }
