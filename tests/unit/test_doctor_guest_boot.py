"""boot_guest against stand-in qemu scripts: marker, hang and crash, and nothing left running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stacklab.doctor import guest_boot
from stacklab.doctor.probe_guest import PROBE_MARKER, ProbeGuest

GUEST = ProbeGuest(Path("/nonexistent/vmlinuz"), Path("/nonexistent/initrd"), "linux-image-x")
PREAMBLE = """#!/bin/sh
for argument; do case "$argument" in file:*) log="${argument#file:}";; esac; done
sleep 30 &
echo $! > "$(dirname "$log")/child.pid"
"""


def fake_qemu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    script = tmp_path / "qemu"
    script.write_text(PREAMBLE + body)
    script.chmod(0o755)
    monkeypatch.setattr(guest_boot, "QEMU", str(script))


def gone(pid: int) -> bool:
    """Dead within a second (SIGKILL is delivered asynchronously); a zombie counts as dead."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def child_pid(tmp_path: Path) -> int:
    return int((tmp_path / "child.pid").read_text())


def test_marker_on_the_console_is_a_boot_and_qemu_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_qemu(tmp_path, monkeypatch, f'echo "{PROBE_MARKER}" > "$log"\nwait\n')
    started = time.monotonic()
    outcome = guest_boot.boot_guest(GUEST, "tcg", 20.0, tmp_path)

    assert outcome.booted and not outcome.timed_out
    assert time.monotonic() - started < 5
    assert gone(child_pid(tmp_path))


def test_a_hang_times_out_and_the_whole_process_group_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_qemu(tmp_path, monkeypatch, 'echo "[0.1] booting" > "$log"\nwait\n')
    outcome = guest_boot.boot_guest(GUEST, "kvm", 0.5, tmp_path)

    assert not outcome.booted and outcome.timed_out
    assert 0.5 <= outcome.seconds < 5
    assert outcome.detail == "last console line: [0.1] booting"
    assert gone(child_pid(tmp_path))


def test_qemu_dying_early_reports_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_qemu(
        tmp_path,
        monkeypatch,
        'echo "qemu: warning: x" >&2\necho "qemu: error: failed to set MSR" >&2\nexit 1\n',
    )
    outcome = guest_boot.boot_guest(GUEST, "kvm", 20.0, tmp_path)

    assert not outcome.booted and not outcome.timed_out
    assert outcome.detail == "qemu: error: failed to set MSR; qemu exited with code 1"
    assert gone(child_pid(tmp_path))
