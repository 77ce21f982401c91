"""The stacklab_service module's start policy: a start that systemd fails once (a unit's
process not spawned under load) is tried again with failed units cleared; a unit that keeps
failing still fails with systemd's own answer; stops are never repeated."""

from __future__ import annotations

import subprocess

from test_installer_ini import load_module

service = load_module("stacklab_service")


class ScriptedSystemctl:
    """Answers `systemctl` calls from a list of return codes for the start/stop calls."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        code = 0 if args[0] == "reset-failed" else self.codes.pop(0)
        return subprocess.CompletedProcess(["systemctl", *args], code, "", "failed" * code)


def test_a_start_that_fails_once_is_retried_after_clearing_failed_units() -> None:
    systemctl = ScriptedSystemctl([1, 0])
    pauses: list[float] = []
    done = service.with_one_retry(("start", "openvswitch-switch"), systemctl, pauses.append)
    assert done.returncode == 0
    assert systemctl.calls == [
        ("start", "openvswitch-switch"),
        ("reset-failed",),
        ("start", "openvswitch-switch"),
    ]
    assert pauses == [service.RETRY_PAUSE_SECONDS]


def test_a_unit_that_keeps_failing_fails_with_the_second_answer() -> None:
    systemctl = ScriptedSystemctl([1, 3])
    done = service.with_one_retry(("restart", "nova-api"), systemctl, lambda _: None)
    assert done.returncode == 3
    assert len([call for call in systemctl.calls if call[0] == "restart"]) == 2


def test_a_failed_stop_is_not_repeated() -> None:
    systemctl = ScriptedSystemctl([1])
    done = service.with_one_retry(("stop", "nova-api"), systemctl, lambda _: None)
    assert done.returncode == 1
    assert systemctl.calls == [("stop", "nova-api")]


class SystemctlShow:
    """Answers `systemctl show` with a fixed text."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        return subprocess.CompletedProcess(["systemctl", *args], 0, self.answer, "")


def test_a_unit_whose_file_changed_on_disk_asks_for_a_reload() -> None:
    changed = SystemctlShow("NeedDaemonReload=yes\n")
    assert service.unit_file_changed("stacklab-tap-keeper", changed)
    assert changed.calls == [("show", "--property=NeedDaemonReload", "stacklab-tap-keeper")]
    assert not service.unit_file_changed(
        "stacklab-tap-keeper", SystemctlShow("NeedDaemonReload=no\n")
    )
