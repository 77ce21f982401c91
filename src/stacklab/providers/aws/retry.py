"""Waiting on EC2: retry a call while AWS says "not yet", poll until a state is reached.

A deadline that passes raises AwsTimeout; an error that retrying cannot cure propagates at
once. Sleep and clock are injectable so tests need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from stacklab.core.wait import wait_until
from stacklab.providers.aws.errors import AwsFailure, AwsTimeout

T = TypeVar("T")


@dataclass(frozen=True)
class Pacing:
    first_delay: float = 1.0
    longest_delay: float = 10.0
    factor: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def delays(self) -> Callable[[], float]:
        """A function giving the next delay, growing from first_delay to longest_delay."""
        current = [self.first_delay]

        def next_delay() -> float:
            delay = current[0]
            current[0] = min(delay * self.factor, self.longest_delay)
            return delay

        return next_delay


def retry(
    action: Callable[[], T],
    *,
    retry_codes: frozenset[str],
    timeout: float,
    what: str,
    fix: str,
    pacing: Pacing,
) -> T:
    """action() until it stops failing with one of retry_codes, or the deadline passes."""
    deadline = pacing.clock() + timeout
    next_delay = pacing.delays()
    while True:
        try:
            return action()
        except AwsFailure as failure:
            if failure.code not in retry_codes:
                raise
            if pacing.clock() >= deadline:
                raise AwsTimeout(
                    f"Timed out after {timeout:.0f} s: {what} (EC2 kept answering "
                    f"{failure.code}: {failure.message})",
                    fix=fix,
                ) from failure
        pacing.sleep(next_delay())


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    fix: str,
    pacing: Pacing,
    last_seen: Callable[[], str] = lambda: "",
) -> T:
    """check() until it returns a value; check raises itself when waiting cannot help."""
    return wait_until(
        check,
        timeout=timeout,
        interval=pacing.delays(),
        what=what,
        last_seen=last_seen,
        fix=fix,
        timeout_error=AwsTimeout,
        clock=pacing.clock,
        sleep=pacing.sleep,
    )
