"""What the user sees when an install task fails: step, node, task, the command's last
lines of output and where the full log is. One screen, no traceback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacklab.core.failure_causes import cause_of
from stacklab.errors import RunFailure

TAIL_LINES = 15
# The keys of a module's result that carry a command's output, most telling first.
_OUTPUT_KEYS = ("stderr", "stdout", "module_stderr", "module_stdout", "msg")


@dataclass(frozen=True)
class TaskFailure:
    node: str
    task: str
    output: tuple[str, ...]
    unreachable: bool = False


def _lines(value: object) -> list[str]:
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    if isinstance(value, list):
        return [str(item) for item in value if str(item).strip()]
    return [] if value is None else [str(value)]


def output_lines(result: Mapping[str, Any]) -> list[str]:
    """The most useful lines of a failed task's result, loops included."""
    looped = result.get("results")
    if isinstance(looped, list):
        failed = [item for item in looped if isinstance(item, Mapping) and item.get("failed")]
        from_items = [line for item in failed for line in output_lines(item)]
        if from_items:
            return from_items
    lines: list[str] = []
    if result.get("cmd"):
        command = result["cmd"]
        shown = " ".join(map(str, command)) if isinstance(command, list) else str(command)
        lines.append(f"$ {shown}")
    for key in _OUTPUT_KEYS:
        lines += _lines(result.get(key))
    if "rc" in result and result.get("rc") not in (0, None):
        lines.append(f"(exit code {result['rc']})")
    return lines


def failure_from_event(event: Mapping[str, Any]) -> TaskFailure | None:
    """A TaskFailure from an ansible-runner event, or None if the event is no failure."""
    kind = event.get("event")
    data = event.get("event_data") or {}
    if kind == "runner_on_failed" and not data.get("ignore_errors"):
        unreachable = False
    elif kind == "runner_on_unreachable":
        unreachable = True
    else:
        return None
    result = data.get("res") or {}
    return TaskFailure(
        node=str(data.get("host", "?")),
        task=str(data.get("task", "?")).strip(),
        output=tuple(output_lines(result)),
        unreachable=unreachable,
    )


class InstallError(RunFailure):
    """An install task failed on a node."""

    def __init__(self, step: str, failure: TaskFailure, log: Path):
        self.step = step
        self.failure = failure
        self.log = log
        what = "could not reach" if failure.unreachable else "failed on"
        self.cause = None if failure.unreachable else cause_of(failure.output)
        if failure.unreachable:
            fix = (
                f"check that node {failure.node} runs and answers SSH (`stacklab ssh "
                f"{failure.node}`), then `stacklab up` again"
            )
        elif self.cause is not None:
            fix = self.cause.fix
        else:
            fix = "fix the cause shown above, then `stacklab up` again: it resumes at this step"
        super().__init__(
            f"Install step '{step}': task '{failure.task}' {what} node {failure.node}.",
            fix=fix,
        )

    def render(self) -> str:
        tail = self.failure.output[-TAIL_LINES:]
        lines = [self.message]
        if tail:
            lines.append("Last lines of its output:")
            lines += [f"  {line}" for line in tail]
        else:
            lines.append("(the task printed nothing)")
        if self.cause is not None:
            lines.append(f"Cause: {self.cause.what}.")
        lines.append(f"Full log: {self.log}")
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)


class InstallRunError(RunFailure):
    """ansible-playbook itself failed (bad playbook, timeout) with no task to blame."""
