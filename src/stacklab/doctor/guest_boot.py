"""Boot the probe guest under QEMU and watch its serial console for the marker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from stacklab.doctor.probe_guest import PROBE_MARKER, ProbeGuest

QEMU = "qemu-system-x86_64"
POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class BootOutcome:
    accelerator: str  # "kvm" or "tcg"
    booted: bool  # the marker reached the serial console
    seconds: float
    timed_out: bool
    detail: str  # why not, in qemu's or the console's last words; empty when booted


def qemu_command(guest: ProbeGuest, accelerator: str, serial_log: Path) -> list[str]:
    cpu = ["-cpu", "host"] if accelerator == "kvm" else []
    return [
        QEMU,
        "-accel",
        accelerator,
        *cpu,
        "-m",
        "256",
        "-smp",
        "1",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-serial",
        f"file:{serial_log}",
        "-no-reboot",
        "-kernel",
        str(guest.kernel),
        "-initrd",
        str(guest.initramfs),
        "-append",
        "console=ttyS0 panic=-1",
    ]


def boot_guest(guest: ProbeGuest, accelerator: str, timeout: float, log_dir: Path) -> BootOutcome:
    """Boot until the marker shows, qemu exits or the timeout passes; qemu never outlives it.

    Not through the Runner: the Runner returns only once a command has ended, and here
    the console must be read while the guest runs, the guest stopped as soon as the
    marker shows, and a guest hung under KVM killed with its whole process group.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    serial_log = log_dir / f"boot-{accelerator}.log"
    stderr_log = log_dir / f"boot-{accelerator}.stderr"
    serial_log.unlink(missing_ok=True)
    started = time.monotonic()
    with stderr_log.open("wb") as stderr:
        try:
            process = subprocess.Popen(
                qemu_command(guest, accelerator, serial_log),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        except OSError as error:
            return BootOutcome(accelerator, False, 0.0, False, f"{QEMU} did not start: {error}")
        try:
            booted, exited = _watch(process, serial_log, started + timeout)
        finally:
            _kill_group(process)
    seconds = time.monotonic() - started
    if booted:
        return BootOutcome(accelerator, True, seconds, False, "")
    if not exited:
        return BootOutcome(accelerator, False, seconds, True, _last_words(serial_log, stderr_log))
    detail = f"{_last_words(serial_log, stderr_log)}; {_exit_description(process.returncode)}"
    return BootOutcome(accelerator, False, seconds, False, detail)


def _watch(
    process: subprocess.Popen[bytes], serial_log: Path, deadline: float
) -> tuple[bool, bool]:
    """(marker seen, qemu exited) once either happens or the deadline passes."""
    while True:
        exited = process.poll() is not None
        if _marker_in(serial_log):
            return True, exited
        if exited or time.monotonic() >= deadline:
            return False, exited
        time.sleep(POLL_INTERVAL_S)


def _marker_in(serial_log: Path) -> bool:
    try:
        return PROBE_MARKER.encode() in serial_log.read_bytes()
    except FileNotFoundError:
        return False


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill qemu and anything it started, even if qemu itself has already exited."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _last_words(serial_log: Path, stderr_log: Path) -> str:
    """qemu's first error if it printed one, else the console's last line."""
    errors = [line for line in _lines(stderr_log) if "warning:" not in line]
    if errors:
        return errors[0]
    console = _lines(serial_log)
    return f"last console line: {console[-1]}" if console else "no output on the serial console"


def _lines(log: Path) -> list[str]:
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"qemu died of {signal.Signals(-returncode).name}"
        except ValueError:
            return f"qemu died of signal {-returncode}"
    return f"qemu exited with code {returncode}"
