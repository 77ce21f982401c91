"""Kernel networking check with a fake Runner: per-capability results and sure cleanup."""

from __future__ import annotations

import os

import pytest

from stacklab.doctor.models import CheckResult, Status
from stacklab.doctor.network import check_kernel_networking, namespace_names
from stacklab.errors import CommandError
from stacklab.runner import Completed


class FakeRunner:
    """Fails (or raises) on the first command containing `fail_on`."""

    where = "host"

    def __init__(self, fail_on: str | None = None, raise_instead: bool = False) -> None:
        self.commands: list[list[str]] = []
        self.fail_on = fail_on
        self.raise_instead = raise_instead

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed:
        self.commands.append(command)
        if self.fail_on and self.fail_on in " ".join(command):
            if self.raise_instead:
                raise RuntimeError("interrupted")
            if check:
                raise CommandError(command, 2, "Error: Unknown device type.")
            return Completed(tuple(command), 2, "", "Error")
        return Completed(tuple(command), 0, "", "")


LAB, PEER = namespace_names(os.getpid())


def deleted(runner: FakeRunner) -> list[str]:
    return [c[3] for c in runner.commands if c[:3] == ["ip", "netns", "delete"]]


def statuses(results: list[CheckResult]) -> dict[str, Status]:
    return {result.name: result.status for result in results}


def test_all_capabilities_pass_and_namespaces_are_deleted_at_the_end() -> None:
    runner = FakeRunner()
    results = check_kernel_networking(runner)

    assert statuses(results) == {
        "network: netns": Status.PASS,
        "network: bridge": Status.PASS,
        "network: veth": Status.PASS,
        "network: vxlan": Status.PASS,
        "network: nat": Status.PASS,
    }
    assert runner.commands[-2:] == [
        ["ip", "netns", "delete", PEER],
        ["ip", "netns", "delete", LAB],
    ]
    assert ["ip", "-n", LAB, "link", "set", "ve1", "netns", PEER] in runner.commands


def test_a_failing_capability_is_named_and_the_others_still_tried() -> None:
    runner = FakeRunner(fail_on="type vxlan")
    results = check_kernel_networking(runner)

    assert statuses(results)["network: vxlan"] is Status.FAIL
    assert statuses(results)["network: nat"] is Status.PASS
    vxlan = next(r for r in results if r.name == "network: vxlan")
    assert "Unknown device type" in vxlan.summary and vxlan.fix
    assert deleted(runner)[-2:] == [PEER, LAB]


def test_without_a_bridge_the_things_on_it_are_not_tried() -> None:
    runner = FakeRunner(fail_on="type bridge")
    results = check_kernel_networking(runner)

    assert statuses(results) == {
        "network: netns": Status.PASS,
        "network: bridge": Status.FAIL,
        "network: veth": Status.FAIL,
        "network: vxlan": Status.FAIL,
        "network: nat": Status.PASS,
    }
    assert "not tried" in results[2].summary
    assert not any("veth" in " ".join(c) for c in runner.commands)


def test_namespaces_are_deleted_even_when_the_check_is_interrupted() -> None:
    runner = FakeRunner(fail_on="nft", raise_instead=True)
    with pytest.raises(RuntimeError):
        check_kernel_networking(runner)
    assert deleted(runner)[-2:] == [PEER, LAB]
