from pathlib import Path

import pytest

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.engine import StepHandlers, run_steps
from stacklab.errors import HostError, NotYetImplemented, StepError, UnexpectedError, UserAbort
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan
from stacklab.state.db import StateDB


@pytest.fixture
def lab_plan() -> Plan:
    return plan(Spec(name="eng"), load_catalog(with_host=False))


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    database = StateDB(tmp_path / "state.db")
    yield database
    database.close()


def recorder(calls: list[str], name: str):
    return lambda _plan: calls.append(name)


def test_runs_in_plan_order_until_the_named_step(lab_plan: Plan, db: StateDB) -> None:
    calls: list[str] = []
    names = lab_plan.step_names[:3]
    handlers = StepHandlers({n: recorder(calls, n) for n in names}, frozenset())
    outcomes = run_steps(lab_plan, handlers, db, until=names[2])
    assert calls == list(names)
    assert [o.status for o in outcomes] == ["ok", "ok", "ok"]
    assert [e.step for e in db.journal("eng")] == list(names)


def test_second_run_skips_done_steps_but_reruns_always_steps(lab_plan: Plan, db: StateDB) -> None:
    calls: list[str] = []
    first, second = lab_plan.step_names[:2]
    handlers = StepHandlers(
        {first: recorder(calls, first), second: recorder(calls, second)}, frozenset({first})
    )
    run_steps(lab_plan, handlers, db, until=second)
    outcomes = run_steps(lab_plan, handlers, db, until=second)
    assert calls == [first, second, first]
    assert [o.status for o in outcomes] == ["ok", "skipped"]


def test_failed_step_is_journaled_and_rerun_resumes_there(lab_plan: Plan, db: StateDB) -> None:
    first, second = lab_plan.step_names[:2]
    calls: list[str] = []
    attempts = {"n": 0}

    def flaky(_plan: Plan) -> None:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise HostError("no bridge", fix="load the module")
        calls.append(second)

    handlers = StepHandlers({first: recorder(calls, first), second: flaky}, frozenset())
    with pytest.raises(StepError) as failure:
        run_steps(lab_plan, handlers, db, until=second)
    assert failure.value.step == second and "load the module" in failure.value.render()
    assert [e.status for e in db.journal("eng")] == ["ok", "failed"]
    outcomes = run_steps(lab_plan, handlers, db, until=second)
    assert [o.status for o in outcomes] == ["skipped", "ok"]
    assert calls == [first, second]


def test_changed_plan_reruns_a_done_step(lab_plan: Plan, db: StateDB) -> None:
    calls: list[str] = []
    first = lab_plan.step_names[0]
    handlers = StepHandlers({first: recorder(calls, first)}, frozenset())
    run_steps(lab_plan, handlers, db, until=first)
    changed = plan(Spec(name="eng", hypervisor="qemu"), load_catalog(with_host=False))
    run_steps(changed, handlers, db, until=first)
    assert calls == [first, first]


def test_missing_handler_says_not_implemented_and_how_to_stop_before(
    lab_plan: Plan, db: StateDB
) -> None:
    first, second = lab_plan.step_names[:2]
    handlers = StepHandlers({first: lambda _p: None}, frozenset())
    with pytest.raises(NotYetImplemented) as missing:
        run_steps(lab_plan, handlers, db)
    assert f"'{second}'" in missing.value.message
    assert f"--until {first}" in (missing.value.fix or "")


def test_interrupt_is_journaled_as_interrupted(lab_plan: Plan, db: StateDB) -> None:
    first = lab_plan.step_names[0]

    def interrupted(_plan: Plan) -> None:
        raise KeyboardInterrupt

    with pytest.raises(UserAbort):
        run_steps(lab_plan, StepHandlers({first: interrupted}, frozenset()), db)
    assert db.journal("eng")[0].status == "interrupted"


def test_a_bare_exception_fails_the_step_like_a_known_error_and_rerun_resumes(
    lab_plan: Plan, db: StateDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first, second = lab_plan.step_names[:2]
    calls: list[str] = []

    def reads_a_missing_file(_plan: Plan) -> None:
        if second not in calls:
            calls.append(second)
            (tmp_path / "no-such-file").read_text()

    handlers = StepHandlers(
        {first: recorder(calls, first), second: reads_a_missing_file}, frozenset()
    )
    with pytest.raises(StepError) as failure:
        run_steps(lab_plan, handlers, db, until=second)
    cause = failure.value.cause
    assert isinstance(cause, UnexpectedError)
    assert isinstance(failure.value.__cause__, FileNotFoundError)
    shown = failure.value.render()
    assert f"Unexpected FileNotFoundError in step '{second}'" in shown
    assert "no-such-file" in shown and "Traceback" not in shown
    assert cause.log is not None and "Traceback" in cause.log.read_text()
    assert str(cause.log) in shown
    journal = db.journal("eng")
    assert [e.status for e in journal] == ["ok", "failed"]
    assert "FileNotFoundError" in (journal[-1].error or "")
    outcomes = run_steps(lab_plan, handlers, db, until=second)
    assert [o.status for o in outcomes] == ["skipped", "ok"]


def test_a_full_disk_in_a_step_names_the_path_and_the_fix(
    lab_plan: Plan, db: StateDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first = lab_plan.step_names[0]
    full = Path("/dev/full")  # every write to it fails with ENOSPC

    def writes(_plan: Plan) -> None:
        with full.open("w") as device:
            device.write("x")
            device.flush()

    with pytest.raises(StepError) as failure:
        run_steps(lab_plan, StepHandlers({first: writes}, frozenset()), db, until=first)
    assert isinstance(failure.value.cause, HostError)
    shown = failure.value.render()
    assert "No space left" in shown and "df -h" in shown and "resumes at this step" in shown
    assert db.journal("eng")[-1].status == "failed"


def test_a_step_left_running_by_a_killed_run_is_marked_killed(lab_plan: Plan, db: StateDB) -> None:
    first = lab_plan.step_names[0]
    db.start_step("eng", first, "digest")  # its `up` was killed: the step never ended
    db.start_step("other", first, "digest")  # another lab's, running now
    run_steps(lab_plan, StepHandlers({first: lambda _plan: None}, frozenset()), db, until=first)
    statuses = [(e.status, e.error or "") for e in db.journal("eng")]
    assert statuses[0][0] == "killed" and "killed" in statuses[0][1]
    assert statuses[1:] == [("ok", "")]
    assert [e.status for e in db.journal("other")] == ["running"]
