"""The outcome of each required test, from the result lines of a Tempest run, and the
report: passed, failed and skipped per service with the reason of each skip and failure."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from stacklab.catalog.interop import SERVICES, InteropGuideline, RequiredTest
from stacklab.errors import VerifyFailed
from stacklab.verify.interop.selection import Selection, class_of_fixture, class_path

REASON_CHARS = 300
NO_RESULT = "no result: the run ended before this test reported"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    MISSING = "missing"  # the guideline names it; the installed Tempest has no such test


_OF_STATUS = {
    "success": Outcome.PASSED,
    "xfail": Outcome.PASSED,
    "skip": Outcome.SKIPPED,
    "fail": Outcome.FAILED,
    "uxsuccess": Outcome.FAILED,
}


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # a result, not a test class for pytest to collect

    test: RequiredTest
    outcome: Outcome
    reason: str = ""

    @property
    def fatal(self) -> bool:
        """A failure the guideline counts: flagged tests are optional-pass."""
        return self.outcome is Outcome.FAILED and self.test.flagged is None


def short_reason(outcome: Outcome, text: str) -> str:
    """A skip's reason as given; a failure's last line (the exception and its message)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    reason = lines[-1] if outcome is Outcome.FAILED else " ".join(lines)
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


@dataclass
class ResultCollector:
    """Matches the run's result lines to the selected tests as they come."""

    selection: Selection
    _by_tempest_id: dict[str, RequiredTest] = field(init=False)
    _results: dict[str, TestResult] = field(init=False, default_factory=dict)
    _class_results: dict[str, tuple[Outcome, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_tempest_id = {s.tempest_id: s.test for s in self.selection.run}

    def add_line(self, line: str) -> list[TestResult]:
        """The results this line settles (none for a line that is no result)."""
        try:
            record: dict[str, Any] = json.loads(line)
            tempest_id, status = str(record["id"]), str(record["status"])
        except (ValueError, KeyError, TypeError):
            return []
        outcome = _OF_STATUS.get(status)
        if outcome is None:
            return []
        reason = short_reason(outcome, str(record.get("reason") or ""))
        test = self._by_tempest_id.get(tempest_id)
        if test is not None:
            result = TestResult(test, outcome, reason)
            self._results[tempest_id] = result
            return [result]
        fixture_class = class_of_fixture(tempest_id)
        if fixture_class is None or outcome is Outcome.PASSED:
            return []
        # setUpClass skipped or failed: every test of the class did the same, unreported.
        self._class_results[fixture_class] = (outcome, reason)
        return [
            self._results.setdefault(tid, TestResult(test, outcome, reason))
            for tid, test in self._by_tempest_id.items()
            if tid not in self._results and class_path(tid) == fixture_class
        ]

    def results(self) -> tuple[TestResult, ...]:
        """Every selected test's result, in the guideline's order; missing ones included."""
        settled = []
        for selected in self.selection.run:
            result = self._results.get(selected.tempest_id)
            if result is None:
                outcome, reason = self._class_results.get(
                    class_path(selected.tempest_id), (Outcome.FAILED, NO_RESULT)
                )
                result = TestResult(selected.test, outcome, reason)
            settled.append(result)
        settled += [
            TestResult(test, Outcome.MISSING, "not in this Tempest (no test has its idempotent id)")
            for test in self.selection.missing
        ]
        return tuple(sorted(settled, key=lambda result: result.test.name))


@dataclass(frozen=True)
class InteropReport:
    lab: str
    guideline: InteropGuideline
    tempest_version: str
    scope: str  # "all required tests", or the filters given
    results: tuple[TestResult, ...]
    seconds: float

    def counts(self, service: str) -> Counter[Outcome]:
        return Counter(r.outcome for r in self.results if r.test.service == service)

    @property
    def totals(self) -> Counter[Outcome]:
        return Counter(r.outcome for r in self.results)

    @property
    def fatal(self) -> tuple[TestResult, ...]:
        return tuple(result for result in self.results if result.fatal)

    @property
    def passed(self) -> bool:
        return not self.fatal

    def lines(self) -> list[str]:
        guideline = self.guideline
        lines = [
            f"Interop guideline {guideline.guideline} ({guideline.platform}), "
            f"Tempest {self.tempest_version}, {self.scope}: {len(self.results)} tests",
            f"{'service':<10} {'passed':>7} {'failed':>7} {'skipped':>8} {'missing':>8}",
        ]
        for service in SERVICES:
            counts = self.counts(service)
            if not counts:
                continue
            lines.append(
                f"{service:<10} {counts[Outcome.PASSED]:>7} {counts[Outcome.FAILED]:>7} "
                f"{counts[Outcome.SKIPPED]:>8} {counts[Outcome.MISSING]:>8}"
            )
        totals = self.totals
        lines.append(
            f"{'total':<10} {totals[Outcome.PASSED]:>7} {totals[Outcome.FAILED]:>7} "
            f"{totals[Outcome.SKIPPED]:>8} {totals[Outcome.MISSING]:>8}"
        )
        lines += _grouped("Failed", self._of(Outcome.FAILED))
        lines += _grouped("Skipped", self._of(Outcome.SKIPPED))
        lines += _grouped("Missing", self._of(Outcome.MISSING))
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.fatal)} required tests failed)"
        flagged = sum(1 for r in self.results if r.outcome is Outcome.FAILED and not r.fatal)
        note = f"; {flagged} flagged (optional-pass) failed" if flagged else ""
        lines.append(f"verify --interop {verdict} in {self.seconds:.0f} s{note}")
        return lines

    def _of(self, outcome: Outcome) -> list[TestResult]:
        return [result for result in self.results if result.outcome is outcome]

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise VerifyFailed(
                f"{len(self.fatal)} of the interop guideline's required tests failed on lab "
                f"{self.lab}.",
                fix="read each failure's reason above; Tempest's own log is tempest.log in "
                "the lab's interop directory",
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "lab": self.lab,
            "guideline": self.guideline.guideline,
            "platform": self.guideline.platform,
            "tempest": self.tempest_version,
            "scope": self.scope,
            "passed": self.passed,
            "seconds": round(self.seconds, 1),
            "services": {
                service: {outcome.value: self.counts(service)[outcome] for outcome in Outcome}
                for service in SERVICES
                if self.counts(service)
            },
            "tests": [
                {
                    "name": r.test.name,
                    "id": r.test.idempotent_id,
                    "service": r.test.service,
                    "outcome": r.outcome.value,
                    "reason": r.reason,
                    "flagged": r.test.flagged is not None,
                }
                for r in self.results
            ],
        }


def _grouped(title: str, results: Iterable[TestResult]) -> list[str]:
    """One block per reason, its tests beneath (most skips share a reason)."""
    by_reason: dict[str, list[TestResult]] = {}
    for result in results:
        by_reason.setdefault(result.reason or "(no reason given)", []).append(result)
    if not by_reason:
        return []
    lines = [f"{title}:"]
    for reason, tests in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        lines.append(f"  {len(tests)} × {reason}")
        for result in tests:
            flag = "  [flagged: optional-pass]" if result.test.flagged else ""
            lines.append(f"      {result.test.service}: {result.test.name}{flag}")
    return lines
