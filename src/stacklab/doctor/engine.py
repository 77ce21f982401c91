"""`stacklab doctor`: every check of this host for the local provider, in a fixed order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from stacklab.doctor.host_checks import (
    available_memory_gib,
    check_cgroup_v2,
    check_disk,
    check_memory,
    check_root,
    check_tools,
    free_disk_gib,
)
from stacklab.doctor.kvm_probe import probe_hypervisor
from stacklab.doctor.mirror import check_debian_mirror
from stacklab.doctor.models import CheckResult, DoctorReport, Requirements, Status
from stacklab.doctor.network import check_kernel_networking
from stacklab.doctor.ovs_datapath import datapath_check, probe_host_datapath
from stacklab.runner import LocalRunner, Runner
from stacklab.state.paths import cache_dir

OnCheck = Callable[[CheckResult], None]


def run_doctor(
    requirements: Requirements,
    *,
    runner: Runner | None = None,
    on_check: OnCheck | None = None,
) -> DoctorReport:
    """Check this host; on_check sees each result as soon as it is known."""
    runner = runner or LocalRunner()
    checks: list[CheckResult] = []

    def record(results: Iterable[CheckResult]) -> None:
        for result in results:
            checks.append(result)
            if on_check is not None:
                on_check(result)

    record([check_root()])
    tools = check_tools()
    record(tools)
    record(check_kernel_networking(runner))
    datapath = probe_host_datapath(runner)
    record([datapath_check(datapath)])
    record([check_cgroup_v2()])
    record([check_memory(requirements, available_memory_gib())])
    record([check_disk(requirements, cache_dir(), free_disk_gib(cache_dir()))])
    record([check_debian_mirror(requirements)])
    qemu_missing = any(
        result.name == "tool: qemu-system-x86_64" and result.status is Status.FAIL
        for result in tools
    )
    probe = probe_hypervisor(runner, qemu_installed=not qemu_missing)
    record(probe.checks)
    return DoctorReport(tuple(checks), probe.hypervisor, probe.reason, datapath)
