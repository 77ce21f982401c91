"""Checks of this host that only read it: privileges, tools, cgroups, memory and disk."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from stacklab.core.host_tools import HOST_TOOLS, find_tool
from stacklab.doctor.models import CheckResult, Requirements, Status

GIB = 1024**3

Which = Callable[[str], str | None]


def check_root(euid: int | None = None) -> CheckResult:
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return CheckResult("root", Status.PASS, "running as root")
    return CheckResult(
        "root",
        Status.FAIL,
        f"running as uid {euid}: nodes, bridges and NAT rules need root",
        "run as root (sudo)",
    )


def check_tools(which: Which = find_tool) -> list[CheckResult]:
    results = []
    for tool, package in ((t.program, t.package) for t in HOST_TOOLS if t.doctor):
        name = f"tool: {tool}"
        location = which(tool)
        if location:
            results.append(CheckResult(name, Status.PASS, f"{tool} is {location}"))
        else:
            results.append(
                CheckResult(
                    name,
                    Status.FAIL,
                    f"{tool} is not installed",
                    f"apt-get install {package}",
                )
            )
    return results


def check_cgroup_v2(cgroup_root: Path = Path("/sys/fs/cgroup")) -> CheckResult:
    if (cgroup_root / "cgroup.controllers").is_file():
        return CheckResult("cgroup v2", Status.PASS, "the unified cgroup v2 hierarchy is mounted")
    return CheckResult(
        "cgroup v2",
        Status.WARN,
        "this host uses cgroup v1; nspawn nodes still boot, but their cgroup controllers are "
        "read-only (libvirt in a node runs without per-VM cgroup limits)",
        "nothing needed for a lab; for cgroup v2 boot the host with "
        "systemd.unified_cgroup_hierarchy=1",
    )


def available_memory_gib(meminfo: Path = Path("/proc/meminfo")) -> float:
    for line in meminfo.read_text(encoding="ascii").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024 / GIB
    raise ValueError(f"no MemAvailable line in {meminfo}")


def check_memory(requirements: Requirements, available_gib: float) -> CheckResult:
    summary = f"{available_gib:.1f} GiB available, the lab needs {requirements.memory_gib:.1f} GiB"
    if available_gib >= requirements.memory_gib:
        return CheckResult("memory", Status.PASS, summary)
    return CheckResult(
        "memory",
        Status.FAIL,
        summary,
        "free memory on this host, or plan fewer or smaller nodes (e.g. the aio preset)",
    )


def nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def free_disk_gib(path: Path) -> float:
    return shutil.disk_usage(nearest_existing(path)).free / GIB


def check_disk(requirements: Requirements, where: Path, free_gib: float) -> CheckResult:
    summary = f"{free_gib:.1f} GiB free for {where}, the lab needs {requirements.disk_gib:.1f} GiB"
    if free_gib >= requirements.disk_gib:
        return CheckResult("disk", Status.PASS, summary)
    return CheckResult(
        "disk",
        Status.FAIL,
        summary,
        f"free space on the file system of {nearest_existing(where)}, or set XDG_CACHE_HOME "
        "to a directory on a larger one",
    )
