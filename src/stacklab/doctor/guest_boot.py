"""Boot the probe guest under QEMU and watch its serial console for the marker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from stacklab.doctor.probe_guest import PROBE_MARKER, ProbeGuest
from stacklab.images.qemu_guest import QemuGuest, direct_boot_command

QEMU = "qemu-system-x86_64"


@dataclass(frozen=True)
class BootOutcome:
    accelerator: str  # "kvm" or "tcg"
    booted: bool  # the marker reached the serial console
    seconds: float
    timed_out: bool
    detail: str  # why not, in qemu's or the console's last words; empty when booted


def qemu_command(guest: ProbeGuest, accelerator: str, serial_log: Path) -> list[str]:
    return direct_boot_command(
        guest.kernel,
        guest.initramfs,
        "console=ttyS0 panic=-1",
        serial_log,
        accelerator=accelerator,
        qemu=QEMU,
    )


def boot_guest(guest: ProbeGuest, accelerator: str, timeout: float, log_dir: Path) -> BootOutcome:
    """Boot until the marker shows, qemu exits or the timeout passes; qemu never outlives it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    serial_log = log_dir / f"boot-{accelerator}.log"
    qemu = QemuGuest(
        qemu_command(guest, accelerator, serial_log),
        serial_log,
        log_dir / f"boot-{accelerator}.stderr",
    )
    started = time.monotonic()
    try:
        qemu.start()
    except OSError as error:
        return BootOutcome(accelerator, False, 0.0, False, f"{QEMU} did not start: {error}")
    with qemu:
        booted = qemu.wait_for(lambda console: PROBE_MARKER in console, timeout)
        exited = qemu.exited
    seconds = time.monotonic() - started
    if booted:
        return BootOutcome(accelerator, True, seconds, False, "")
    if not exited:
        return BootOutcome(accelerator, False, seconds, True, qemu.last_words())
    detail = f"{qemu.last_words()}; {qemu.exit_description()}"
    return BootOutcome(accelerator, False, seconds, False, detail)
