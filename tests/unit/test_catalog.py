"""The catalog is data: these tests hold it to the facts it claims (issue 2, item 3)."""

from __future__ import annotations

from datetime import date
from importlib import resources

import pytest
import yaml

from stacklab.catalog import Virtualization, load_catalog
from stacklab.catalog.models import MachineType, ProviderCatalog
from stacklab.config.models import NodeSpec, Role
from stacklab.config.rules import node_networks

CATALOG = load_catalog(with_host=False)
CLOUDS = ("aws", "gcp")


def machines(provider: str) -> list[MachineType]:
    return list(CATALOG.of(provider).machine_types.values())


def raw_machine_types(provider: str) -> dict[str, dict[str, object]]:
    text = (resources.files("stacklab.catalog") / "data" / f"{provider}.yaml").read_text()
    raw: dict[str, dict[str, object]] = yaml.safe_load(text).get("machine_types") or {}
    return raw


@pytest.mark.parametrize("provider", CLOUDS)
def test_every_cloud_machine_type_has_a_dated_and_sourced_price(provider: str) -> None:
    for name, raw in raw_machine_types(provider).items():
        price = raw.get("price")
        assert isinstance(price, dict), f"{provider} {name} has no price"
        assert isinstance(price.get("as_of"), date), f"{provider} {name}: price without a date"
        assert str(price.get("source", "")).strip(), f"{provider} {name}: price without a source"
        assert float(price["usd_per_hour"]) > 0, f"{provider} {name}: a cloud machine is not free"


def test_every_price_anywhere_has_a_date_and_source() -> None:
    priced = [m for provider in CATALOG.providers for m in machines(provider) if m.price]
    assert len(priced) >= 20
    for machine in priced:
        assert machine.price is not None
        assert machine.price.as_of.year >= 2024, machine.name
        assert len(machine.price.source) > 10, machine.name


@pytest.mark.parametrize("machine", machines("gcp"), ids=lambda m: m.name)
def test_gcp_max_nics_follow_the_rule(machine: MachineType) -> None:
    """GCP: 2 NICs up to 2 vCPUs, then one per vCPU, at most 8."""
    assert machine.max_nics == min(8, max(2, machine.vcpus))


@pytest.mark.parametrize("machine", machines("gcp"), ids=lambda m: m.name)
def test_gcp_nested_virtualization_only_on_intel_series(machine: MachineType) -> None:
    series = machine.name.split("-")[0]
    if series in {"e2", "n2d", "t2a", "t2d", "c2d", "n4d", "c3d", "c4a", "c4d"}:
        assert machine.virtualization is Virtualization.NONE
    else:
        assert series in {"n1", "n2", "c2", "c3", "c4", "n4", "m1", "m2", "m3"}
        assert machine.virtualization is Virtualization.NESTED
        assert "enableNestedVirtualization" in machine.how


def test_gcp_catalog_has_both_kinds_of_series() -> None:
    kinds = {m.name.split("-")[0]: m.virtualization for m in machines("gcp")}
    assert kinds["e2"] is Virtualization.NONE
    assert kinds["n2d"] is Virtualization.NONE
    assert kinds["t2a"] is Virtualization.NONE
    assert kinds["n2"] is Virtualization.NESTED


@pytest.mark.parametrize("machine", machines("aws"), ids=lambda m: m.name)
def test_aws_virtualization_native_on_metal_nested_on_8i(machine: MachineType) -> None:
    family, size = machine.name.split(".")
    if size == "metal":
        assert machine.virtualization is Virtualization.NATIVE
    elif family in {"c8i", "m8i", "r8i"}:
        assert machine.virtualization is Virtualization.NESTED
        assert "NestedVirtualization" in machine.how
    else:
        assert machine.virtualization is Virtualization.NONE


def test_aws_catalog_covers_metal_nested_and_plain() -> None:
    kinds = {m.virtualization for m in machines("aws")}
    assert kinds == {Virtualization.NATIVE, Virtualization.NESTED, Virtualization.NONE}


def test_network_facts() -> None:
    gcp, aws = CATALOG.of("gcp").network, CATALOG.of("aws").network
    assert (gcp.underlay_mtu, gcp.mtu_min, gcp.mtu_max) == (1460, 1300, 8896)
    assert (aws.underlay_mtu, aws.uplink_mtu) == (9001, 1500)
    for facts in (gcp, aws):
        assert facts.carries_vxlan
        assert not facts.carries_gre
        assert not facts.carries_multicast


def _role_nics(role: Role) -> int:
    return len(node_networks(NodeSpec(name="n", roles=[role])))


@pytest.mark.parametrize("provider", CLOUDS)
def test_default_machine_types_exist_and_take_their_roles_nics(provider: str) -> None:
    catalog: ProviderCatalog = CATALOG.of(provider)
    assert set(catalog.default_machine_types) == set(Role)
    for role, name in catalog.default_machine_types.items():
        machine = catalog.machine_type(name)
        assert machine is not None, f"{provider} default for {role}: unknown {name}"
        assert machine.max_nics >= _role_nics(role), f"{provider} {role}: {name} lacks NICs"
    assert catalog.aio_machine_type is not None
    aio = catalog.machine_type(catalog.aio_machine_type)
    assert aio is not None
    assert aio.max_nics >= len(node_networks(NodeSpec(name="n", roles=list(Role))))
    compute = catalog.machine_type(catalog.default_machine_types[Role.COMPUTE])
    assert compute is not None and compute.virtualization is not Virtualization.NONE


def test_local_machine_type_without_host_is_fixed() -> None:
    local = machines("local")
    assert [(m.name, m.vcpus, m.memory_gib) for m in local] == [("nspawn", 2, 24.0)]
    assert local[0].virtualization is Virtualization.PROBE
    assert local[0].price is None
