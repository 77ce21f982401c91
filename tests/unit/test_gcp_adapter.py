"""The Compute adapter's edges against the stand-in: what GCP's refusals, an operation that
does not end and a network still in use become; where credentials come from. A few HTTP
calls each, sleeps counted and not slept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from compute_standin import ComputeStandIn
from google.auth.credentials import AnonymousCredentials

from stacklab.errors import ProviderError
from stacklab.providers.gcp.adapter import ComputeAdapter
from stacklab.providers.gcp.adapter.client import load_credentials
from stacklab.providers.gcp.errors import CREDENTIALS_FIX, GcpFailure, GcpTimeout

PROJECT = "stacklab-test"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def standin() -> Iterator[ComputeStandIn]:
    compute = ComputeStandIn(project=PROJECT)
    yield compute
    assert compute.violations == []


@pytest.fixture
def gcp(standin: ComputeStandIn) -> Iterator[tuple[ComputeAdapter, Clock]]:
    clock = Clock()
    with standin.serving() as endpoint:
        connected = ComputeAdapter.connect(
            project=PROJECT, endpoint=endpoint, credentials=AnonymousCredentials()
        )
        adapter = ComputeAdapter(
            PROJECT,
            connected._clients,
            operation_timeout=30,
            delete_timeout=30,
            sleep=clock.sleep,
            clock=lambda: clock.now,
        )
        yield adapter, clock


def test_a_refusal_names_the_call_and_the_roles_to_grant(
    standin: ComputeStandIn, gcp: tuple[ComputeAdapter, Clock]
) -> None:
    standin.refused["compute.networks.list"] = (403, "forbidden")
    with pytest.raises(GcpFailure, match=r"networks\.list failed: forbidden") as refused:
        gcp[0].networks()
    assert refused.value.fix and "Compute Network Admin" in refused.value.fix


def test_an_operation_that_does_not_end_times_out_naming_it(
    standin: ComputeStandIn, gcp: tuple[ComputeAdapter, Clock]
) -> None:
    standin.stuck.add("compute.networks.insert")
    adapter, clock = gcp
    with pytest.raises(GcpTimeout, match="network stacklab-x-management") as slow:
        adapter.insert_network("stacklab-x-management", 1460, "stacklab-lab=x")
    assert "RUNNING" in slow.value.message and clock.now >= 30
    assert set(clock.sleeps) == {2.0}, "paced between waits that answered early"
    assert standin.called("compute.globalOperations.wait") >= 1


def test_a_network_in_use_is_deleted_once_free_or_refused_after_the_deadline(
    standin: ComputeStandIn, gcp: tuple[ComputeAdapter, Clock]
) -> None:
    adapter, clock = gcp
    adapter.insert_network("net", 1460, "stacklab-lab=x")
    adapter.insert_subnetwork("us-central1", "net", "net", "10.0.0.0/24", "stacklab-lab=x")
    with pytest.raises(GcpFailure, match="resourceInUseByAnotherResource"):
        adapter.delete_network("net")
    assert clock.now >= 30 and clock.sleeps[:3] == [1.0, 2.0, 4.0], "retried, backing off"
    assert adapter.delete_subnetwork("us-central1", "net") is True
    assert adapter.delete_network("net") is True
    assert adapter.delete_network("net") is False, "gone already: nothing to do"
    assert adapter.networks() == []


def test_no_credentials_is_said_with_the_way_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ProviderError) as missing:
        load_credentials(None)
    assert missing.value.fix == CREDENTIALS_FIX
    broken = tmp_path / "key.json"
    broken.write_text('{"type": "service_account"}', encoding="utf-8")
    with pytest.raises(ProviderError, match=r"provider\.credentials_file") as unusable:
        load_credentials(broken)
    assert unusable.value.fix and "new JSON key" in unusable.value.fix
