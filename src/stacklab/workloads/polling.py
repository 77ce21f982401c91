"""Waiting for a cloud to get somewhere, with a timeout that is told apart from a failure
(after openstacksdk's wait_for_status: ResourceTimeout vs ResourceFailure)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from stacklab.errors import StacklabError
from stacklab.openstack_api import CloudUnreachable

T = TypeVar("T")


class WaitTimeout(StacklabError):
    """Something did not happen in time; it had not failed either."""


def poll(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    what: str,
    last_seen: Callable[[], str] = lambda: "",
    fix: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """probe() until it returns a value (returned) or raises (a failure: passed on, except
    an API that did not answer this time); after `timeout` seconds a WaitTimeout that says
    what was last seen."""
    deadline = clock() + timeout
    unanswered: CloudUnreachable | None = None
    while True:
        try:
            found = probe()
        except CloudUnreachable as error:
            found, unanswered = None, error
        else:
            unanswered = None
        if found is not None:
            return found
        if clock() >= deadline:
            seen = unanswered.message if unanswered else last_seen()
            raise WaitTimeout(
                f"Timed out after {timeout:.0f} s waiting for {what}"
                + (f"; last seen: {seen}" if seen else "")
                + ".",
                fix=fix,
            )
        sleep(interval)
