"""Waiting for something to get somewhere, with a timeout told apart from a failure (after
openstacksdk's wait_for_status: ResourceTimeout vs ResourceFailure).

The probe returns the thing once it is there, None while it is not yet, and raises when
waiting cannot help any more: that failure passes on at once. A deadline that passes raises
the timeout error, WaitTimeout unless the caller names its own (a provider's, say)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from stacklab.errors import StacklabError, WaitTimeout

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float | Callable[[], float],
    what: str,
    last_seen: Callable[[], str] = lambda: "",
    fix: str | None = None,
    retry_on: tuple[type[StacklabError], ...] = (),
    timeout_error: type[StacklabError] = WaitTimeout,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """probe() until it returns a value (returned). An error of a retry_on class counts as
    "not yet" (an API that did not answer this time) and is what was last seen if the time
    runs out. interval: seconds between probes, or a function giving the next pause."""
    deadline = clock() + timeout
    next_pause = interval if callable(interval) else lambda: interval
    while True:
        unanswered: StacklabError | None = None
        try:
            found = probe()
        except retry_on as error:
            found, unanswered = None, error
        if found is not None:
            return found
        if clock() >= deadline:
            seen = unanswered.message if unanswered else last_seen()
            raise timeout_error(
                f"Timed out after {timeout:.0f} s waiting for {what}"
                + (f"; last seen: {seen}" if seen else "")
                + ".",
                fix=fix,
            )
        sleep(next_pause())
