"""A guest under QEMU whose serial console is read while it runs, and which never outlives us.

Not through the Runner: the Runner returns only once a command has ended, and here the
console must be read while the guest runs, the guest left running while it is used (SSH),
and a guest that hangs killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

QEMU = "qemu-system-x86_64"
POLL_INTERVAL_S = 0.1


def direct_boot_command(
    kernel: Path,
    initramfs: Path,
    command_line: str,
    serial_log: Path,
    *,
    accelerator: str = "tcg",
    memory_mb: int = 256,
    extra: tuple[str, ...] = (),
    qemu: str = QEMU,
) -> list[str]:
    """qemu booting a kernel and initramfs directly (as Nova does with kernel_id/ramdisk_id)."""
    cpu = ["-cpu", "host"] if accelerator == "kvm" else []
    return [
        qemu,
        "-accel",
        accelerator,
        *cpu,
        "-m",
        str(memory_mb),
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
        str(kernel),
        "-initrd",
        str(initramfs),
        "-append",
        command_line,
        *extra,
    ]


class QemuGuest:
    """Started by start(); killed, with everything it started, on leaving the `with` block."""

    def __init__(self, command: list[str], serial_log: Path, stderr_log: Path) -> None:
        self.command = command
        self.serial_log = serial_log
        self.stderr_log = stderr_log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Raises OSError if qemu cannot be started at all."""
        self.serial_log.unlink(missing_ok=True)
        self.stderr_log.parent.mkdir(parents=True, exist_ok=True)
        with self.stderr_log.open("wb") as stderr:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )

    def __enter__(self) -> QemuGuest:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()

    @property
    def exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def console(self) -> str:
        try:
            return self.serial_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, done: Callable[[str], bool], timeout: float) -> bool:
        """True once done(console) holds; False if qemu exits or the timeout passes first."""
        deadline = time.monotonic() + timeout
        while True:
            exited = self.exited
            if done(self.console()):
                return True
            if exited or time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL_S)

    def kill(self) -> None:
        """Kill qemu and anything it started, even if qemu itself has already exited."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=10)

    def last_words(self) -> str:
        """qemu's first error if it printed one, else the console's last line."""
        errors = [line for line in _lines(self.stderr_log) if "warning:" not in line]
        if errors:
            return errors[0]
        console = _lines(self.serial_log)
        return f"last console line: {console[-1]}" if console else "no output on the serial console"

    def exit_description(self) -> str:
        returncode = None if self._process is None else self._process.poll()
        if returncode is None:
            return "qemu is still running"
        if returncode < 0:
            try:
                return f"qemu died of {signal.Signals(-returncode).name}"
            except ValueError:
                return f"qemu died of signal {-returncode}"
        return f"qemu exited with code {returncode}"


def _lines(log: Path) -> list[str]:
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]
