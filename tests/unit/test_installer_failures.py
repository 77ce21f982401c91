"""What a failed install task looks like to the user."""

from __future__ import annotations

from pathlib import Path

from stacklab.engine import StepError
from stacklab.installer.failures import (
    TAIL_LINES,
    InstallError,
    TaskFailure,
    failure_from_event,
    output_lines,
)


def failed_event(res: dict[str, object], *, ignore_errors: bool = False) -> dict[str, object]:
    return {
        "event": "runner_on_failed",
        "event_data": {
            "host": "aio",
            "task": "Migrate Nova's databases",
            "res": res,
            "ignore_errors": ignore_errors,
        },
    }


def test_a_failed_command_gives_node_task_and_output() -> None:
    res = {"cmd": ["nova-manage", "db", "sync"], "rc": 1, "stderr": "boom\nreally boom"}
    failure = failure_from_event(failed_event(res))
    assert failure == TaskFailure(
        "aio",
        "Migrate Nova's databases",
        ("$ nova-manage db sync", "boom", "really boom", "(exit code 1)"),
    )


def test_ignored_failures_and_other_events_are_no_failures() -> None:
    assert failure_from_event(failed_event({"msg": "x"}, ignore_errors=True)) is None
    assert failure_from_event({"event": "runner_on_ok", "event_data": {}}) is None


def test_unreachable_node_is_a_failure() -> None:
    event = {
        "event": "runner_on_unreachable",
        "event_data": {"host": "compute1", "task": "Network facts", "res": {"msg": "timeout"}},
    }
    failure = failure_from_event(event)
    assert failure is not None and failure.unreachable and failure.output == ("timeout",)


def test_a_loop_shows_the_failed_items_output() -> None:
    res = {
        "msg": "One or more items failed",
        "results": [
            {"failed": False, "stdout": "fine"},
            {"failed": True, "msg": "systemctl start nova-api failed", "stdout": "status"},
        ],
    }
    assert output_lines(res) == ["status", "systemctl start nova-api failed"]


def test_render_is_one_screen_with_step_node_task_tail_and_log() -> None:
    output = tuple(f"line {n}" for n in range(100))
    log = Path("/state/labs/lab/ansible/artifacts/compute-1/stdout")
    error = InstallError("compute", TaskFailure("aio", "Start nova-api", output), log)
    shown = StepError("compute", error).render()
    lines = shown.splitlines()
    assert lines[0] == "Step 'compute' failed."
    assert "task 'Start nova-api'" in shown and "node aio" in shown
    assert "line 99" in shown and f"line {99 - TAIL_LINES}" not in shown
    assert f"Full log: {log}" in shown
    assert "Traceback" not in shown
    assert len(lines) <= TAIL_LINES + 6


def test_render_says_so_when_a_task_printed_nothing() -> None:
    error = InstallError("image", TaskFailure("aio", "Glance answers", ()), Path("/log"))
    assert "(the task printed nothing)" in error.render()


def test_unreachable_render_names_the_ssh_fix() -> None:
    failure = TaskFailure("compute1", "Network facts", ("timeout",), unreachable=True)
    shown = InstallError("network", failure, Path("/log")).render()
    assert "could not reach node compute1" in shown and "stacklab ssh compute1" in shown
