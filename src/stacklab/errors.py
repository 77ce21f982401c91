"""The one error tree. Every error carries what the user needs to act: what failed,
why, and the fix. The CLI maps each class to an exit code in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input: where, what, why and how to fix it."""

    field: str
    value: object
    why: str
    fix: str
    source: str | None = None
    line: int | None = None

    def render(self) -> str:
        where = self.field
        if self.source is not None:
            location = f"{self.source}:{self.line}" if self.line else self.source
            where = f"{location}: {self.field}"
        return f"{where}: {self.value!r} is not valid: {self.why}. Fix: {self.fix}."


class StacklabError(Exception):
    """Base of every error stacklab raises on purpose."""

    def __init__(self, message: str, *, fix: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.details = details

    def render(self) -> str:
        parts = [self.message]
        if self.details:
            parts.append(self.details)
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)


class InputError(StacklabError):
    """Something the user gave (the spec, a file it names) cannot be used."""


class SpecError(InputError):
    """The spec is invalid; nothing has been created."""

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = problems
        self.source = source
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        header = f"The spec {source or ''} has {count} {noun}; nothing was created.".replace(
            "  ", " "
        )
        super().__init__(header)

    def render(self) -> str:
        lines = [self.message]
        lines.extend(f"- {problem.render()}" for problem in self.problems)
        return "\n".join(lines)


class HostError(StacklabError):
    """This host cannot run what was asked (missing tool, no root, no room)."""


class StateError(StacklabError):
    """The state database or a lab directory is unusable."""


class ProviderError(StacklabError):
    """A provider failed to create, find or delete infrastructure."""


class RunFailure(StacklabError):
    """Something run on the host or on a node failed: a command, an install task."""


class CommandError(RunFailure):
    """A command run on the host or on a node failed."""

    def __init__(
        self,
        command: list[str],
        returncode: int,
        output: str,
        *,
        where: str = "host",
        fix: str | None = None,
    ):
        self.command = command
        self.returncode = returncode
        self.output = output
        self.where = where
        last_lines = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(
            f"Command failed on {where} with exit code {returncode}: {' '.join(command)}",
            fix=fix,
            details=f"Last lines of its output:\n{last_lines}" if last_lines else None,
        )


class StepError(StacklabError):
    """A step of `up` failed; the journal records it and a re-run resumes there."""

    def __init__(self, step: str, cause: StacklabError):
        self.step = step
        self.cause = cause
        super().__init__(f"Step '{step}' failed.", fix=cause.fix, details=cause.render())

    def render(self) -> str:
        return f"{self.message}\n{self.cause.render()}"


class UnexpectedError(StacklabError):
    """An exception stacklab did not foresee (a bug, or a case not handled yet), caught at
    the edge of a step so that it ends like every other error."""

    def __init__(self, step: str, error: BaseException, log: Path | None):
        self.error = error
        self.log = log
        where = f"is in {log}" if log else "could not be written to a file"
        super().__init__(
            f"Unexpected {type(error).__name__} in step '{step}': {error}",
            details=f"Its traceback {where} (`--traceback` shows it here).",
            fix="run `stacklab up` again: it resumes at this step; if it fails the same way, "
            "report it with that log",
        )


class CloudError(StacklabError):
    """A call to the lab's OpenStack APIs failed, or the cloud holds something unusable."""


class CloudUnreachable(CloudError):
    """An API did not answer, or answered 5xx: worth asking again while waiting."""


class VerifyFailed(StacklabError):
    """The lab's cloud did not boot a working instance."""


class WaitTimeout(StacklabError):
    """Something did not happen in time; it had not failed either."""


class NotYetImplemented(StacklabError):
    """A documented feature that this version does not have yet."""


class UserAbort(StacklabError):
    """The user interrupted the run."""


# The one mapping from the error tree to the CLI's exit codes; the first class that matches
# wins, so a subclass with a code of its own comes before its parent.
EXIT_CODES: tuple[tuple[type[StacklabError], int], ...] = (
    (InputError, 2),
    (HostError, 3),
    (ProviderError, 4),
    (RunFailure, 5),
    (StepError, 6),
    (UnexpectedError, 6),  # only made for a step, whose StepError carries it
    (NotYetImplemented, 7),
    (StateError, 8),
    (VerifyFailed, 9),
    (CloudError, 10),
    (WaitTimeout, 11),
    (UserAbort, 130),
)
GENERIC_EXIT_CODE = 1


def exit_code_for(error: StacklabError) -> int:
    """A failed step exits 6, unless the step is one this version does not have (7)."""
    if isinstance(error, StepError) and isinstance(error.cause, NotYetImplemented):
        return exit_code_for(error.cause)
    return exit_code_of(type(error))


def exit_code_of(kind: type[StacklabError]) -> int:
    """The exit code of an error class: its category's in EXIT_CODES."""
    for category, code in EXIT_CODES:
        if issubclass(kind, category):
            return code
    return GENERIC_EXIT_CODE


@dataclass
class ErrorReport:
    """A serialisable view of an error for `--json` output."""

    kind: str
    message: str
    fix: str | None
    problems: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def of(cls, error: StacklabError) -> ErrorReport:
        problems: list[dict[str, object]] = []
        if isinstance(error, SpecError):
            problems = [
                {
                    "field": p.field,
                    "value": p.value
                    if isinstance(p.value, str | int | float | bool)
                    else repr(p.value),
                    "why": p.why,
                    "fix": p.fix,
                    "line": p.line,
                }
                for p in error.problems
            ]
        return cls(
            kind=type(error).__name__, message=error.message, fix=error.fix, problems=problems
        )
