"""Bootstrap's find-or-create decisions on plain data, and the resources it wants from a Plan."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest

from stacklab.bootstrap.decisions import (
    Action,
    find_network,
    flavor_differences,
    image_decision,
    keypair_action,
    missing_flavors,
    missing_rules,
    quota_updates,
    subnet_conflict,
    subnet_needs_update,
)
from stacklab.bootstrap.resources import (
    DEMO_RULES,
    FLAVORS,
    IMAGE_HASH_PROPERTY,
    SubnetSpec,
    lab_networks,
    tenant_cidr,
)
from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, Spec
from stacklab.errors import StacklabError
from stacklab.openstack_records import (
    FlavorRecord,
    ImageRecord,
    NetworkRecord,
    RuleRecord,
    SubnetRecord,
)
from stacklab.plan.planner import plan

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0bRBlVtp4S8mNqa3Lr7J3Cz6F1Bkl2yVx6b7mZ3p2Q"


def flavor_record(name: str, ram: int, vcpus: int, disk: int) -> FlavorRecord:
    return FlavorRecord(f"id-{name}", name, ram, vcpus, disk)


def as_records() -> list[FlavorRecord]:
    return [flavor_record(f.name, f.ram_mb, f.vcpus, f.disk_gb) for f in FLAVORS]


def test_flavors_all_missing_on_a_fresh_cloud_and_none_once_made() -> None:
    assert missing_flavors(FLAVORS, []) == FLAVORS
    assert missing_flavors(FLAVORS, as_records()) == ()


def test_tiny_fits_the_test_image() -> None:
    tiny = next(f for f in FLAVORS if f.name == "m1.tiny")
    assert (tiny.ram_mb, tiny.vcpus, tiny.disk_gb) == (256, 1, 1)


def test_a_flavor_of_the_same_name_but_other_size_is_reported_not_recreated() -> None:
    existing = [*as_records()[1:], flavor_record("m1.tiny", 512, 1, 1)]
    assert missing_flavors(FLAVORS, existing) == ()
    differences = flavor_differences(FLAVORS, existing)
    assert list(differences) == ["m1.tiny"]
    assert "512 MB" in differences["m1.tiny"] and "256 MB" in differences["m1.tiny"]


def test_quota_updates_are_only_the_values_that_differ() -> None:
    wanted = {"instances": 20, "cores": 40}
    assert quota_updates(wanted, {"instances": 10, "cores": 40, "ram": 1}) == {"instances": 20}
    assert quota_updates(wanted, wanted) == {}


def test_rules_match_whatever_way_neutron_spells_anywhere() -> None:
    # Neutron returns no prefix for "anywhere" rules made without one; protocol in any case.
    existing = [
        RuleRecord("ingress", "IPv4", "ICMP", None, None, None),
        RuleRecord("egress", "IPv4", None, None, None, None),
    ]
    assert missing_rules(DEMO_RULES, existing) == (DEMO_RULES[1],)
    assert missing_rules(DEMO_RULES, [*existing, DEMO_RULES[1]]) == ()


def test_a_rule_from_a_narrower_prefix_or_other_port_does_not_count() -> None:
    existing = [
        RuleRecord("ingress", "IPv4", "icmp", None, None, "10.0.0.0/8"),
        RuleRecord("ingress", "IPv4", "tcp", 2222, 2222, "0.0.0.0/0"),
    ]
    assert missing_rules(DEMO_RULES, existing) == DEMO_RULES


def image(image_id: str, status: str = "active", **properties: str) -> ImageRecord:
    return ImageRecord(image_id, "stacklab-test", status, "public", properties)


def test_the_active_image_of_the_same_inputs_is_kept() -> None:
    kept = image("new", **{IMAGE_HASH_PROPERTY: "h2", "kernel_id": "k"})
    images = [image("old", **{IMAGE_HASH_PROPERTY: "h1"}), kept]
    decision = image_decision(
        images, "stacklab-test", {IMAGE_HASH_PROPERTY: "h2", "kernel_id": "k"}
    )
    assert decision.keep == kept
    assert [i.id for i in decision.stale] == ["old"]


@pytest.mark.parametrize(
    "existing",
    [
        image("queued", "queued", **{IMAGE_HASH_PROPERTY: "h2", "kernel_id": "k"}),  # cut upload
        image("other-kernel", **{IMAGE_HASH_PROPERTY: "h2", "kernel_id": "old-kernel"}),
        image("other-inputs", **{IMAGE_HASH_PROPERTY: "h1", "kernel_id": "k"}),
    ],
)
def test_an_image_that_does_not_match_is_uploaded_again_and_then_stale(
    existing: ImageRecord,
) -> None:
    decision = image_decision(
        [existing], "stacklab-test", {IMAGE_HASH_PROPERTY: "h2", "kernel_id": "k"}
    )
    assert decision.keep is None
    assert decision.stale == (existing,)


def test_images_of_other_names_are_left_alone() -> None:
    other = ImageRecord("x", "cirros", "active", "public", {})
    assert image_decision([other], "stacklab-test", {}) == image_decision([], "stacklab-test", {})


def test_keypair_same_key_other_comment_is_found_another_key_is_replaced() -> None:
    assert keypair_action(None, KEY) is Action.CREATED
    assert keypair_action(KEY + " stacklab-v1", KEY + " other-comment") is Action.FOUND
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOther"
    assert keypair_action(other, KEY) is Action.REPLACED


def test_networks_are_found_by_name_in_the_project() -> None:
    mine = NetworkRecord("n1", "demo-net", "demo", False, 1450, "vxlan", None)
    theirs = NetworkRecord("n2", "demo-net", "other", False, 1450, "vxlan", None)
    assert find_network([theirs, mine], "demo-net", project_id="demo") == mine
    assert find_network([theirs], "demo-net", project_id="demo") is None
    assert find_network([theirs, mine], "demo-net") == theirs


def subnet(cidr: str, gateway: str, pool: tuple[str, str]) -> SubnetRecord:
    return SubnetRecord("s", "public-subnet", "n", cidr, gateway, (pool,), False)


def test_subnet_with_another_cidr_conflicts_and_another_pool_is_updated() -> None:
    wanted = SubnetSpec(
        "public-subnet", "10.1.2.0/24", "10.1.2.1", (("10.1.2.128", "10.1.2.253"),), False
    )
    same = subnet("10.1.2.0/24", "10.1.2.1", ("10.1.2.128", "10.1.2.253"))
    assert subnet_conflict(same, wanted) is None
    assert not subnet_needs_update(same, wanted)
    narrower = subnet("10.1.2.0/24", "10.1.2.1", ("10.1.2.200", "10.1.2.253"))
    assert subnet_needs_update(narrower, wanted)
    moved = subnet("10.9.2.0/24", "10.9.2.1", ("10.9.2.128", "10.9.2.253"))
    conflict = subnet_conflict(moved, wanted)
    assert conflict is not None and "10.9.2.0/24" in conflict


def test_tenant_cidr_avoids_the_lab_networks() -> None:
    assert tenant_cidr((IPv4Network("10.113.0.0/24"),)) == IPv4Network("192.168.0.0/24")
    taken = (IPv4Network("192.168.0.0/23"), IPv4Network("10.0.0.0/8"))
    assert tenant_cidr(taken) == IPv4Network("192.168.2.0/24")
    with pytest.raises(StacklabError, match="overlaps"):
        tenant_cidr((IPv4Network("192.168.0.0/16"),))


def plan_for(**fields: Any) -> Any:
    spec = Spec.model_validate({"name": "lab", **fields})
    return plan(spec, load_catalog(with_host=False))


def test_lab_networks_come_from_the_plan() -> None:
    planned = plan_for(
        networks={
            "provider": {
                "cidr": "10.50.0.0/24",
                "floating_range": {"start": "10.50.0.100", "end": "10.50.0.150"},
            },
            "overlay": {"mtu": 1400},
        }
    )
    networks = lab_networks(planned)
    provider = planned.network(NetworkName.PROVIDER)
    assert networks.external.cidr == "10.50.0.0/24"
    assert networks.external.gateway_ip == str(provider.gateway)
    assert networks.external.allocation_pools == (("10.50.0.100", "10.50.0.150"),)
    assert not networks.external.dhcp
    assert networks.tenant_mtu == planned.tenant_mtu == 1342
    tenant = IPv4Network(networks.tenant.cidr)
    assert not any(tenant.overlaps(n.cidr) for n in planned.networks)
    assert networks.tenant.dhcp
