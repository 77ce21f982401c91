"""One interface for running commands: on this host, and (from the providers) on nodes.

Everything that executes a program goes through a Runner, so errors always carry
the command, where it ran and its last lines of output.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stacklab.errors import CommandError


@dataclass(frozen=True)
class Completed:
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


class Runner(Protocol):
    where: str

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed: ...


class LocalRunner:
    """Runs commands on this host."""

    where = "host"

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed:
        try:
            proc = subprocess.run(
                command,
                input=input_text,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as missing:
            raise CommandError(
                command, 127, str(missing), where=self.where, fix=fix or f"install {command[0]}"
            ) from missing
        except subprocess.TimeoutExpired as expired:
            output = _text(expired.stdout) + _text(expired.stderr)
            raise CommandError(
                command,
                -1,
                f"{output}\n(timed out after {timeout} s)",
                where=self.where,
                fix=fix,
            ) from expired
        completed = Completed(tuple(command), proc.returncode, proc.stdout, proc.stderr)
        if check and not completed.ok:
            raise CommandError(
                command, proc.returncode, completed.output, where=self.where, fix=fix
            )
        return completed


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def stream_lines(
    command: list[str],
    on_line: Callable[[str], None],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    fix: str | None = None,
) -> int:
    """Runs a long command on this host, handing each line of its output (stdout and stderr
    together) to on_line as it comes; returns the exit code. With check, a non-zero exit
    raises CommandError carrying the last lines."""
    tail: deque[str] = deque(maxlen=40)
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,  # its own process group, ended whole below
        )
    except FileNotFoundError as missing:
        raise CommandError(
            command, 127, str(missing), where=LocalRunner.where, fix=fix or f"install {command[0]}"
        ) from missing
    assert process.stdout is not None  # PIPE above
    with process:
        try:
            for raw in process.stdout:
                line = raw.rstrip("\n")
                tail.append(line)
                on_line(line)
        except BaseException:
            # Ctrl-C or a failing on_line: end the command and whatever it started.
            os.killpg(process.pid, signal.SIGKILL)
            raise
    if check and process.returncode != 0:
        raise CommandError(
            command, process.returncode, "\n".join(tail), where=LocalRunner.where, fix=fix
        )
    return process.returncode
