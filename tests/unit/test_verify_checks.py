"""Verify's pure parts: waiting with a timeout told apart from a failure, the guest's console
markers, server states, services, the phase log and the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from stacklab.core.nodes import NodeAccess
from stacklab.core.wait import wait_until
from stacklab.errors import CloudUnreachable, StacklabError, VerifyFailed, WaitTimeout
from stacklab.images.console_markers import read_markers
from stacklab.openstack_records import ServerRecord, ServiceRecord
from stacklab.runner import Completed
from stacklab.verify.checks import (
    GuestFailed,
    GuestLogin,
    ec2_instance_id,
    full_size_ping,
    guest_progress,
    login_answer,
    mtu_mismatch,
    server_hostname,
    services_down,
)
from stacklab.verify.phases import Outcome, PhaseLog, VerifyResult
from stacklab.verify.reach import NodeRunner
from stacklab.workloads.servers import ServerFailed, active_or_failed

SERVER_ID = "5d0b3c1e-0000-4000-8000-000000000001"
IDS = {SERVER_ID, "i-0000000a"}
KEY_PATH = Path("/labs/v1/ssh/id_ed25519")
KNOWN = Path("/labs/v1/known_hosts")

T = TypeVar("T")


def poll(probe: Callable[[], T | None], **how: Any) -> T:
    """wait_until as the cloud's waits call it: an API that did not answer is "not yet"."""
    return wait_until(probe, retry_on=(CloudUnreachable,), **how)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_poll_returns_the_first_value() -> None:
    answers = iter([None, None, "ready"])
    clock = FakeClock()
    found = poll(
        lambda: next(answers), timeout=60, interval=2, what="x", clock=clock, sleep=clock.sleep
    )
    assert found == "ready"
    assert clock.now == 4


def test_poll_times_out_saying_what_it_last_saw() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as raised:
        poll(
            lambda: None,
            timeout=10,
            interval=3,
            what="server s1 to be ACTIVE",
            last_seen=lambda: "status BUILD",
            clock=clock,
            sleep=clock.sleep,
        )
    assert "Timed out after 10 s waiting for server s1 to be ACTIVE" in raised.value.message
    assert "last seen: status BUILD" in raised.value.message
    assert 10 <= clock.now < 13


def test_poll_passes_a_failure_on_at_once() -> None:
    clock = FakeClock()

    def probe() -> str | None:
        raise ServerFailed("went to ERROR")

    with pytest.raises(ServerFailed):
        poll(probe, timeout=100, interval=1, what="x", clock=clock, sleep=clock.sleep)
    assert clock.now == 0


def test_poll_asks_again_when_the_api_did_not_answer() -> None:
    clock = FakeClock()
    answers: list[Exception | str] = [CloudUnreachable("connection reset"), "gone"]

    def probe() -> str | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert poll(probe, timeout=60, interval=2, what="x", clock=clock, sleep=clock.sleep) == "gone"


def test_poll_that_times_out_on_an_unanswering_api_says_so() -> None:
    clock = FakeClock()

    def probe() -> str | None:
        raise CloudUnreachable("ConnectFailure: nova-api")

    with pytest.raises(WaitTimeout, match="last seen: ConnectFailure: nova-api"):
        poll(probe, timeout=5, interval=2, what="x", clock=clock, sleep=clock.sleep)


def server(status: str, fault: str | None = None) -> ServerRecord:
    return ServerRecord(SERVER_ID, "stacklab-verify-1", status, fault, {}, (), ())


def test_server_states() -> None:
    assert active_or_failed(server("BUILD"), SERVER_ID) is None
    assert active_or_failed(server("ACTIVE"), SERVER_ID) == server("ACTIVE")
    with pytest.raises(ServerFailed, match=r"No valid host was found\.$"):
        active_or_failed(server("ERROR", "No valid host was found. "), SERVER_ID)
    with pytest.raises(ServerFailed, match="disappeared"):
        active_or_failed(None, SERVER_ID)


BOOTED = "[    1.9] STACKLAB-BOOTED\r\nSTACKLAB-ADDRESS 192.168.0.23\r\n"


def test_console_still_booting_then_finished() -> None:
    assert guest_progress(read_markers(BOOTED), IDS) is None
    metadata = BOOTED + f"STACKLAB-METADATA-OK {SERVER_ID}\r\n"
    assert guest_progress(read_markers(metadata), IDS) is None  # SSH not decided yet
    done = guest_progress(read_markers(metadata + "STACKLAB-SSH-READY\r\n"), IDS)
    assert done is not None and done.ssh_ready and done.address == "192.168.0.23"


def test_the_metadata_may_call_the_instance_by_its_ec2_id() -> None:
    assert ec2_instance_id("instance-0000000a") == "i-0000000a"
    assert ec2_instance_id(None) is None and ec2_instance_id("vm-1") is None
    console = BOOTED + "STACKLAB-METADATA-OK i-0000000a\nSTACKLAB-SSH-UNAVAILABLE no key\n"
    done = guest_progress(read_markers(console), IDS)
    assert done is not None and done.ssh_unavailable == "no key"


@pytest.mark.parametrize(
    ("console", "reason"),
    [
        ("STACKLAB-BOOTED\nSTACKLAB-DHCP-FAILED\n", "no DHCP lease"),
        (BOOTED + "STACKLAB-METADATA-FAILED no answer from 169.254.169.254:80\n", "169.254"),
        (BOOTED + "STACKLAB-METADATA-OK 11111111-2222\nSTACKLAB-SSH-READY\n", "11111111-2222"),
        (
            BOOTED + f"STACKLAB-METADATA-OK {SERVER_ID}\nSTACKLAB-HOSTNAME-FAILED HTTP 404\n",
            "hostname from the metadata: HTTP 404",
        ),
        (
            BOOTED + f"STACKLAB-METADATA-OK {SERVER_ID}\nSTACKLAB-HOSTNAME other-vm\n",
            "hostname other-vm from the metadata, not stacklab-verify-1",
        ),
    ],
)
def test_console_failures_end_the_wait_with_the_reason(console: str, reason: str) -> None:
    with pytest.raises(GuestFailed, match=reason):
        guest_progress(read_markers(console), IDS, "stacklab-verify-1")


def test_the_guest_hostname_is_the_server_name_as_nova_makes_it_a_hostname() -> None:
    console = BOOTED + f"STACKLAB-METADATA-OK {SERVER_ID}\nSTACKLAB-HOSTNAME stacklab-verify-1\n"
    done = guest_progress(read_markers(console + "STACKLAB-SSH-READY\n"), IDS, "stacklab-verify-1")
    assert done is not None and done.hostname == "stacklab-verify-1"
    assert server_hostname("stacklab-verify-1") == "stacklab-verify-1"
    assert (
        server_hostname("tempest-ServersTestJSON-server-12") == "tempest-serverstestjson-server-12"
    )
    assert server_hostname("My web_server.1!") == "my-web-server-1"
    assert len(server_hostname("x" * 80)) == 63


def test_services_down_names_each_and_notices_missing_kinds() -> None:
    services = [
        ServiceRecord("compute", "nova-compute", "aio", True),
        ServiceRecord("network", "DHCP agent", "aio", False),
    ]
    assert services_down(services) == ["DHCP agent on aio"]
    assert services_down(services[:1]) == ["no network agent registered"]
    assert services_down([]) == [
        "no nova-compute service registered",
        "no network agent registered",
    ]


def test_phase_log_times_each_phase_and_records_a_failure() -> None:
    clock = FakeClock()
    reported: list[str] = []
    log = PhaseLog(lambda result: reported.append(result.name), clock=clock)
    with log.phase("boot") as detail:
        clock.now += 12.5
        detail.append("ACTIVE")
    with pytest.raises(StacklabError), log.phase("ping"):
        clock.now += 3
        raise StacklabError("no answer")
    log.skipped("ssh", "no SSH server")
    assert [(r.name, r.outcome, r.seconds, r.detail) for r in log.results] == [
        ("boot", Outcome.OK, 12.5, "ACTIVE"),
        ("ping", Outcome.FAILED, 3.0, "no answer"),
        ("ssh", Outcome.SKIPPED, 0.0, "no SSH server"),
    ]
    assert reported == ["boot", "ping", "ssh"]


def test_a_failed_result_raises_with_its_phases_and_a_passed_one_does_not() -> None:
    log = PhaseLog()
    with log.phase("boot"):
        pass
    passed = VerifyResult("v1", True, "instance ACTIVE", tuple(log.results))
    passed.raise_if_failed()
    assert passed.to_dict()["passed"] is True
    failed = VerifyResult("v1", False, "no ping", tuple(log.results), fix="check the router")
    with pytest.raises(VerifyFailed) as raised:
        failed.raise_if_failed()
    assert raised.value.fix == "check the router"
    assert "boot" in (raised.value.details or "")
    assert failed.lines()[-1].startswith("verify FAILED")


class RecordingRunner:
    where = "host"

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

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
        return Completed(tuple(command), 0, "", "")


def test_node_runner_runs_the_command_over_ssh_to_the_node() -> None:
    host = RecordingRunner()
    node = NodeAccess("net", "203.0.113.7", "admin", 22, KEY_PATH)
    runner = NodeRunner(node, KNOWN, host)
    runner.run(["ping", "-c", "1", "10.0.2.130"], check=False)
    (argv,) = host.commands
    assert argv[0] == "ssh" and "admin@203.0.113.7" in argv
    assert argv[-1] == "ping -c 1 10.0.2.130"
    assert f"UserKnownHostsFile={KNOWN}" in argv
    assert runner.where == "net"


def test_the_guest_login_answers_with_the_token_its_hostname_and_its_mtu() -> None:
    assert login_answer("ab12", "ab12 vm-1 1402\n") == GuestLogin("vm-1", 1402)
    assert login_answer("ab12", "ab12 vm-1\n") == GuestLogin("vm-1", None)  # MTU unread
    assert login_answer("ab12", "cd34 vm-1 1402") is None  # not this login's answer
    assert login_answer("ab12", "") is None


def test_a_guest_mtu_other_than_its_networks_is_named() -> None:
    assert mtu_mismatch(GuestLogin("vm", 1402), 1402) is None
    assert mtu_mismatch(GuestLogin("vm", None), 1402) is None
    assert mtu_mismatch(GuestLogin("vm", 1500), 1402) == (
        "the instance's interface has MTU 1500, its network 1402"
    )


def test_the_full_size_ping_sends_packets_of_exactly_the_mtu_unfragmented() -> None:
    argv = full_size_ping("198.51.100.20", 1402)
    assert argv[argv.index("-M") + 1] == "do"
    assert int(argv[argv.index("-s") + 1]) + 20 + 8 == 1402  # IPv4 and ICMP headers
    assert argv[-1] == "198.51.100.20"
