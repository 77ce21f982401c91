"""Verify's phases, each timed, and its result: pass or fail with the reason."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from stacklab.errors import StacklabError, VerifyFailed


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PhaseResult:
    name: str
    outcome: Outcome
    seconds: float
    detail: str = ""

    def line(self) -> str:
        detail = f"  {self.detail}" if self.detail else ""
        return f"{self.name:<12} {self.outcome.value:<8} {self.seconds:6.1f} s{detail}"


@dataclass(frozen=True)
class VerifyResult:
    lab: str
    passed: bool
    reason: str  # why it failed; what was checked when it passed
    phases: tuple[PhaseResult, ...]
    fix: str | None = None

    @property
    def seconds(self) -> float:
        return sum(phase.seconds for phase in self.phases)

    def lines(self) -> list[str]:
        verdict = "PASSED" if self.passed else "FAILED"
        told = [phase.line() for phase in self.phases]
        return [*told, f"verify {verdict} in {self.seconds:.1f} s: {self.reason}"]

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise VerifyFailed(
                f"verify failed: {self.reason}", fix=self.fix, details="\n".join(self.lines())
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "lab": self.lab,
            "passed": self.passed,
            "reason": self.reason,
            "fix": self.fix,
            "seconds": round(self.seconds, 1),
            "phases": [
                {
                    "name": p.name,
                    "outcome": p.outcome.value,
                    "seconds": round(p.seconds, 1),
                    "detail": p.detail,
                }
                for p in self.phases
            ],
        }


@dataclass
class PhaseLog:
    """Times each phase; a phase that raises a StacklabError is recorded as failed and the
    error goes on."""

    report: Callable[[PhaseResult], None] = lambda result: None
    results: list[PhaseResult] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic

    @contextmanager
    def phase(self, name: str) -> Iterator[list[str]]:
        """Yields a list: what the phase appends is its detail."""
        detail: list[str] = []
        started = self.clock()
        try:
            yield detail
        except StacklabError as error:
            self._add(PhaseResult(name, Outcome.FAILED, self.clock() - started, error.message))
            raise
        self._add(PhaseResult(name, Outcome.OK, self.clock() - started, "; ".join(detail)))

    def skipped(self, name: str, why: str) -> None:
        self._add(PhaseResult(name, Outcome.SKIPPED, 0.0, why))

    def _add(self, result: PhaseResult) -> None:
        self.results.append(result)
        self.report(result)
