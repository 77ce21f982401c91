"""How stacklab reaches an AWS lab, and what the provider refuses before calling AWS."""

from __future__ import annotations

import shlex
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from stacklab.catalog import load_catalog
from stacklab.config.models import Access, AwsProvider, Spec
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import ssh_argv
from stacklab.errors import SpecError
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.aws.errors import AwsTimeout
from stacklab.providers.aws.provider import AwsProvider as Provider
from stacklab.providers.ssh_wait import wait_for_ssh
from stacklab.runner import Completed

KEY = Path("/labs/l/ssh/id_ed25519")
KNOWN = Path("/labs/l/known_hosts")


def test_the_access_node_is_reached_directly_by_its_public_address() -> None:
    argv = ssh_argv(NodeAccess("network", "198.51.100.1", "root", 22, KEY), KNOWN, ["true"])
    assert argv[0] == "ssh" and argv[-2:] == ["root@198.51.100.1", "true"]
    assert not any(arg.startswith("ProxyCommand") for arg in argv)
    assert f"UserKnownHostsFile={KNOWN}" in argv


def test_other_nodes_go_through_the_access_node_with_the_same_key_and_known_hosts() -> None:
    access = NodeAccess("compute1", "10.0.0.12", "root", 22, KEY, "root@198.51.100.1")
    argv = ssh_argv(access, KNOWN)
    proxy = next(arg for arg in argv if arg.startswith("ProxyCommand="))
    jump = shlex.split(proxy.removeprefix("ProxyCommand="))
    assert jump[0] == "ssh" and jump[-3:] == ["-W", "%h:%p", "root@198.51.100.1"]
    assert str(KEY) in jump and f"UserKnownHostsFile={KNOWN}" in jump
    assert argv[-1] == "root@10.0.0.12"


class NeverAnswers:
    where = "host"

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def run(self, command: list[str], **options: Any) -> Completed:
        self.commands.append(command)
        return Completed(tuple(command), 255, "", "Connection timed out")


def test_waiting_for_ssh_gives_up_with_the_admin_cidr_hint() -> None:
    runner = NeverAnswers()
    access = NodeAccess("network", "198.51.100.1", "root", 22, KEY)
    with pytest.raises(AwsTimeout, match="Connection timed out") as timeout:
        wait_for_ssh(
            runner,
            [access],
            KNOWN,
            lambda m: None,
            timeout=0,
            timeout_error=AwsTimeout,
            sleep=lambda s: None,
        )
    assert timeout.value.fix and "admin_cidr" in timeout.value.fix
    assert len(runner.commands) == 1


def aws_plan() -> Any:
    spec = Spec.model_validate(
        {"name": "lab", "provider": {"kind": "aws"}, "access": {"admin_cidr": "192.0.2.1/32"}}
    )
    return make_plan(spec, load_catalog(with_host=False))


def test_a_private_key_without_its_key_pair_is_refused_before_any_aws_call() -> None:
    settings = AwsProvider(private_key_path=Path("/nonexistent/key"))
    aws = Provider(settings, access=Access(admin_cidr=IPv4Network("192.0.2.1/32")))
    with pytest.raises(SpecError) as refused:
        aws.check(aws_plan())
    assert [p.field for p in refused.value.problems] == ["provider.private_key_path"]


def test_a_spec_without_admin_cidr_is_refused_before_any_aws_call() -> None:
    with pytest.raises(SpecError) as refused:
        Provider(AwsProvider(), access=Access()).check(aws_plan())
    assert [p.field for p in refused.value.problems] == ["access.admin_cidr"]


def test_teardown_without_a_spec_takes_the_region_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert Provider.for_teardown().settings.region == "eu-central-1"
    assert Provider.for_teardown(region="ap-south-1").settings.region == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert Provider.for_teardown().settings.region == "us-east-1"
