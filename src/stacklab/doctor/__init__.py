"""`stacklab doctor`: is this host ready for the local provider, and KVM or QEMU?"""

from stacklab.doctor.engine import run_doctor
from stacklab.doctor.kvm_probe import load_host_facts
from stacklab.doctor.mirror import host_debian_mirror
from stacklab.doctor.models import CheckResult, DoctorReport, HostFacts, Requirements, Status
from stacklab.doctor.requirements import requirements_for

__all__ = [
    "CheckResult",
    "DoctorReport",
    "HostFacts",
    "Requirements",
    "Status",
    "host_debian_mirror",
    "load_host_facts",
    "requirements_for",
    "run_doctor",
]
