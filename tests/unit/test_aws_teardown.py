"""Teardown order and tag filters of the AWS provider (issue 6, item 5). Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from stacklab.providers.aws.records import (
    Address,
    Instance,
    KeyPair,
    NetworkInterface,
    Subnet,
    Vpc,
)
from stacklab.providers.aws.tags import Tagger, lab_filter
from stacklab.providers.aws.teardown import (
    DELETION_ORDER,
    HELD_BY,
    LabInventory,
    in_deletion_order,
)
from stacklab.providers.base import FoundResource

TAGS = {"stacklab:lab": "lab", "Name": "stacklab-lab-x"}


def test_every_kind_is_deleted_after_whatever_holds_it() -> None:
    assert set(DELETION_ORDER) == set(HELD_BY)
    for kind, holders in HELD_BY.items():
        for holder in holders:
            assert DELETION_ORDER.index(holder) < DELETION_ORDER.index(kind), (holder, kind)


def test_found_resources_are_sorted_into_deletion_order() -> None:
    mixed = [FoundResource(kind, f"id-{kind}") for kind in reversed(DELETION_ORDER)]
    assert [r.kind for r in in_deletion_order(mixed)] == list(DELETION_ORDER)


def test_an_inventory_lists_instances_first_and_the_vpc_and_key_pair_last() -> None:
    found = LabInventory(
        vpcs=(Vpc("vpc-1", ("10.0.0.0/22",), TAGS),),
        key_pairs=(KeyPair("stacklab-lab", "key-1", TAGS),),
        subnets=(Subnet("subnet-1", "vpc-1", "10.0.0.0/24", "us-east-1a", TAGS),),
        interfaces=(
            NetworkInterface(
                "eni-1",
                "subnet-1",
                "10.0.0.10",
                (),
                "in-use",
                True,
                "a",
                "i-1",
                {**TAGS, "stacklab:node": "controller"},
            ),
        ),
        addresses=(Address("eipalloc-1", "198.51.100.1", "assoc", "eni-1", TAGS),),
        instances=(
            Instance(
                "i-1",
                "running",
                "m8i.xlarge",
                datetime(2026, 1, 1, tzinfo=UTC),
                {**TAGS, "stacklab:node": "controller"},
            ),
        ),
    )
    resources = found.resources()
    assert [r.kind for r in resources] == [
        "instance",
        "elastic-ip",
        "network-interface",
        "subnet",
        "vpc",
        "key-pair",
    ]
    assert resources[0].state == "running"
    assert resources[0].details["node"] == "controller"
    assert resources[0].details["instance_type"] == "m8i.xlarge"
    assert not found.empty
    assert LabInventory().empty
    assert LabInventory().resources() == []


def test_tag_filters_match_the_lab_and_narrow_by_node_network_or_part() -> None:
    assert lab_filter("lab") == {"tag:stacklab:lab": ("lab",)}
    assert lab_filter("lab", node="compute1", network="overlay") == {
        "tag:stacklab:lab": ("lab",),
        "tag:stacklab:node": ("compute1",),
        "tag:stacklab:network": ("overlay",),
    }
    assert lab_filter("lab", part="vpc")["tag:stacklab:part"] == ("vpc",)


def test_every_tag_set_carries_the_lab_its_name_and_owner() -> None:
    tags = Tagger("lab", "alice").tags("compute1", "overlay", node="compute1", network="overlay")
    assert tags == {
        "stacklab:lab": "lab",
        "Name": "stacklab-lab-compute1-overlay",
        "Owner": "alice",
        "stacklab:node": "compute1",
        "stacklab:network": "overlay",
    }
