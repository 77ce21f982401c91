"""Root, tools, cgroup, memory and disk checks, fed with made-up host facts."""

from __future__ import annotations

from pathlib import Path

from stacklab.doctor.host_checks import (
    available_memory_gib,
    check_cgroup_v2,
    check_disk,
    check_memory,
    check_root,
    check_tools,
    nearest_existing,
)
from stacklab.doctor.models import Requirements, Status


def test_root_passes_only_for_euid_0() -> None:
    assert check_root(0).status is Status.PASS
    not_root = check_root(1000)
    assert not_root.status is Status.FAIL
    assert not_root.fix == "run as root (sudo)"


def test_each_missing_tool_fails_naming_its_debian_package() -> None:
    present = {"systemd-nspawn", "ip", "nft"}
    results = check_tools(lambda tool: f"/usr/bin/{tool}" if tool in present else None)

    by_name = {result.name: result for result in results}
    assert [r.name for r in results] == [
        "tool: systemd-nspawn",
        "tool: debootstrap",
        "tool: nft",
        "tool: ip",
        "tool: qemu-system-x86_64",
    ]
    assert by_name["tool: ip"].status is Status.PASS
    assert by_name["tool: debootstrap"].fix == "apt-get install debootstrap"
    assert by_name["tool: qemu-system-x86_64"].status is Status.FAIL
    assert by_name["tool: qemu-system-x86_64"].fix == "apt-get install qemu-system-x86"


def test_cgroup_v1_is_a_warning_with_a_fix_and_v2_passes(tmp_path: Path) -> None:
    v1 = check_cgroup_v2(tmp_path)
    assert v1.status is Status.WARN and v1.fix

    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    assert check_cgroup_v2(tmp_path).status is Status.PASS


def test_memory_from_meminfo_against_the_requirement(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8388608 kB\nMemFree: 100 kB\nMemAvailable: 4194304 kB\n")
    available = available_memory_gib(meminfo)
    assert available == 4.0

    assert check_memory(Requirements(3.5, 1), available).status is Status.PASS
    short = check_memory(Requirements(6.0, 1), available)
    assert short.status is Status.FAIL
    assert "4.0 GiB available" in short.summary and "6.0 GiB" in short.summary


def test_disk_against_the_requirement_names_the_numbers(tmp_path: Path) -> None:
    where = tmp_path / "not" / "yet" / "there"
    assert nearest_existing(where) == tmp_path

    assert check_disk(Requirements(1, 4.6), where, 10.0).status is Status.PASS
    short = check_disk(Requirements(1, 4.6), where, 2.0)
    assert short.status is Status.FAIL
    assert "2.0 GiB free" in short.summary and "4.6 GiB" in short.summary
    assert short.fix is not None and str(tmp_path) in short.fix
