"""The EC2 adapter's edges, with a fake boto3 client: errors, retries, timeouts, the launch
request, and the newest-image choice. Offline; sleeps are counted, not slept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from stacklab.catalog.models import ImageSource
from stacklab.errors import ProviderError
from stacklab.providers.aws.adapter import Ec2Adapter
from stacklab.providers.aws.errors import AwsFailure, AwsTimeout
from stacklab.providers.aws.nodes import resolve_image
from stacklab.providers.aws.records import AttachedNic, Image, LaunchRequest
from stacklab.providers.aws.retry import Pacing, poll, retry


@dataclass
class FakeClock:
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def pacing(self) -> Pacing:
        return Pacing(first_delay=1.0, longest_delay=4.0, sleep=self.sleep, clock=lambda: self.now)


def client_error(code: str, operation: str = "DeleteVpc") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code}!"}}, operation)


class FakeClient:
    """Answers each method from a script: exceptions are raised, anything else returned."""

    def __init__(self, **scripts: list[Any]):
        self.scripts = scripts
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def can_paginate(self, method: str) -> bool:
        return False

    def __getattr__(self, method: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((method, kwargs))
            answer = self.scripts[method].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


def adapter(client: FakeClient, clock: FakeClock) -> Ec2Adapter:
    return Ec2Adapter(client, pacing=clock.pacing(), delete_timeout=10, visible_timeout=10)


def test_a_delete_waits_out_dependency_violations_then_succeeds() -> None:
    clock = FakeClock()
    client = FakeClient(delete_vpc=[client_error("DependencyViolation")] * 2 + [{}])
    assert adapter(client, clock).delete("vpc", "vpc-1") is True
    assert [kwargs for _, kwargs in client.calls] == [{"VpcId": "vpc-1"}] * 3
    assert clock.sleeps == [1.0, 2.0]


def test_deleting_what_is_gone_already_is_done() -> None:
    client = FakeClient(delete_subnet=[client_error("InvalidSubnetID.NotFound", "DeleteSubnet")])
    assert adapter(client, FakeClock()).delete("subnet", "subnet-1") is False


def test_a_delete_that_stays_blocked_times_out_distinctly() -> None:
    clock = FakeClock()
    client = FakeClient(delete_vpc=[client_error("DependencyViolation")] * 50)
    with pytest.raises(AwsTimeout, match="DependencyViolation") as timeout:
        adapter(client, clock).delete("vpc", "vpc-1")
    assert timeout.value.fix and "down" in timeout.value.fix
    assert 10 <= clock.now <= 14


def test_an_error_retrying_cannot_cure_fails_at_once_with_its_fix() -> None:
    clock = FakeClock()
    client = FakeClient(delete_vpc=[client_error("UnauthorizedOperation")])
    with pytest.raises(AwsFailure) as failure:
        adapter(client, clock).delete("vpc", "vpc-1")
    assert (failure.value.code, failure.value.operation) == ("UnauthorizedOperation", "DeleteVpc")
    assert failure.value.fix and "IAM" in failure.value.fix
    assert clock.sleeps == []


def test_the_launch_request_asks_for_nested_virtualization_and_keeps_its_token() -> None:
    instance = {"InstanceId": "i-1", "State": {"Name": "pending"}, "InstanceType": "m8i.xlarge"}
    client = FakeClient(
        run_instances=[
            client_error("InvalidNetworkInterfaceID.NotFound"),
            {"Instances": [instance]},
        ]
    )
    request = LaunchRequest(
        image_id="ami-1",
        instance_type="m8i.2xlarge",
        key_name="k",
        nics=(AttachedNic(0, "eni-a"), AttachedNic(1, "eni-b")),
        root_device_name="/dev/xvda",
        root_volume_gb=60,
        iops=4000,
        ebs_optimized=True,
        nested_virtualization=True,
        user_data="#cloud-config\n",
        tags={"stacklab:lab": "lab"},
    )
    assert adapter(client, FakeClock()).run_instance(request).id == "i-1"
    (_, first), (_, second) = client.calls
    assert first["ClientToken"] == second["ClientToken"], "a retry must not launch twice"
    assert second["CpuOptions"] == {"NestedVirtualization": "enabled"}
    assert second["NetworkInterfaces"] == [
        {"DeviceIndex": 0, "NetworkInterfaceId": "eni-a"},
        {"DeviceIndex": 1, "NetworkInterfaceId": "eni-b"},
    ]
    assert second["BlockDeviceMappings"][0]["Ebs"] == {
        "VolumeSize": 60,
        "VolumeType": "gp3",
        "DeleteOnTermination": True,
        "Iops": 4000,
    }
    assert [spec["ResourceType"] for spec in second["TagSpecifications"]] == ["instance", "volume"]
    assert second["MetadataOptions"]["HttpTokens"] == "required", "IMDSv2 only"

    plain = FakeClient(run_instances=[{"Instances": [instance]}])
    request = LaunchRequest(**{**request.__dict__, "nested_virtualization": False, "iops": None})
    adapter(plain, FakeClock()).run_instance(request)
    assert "CpuOptions" not in plain.calls[0][1]
    assert "Iops" not in plain.calls[0][1]["BlockDeviceMappings"][0]["Ebs"]


def test_waiting_for_a_launch_that_dies_fails_instead_of_timing_out() -> None:
    dead = {
        "InstanceId": "i-1",
        "State": {"Name": "terminated"},
        "StateReason": {"Message": "Server.InsufficientInstanceCapacity"},
    }
    client = FakeClient(describe_instances=[{"Reservations": [{"Instances": [dead]}]}])
    with pytest.raises(AwsFailure, match="InsufficientInstanceCapacity"):
        adapter(client, FakeClock()).wait_for_instances(["i-1"], "running")


def test_poll_times_out_with_what_it_saw_last() -> None:
    clock = FakeClock()
    with pytest.raises(AwsTimeout, match=r"instances.*last seen: pending"):
        poll(
            lambda: None,
            timeout=5,
            what="instances",
            fix="f",
            pacing=clock.pacing(),
            last_seen=lambda: "pending",
        )
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_retry_returns_the_first_success() -> None:
    answers: list[Any] = [AwsFailure("X", "InvalidVpcID.NotFound", "not yet"), "made"]

    def action() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    made = retry(
        action,
        retry_codes=frozenset({"InvalidVpcID.NotFound"}),
        timeout=10,
        what="w",
        fix="f",
        pacing=FakeClock().pacing(),
    )
    assert made == "made"


class FakeImages:
    region = "eu-west-1"

    def __init__(self, images: list[Image]):
        self.found = images
        self.asked: dict[str, Any] = {}

    def images(self, **query: Any) -> list[Image]:
        self.asked = query
        return self.found

    def image(self, image_id: str) -> Image | None:
        return next((i for i in self.found if i.id == image_id), None)


SOURCE = ImageSource(owner="136693071363", name_patterns={"debian-13": "debian-13-amd64-*"})


def test_the_newest_official_image_by_creation_date_wins() -> None:
    ec2 = FakeImages(
        [
            Image(
                "ami-old", "debian-13-amd64-20250901-1", "2025-09-01T10:00:00.000Z", "/dev/xvda", ""
            ),
            Image(
                "ami-new", "debian-13-amd64-20250101-1", "2025-10-01T10:00:00.000Z", "/dev/xvda", ""
            ),
        ]
    )
    assert resolve_image(ec2, None, SOURCE, "debian-13").id == "ami-new"
    assert ec2.asked == {
        "owner": "136693071363",
        "name_pattern": "debian-13-amd64-*",
        "architecture": "x86_64",
    }


def test_a_spec_image_is_used_as_given_and_an_unknown_one_is_refused() -> None:
    golden = Image("ami-golden", "lab-golden", "2026-01-01", "/dev/xvda", "")
    ec2 = FakeImages([golden])
    assert resolve_image(ec2, "ami-golden", SOURCE, "debian-13") == golden
    with pytest.raises(ProviderError, match="ami-missing"):
        resolve_image(ec2, "ami-missing", SOURCE, "debian-13")
    with pytest.raises(ProviderError, match="No debian-13 image"):
        resolve_image(FakeImages([]), None, SOURCE, "debian-13")
