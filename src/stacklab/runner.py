"""One interface for running commands: on this host, and (from the providers) on nodes.

Everything that executes a program goes through a Runner, so errors always carry
the command, where it ran and its last lines of output.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
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
