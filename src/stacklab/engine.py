"""Runs the steps of a plan in order, journaling each: a failed or interrupted run
resumes where it stopped, and a step whose inputs did not change is not redone."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stacklab.errors import NotYetImplemented, StacklabError, StepError, UserAbort
from stacklab.plan.models import Plan, Step
from stacklab.state.db import StateDB
from stacklab.step_failures import as_step_error, explained

StepHandler = Callable[[Plan], None]


@dataclass(frozen=True)
class StepHandlers:
    """What each step of `up` does. Steps marked `always` are idempotent checks of the
    infrastructure (a node may have died since), so they run every time."""

    handlers: Mapping[str, StepHandler]
    always: frozenset[str]


@dataclass(frozen=True)
class StepOutcome:
    step: str
    status: str  # ok | skipped
    seconds: float


StepObserver = Callable[[Step, str], None]


def inputs_hash(plan: Plan, step: str) -> str:
    payload = json.dumps({"step": step, "plan": plan.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_steps(
    plan: Plan,
    handlers: StepHandlers,
    db: StateDB,
    *,
    until: str | None = None,
    observe: StepObserver | None = None,
) -> list[StepOutcome]:
    # Called with the lab's lock held: a step still `running` is one whose command was killed
    # (kill -9, a crash of the host); `status` would show it running for good.
    db.end_abandoned_steps(plan.lab, "the command running it was killed; a later `up` resumed")
    outcomes: list[StepOutcome] = []
    for step in plan.steps:
        digest = inputs_hash(plan, step.name)
        done = db.last_success(plan.lab, step.name)
        if done and done.inputs_hash == digest and step.name not in handlers.always:
            outcomes.append(StepOutcome(step.name, "skipped", 0.0))
            if observe:
                observe(step, "skipped")
        else:
            handler = handlers.handlers.get(step.name)
            if handler is None:
                raise NotYetImplemented(
                    f"Step '{step.name}' ({step.description}) is not implemented in this "
                    "version of stacklab; every step before it completed.",
                    fix=f"stop before it with `stacklab up --until {_previous(plan, step)}`; "
                    "`stacklab down` removes what was made",
                )
            outcomes.append(_run_one(plan, step, handler, db, digest, observe))
        if step.name == until:
            break
    return outcomes


def _previous(plan: Plan, step: Step) -> str:
    names = plan.step_names
    index = names.index(step.name)
    return names[index - 1] if index > 0 else names[0]


def _run_one(
    plan: Plan,
    step: Step,
    handler: StepHandler,
    db: StateDB,
    digest: str,
    observe: StepObserver | None,
) -> StepOutcome:
    entry = db.start_step(plan.lab, step.name, digest)
    if observe:
        observe(step, "running")
    started = time.monotonic()
    try:
        handler(plan)
    except KeyboardInterrupt:
        db.end_step(entry, "interrupted", "interrupted by the user")
        raise UserAbort(
            f"Interrupted during step '{step.name}'.",
            fix="run `stacklab up` again: it resumes from the journal",
        ) from None
    except StacklabError as failure:
        error = explained(failure)
        db.end_step(entry, "failed", error.render())
        raise StepError(step.name, error) from failure
    except Exception as unforeseen:
        cause = as_step_error(plan.lab, step.name, unforeseen)
        db.end_step(entry, "failed", cause.render())
        raise StepError(step.name, cause) from unforeseen
    seconds = time.monotonic() - started
    db.end_step(entry, "ok")
    if observe:
        observe(step, "ok")
    return StepOutcome(step.name, "ok", seconds)
