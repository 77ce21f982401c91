"""The GCP provider against a local stand-in for the Compute API: google-cloud-compute
unchanged, talking REST over HTTP to it (client_options api_endpoint). Every request body it
sends is checked against the Compute discovery document; a test fails on any violation.

The stand-in runs no instances, so SSH is not waited for. Marked integration, as the moto
tests are: a few dozen HTTP round trips per lab add up to half a minute on a loaded host."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from compute_standin import ComputeStandIn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials

from stacklab import api
from stacklab.catalog import load_catalog
from stacklab.config.loader import parse_spec_text
from stacklab.config.models import Access, GcpProvider, NetworkName, Spec
from stacklab.core.context import LabContext
from stacklab.errors import ProviderError, SpecError
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.gcp.adapter import ComputeAdapter
from stacklab.providers.gcp.errors import GcpFailure
from stacklab.providers.gcp.provider import GcpProvider as Provider
from stacklab.state.db import StateDB

pytestmark = pytest.mark.integration

LAB = "gcplab"
PROJECT = "stacklab-test"
REGION, ZONE = "europe-west1", "europe-west1-b"
ADMIN = "203.0.113.7/32"
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBQAuDSAGJn4ylGxo+JnTsGbAkCFzs3DZji+2Nwx6y9l stacklab-test"
)
CATALOG = load_catalog(with_host=False).of("gcp")
NEWEST_DEBIAN = "debian-13-trixie-v20261120"


@pytest.fixture
def standin() -> Iterator[ComputeStandIn]:
    compute = ComputeStandIn(project=PROJECT)
    compute.add_public_image(
        "debian-cloud", "debian-13", "debian-13-trixie-v20260610", "2026-06-10T10:00:00.000-07:00"
    )
    compute.add_public_image(
        "debian-cloud", "debian-13", NEWEST_DEBIAN, "2026-11-20T10:00:00.000-08:00"
    )
    compute.add_public_image(
        "debian-cloud", "debian-12", "debian-12-bookworm-v20261120", "2026-11-21T10:00:00.000-08:00"
    )
    yield compute
    assert compute.violations == [], "requests the Compute API would refuse"


@pytest.fixture
def endpoint(standin: ComputeStandIn) -> Iterator[str]:
    with standin.serving() as url:
        yield url


def adapter(endpoint: str) -> ComputeAdapter:
    return ComputeAdapter.connect(
        project=PROJECT, endpoint=endpoint, credentials=AnonymousCredentials(), timeout=10
    )


def settings(**overrides: Any) -> GcpProvider:
    return GcpProvider.model_validate(
        {"project": PROJECT, "region": REGION, "zone": ZONE, "owner": "tester", **overrides}
    )


def provider(
    endpoint: str,
    admin_cidr: str | None = ADMIN,
    from_snapshot: str | None = None,
    **overrides: Any,
) -> Provider:
    return Provider(
        settings(**overrides),
        access=Access(admin_cidr=IPv4Network(admin_cidr) if admin_cidr else None),
        catalog=CATALOG,
        adapter=adapter(endpoint),
        wait_for_ssh=False,
        from_snapshot=from_snapshot,
    )


def lab_plan(admin_cidr: str = ADMIN, preset: str = "multinode", **overrides: Any) -> Plan:
    spec = Spec.model_validate(
        {
            "name": LAB,
            "provider": {
                "kind": "gcp",
                "project": PROJECT,
                "region": REGION,
                "zone": ZONE,
                **overrides,
            },
            "topology": {"preset": preset},
            "access": {"admin_cidr": admin_cidr},
        }
    )
    return make_plan(spec, load_catalog(with_host=False))


@pytest.fixture
def context(tmp_path: Path) -> Iterator[LabContext]:
    db = StateDB(tmp_path / "state.db")
    yield LabContext(LAB, tmp_path, db, tmp_path / "id_ed25519", PUBLIC_KEY, lambda m: None)
    db.close()


def up(gcp: Provider, context: LabContext, plan: Plan | None = None) -> Any:
    plan = plan or lab_plan()
    gcp.check(plan)
    gcp.create_networks(plan, context)
    return gcp.create_nodes(plan, context)


def names(standin: ComputeStandIn) -> dict[str, set[str]]:
    """Collection -> names of everything the stand-in holds, public images aside."""
    found = {
        collection: {item["name"] for item in standin.items(collection)}
        for collection in ("networks", "subnetworks", "firewalls", "routes", "instances", "disks")
    }
    found["images"] = {
        image["name"] for image in standin.items("images") if f"/{PROJECT}/" in image["selfLink"]
    }
    return {collection: found_names for collection, found_names in found.items() if found_names}


def by_name(standin: ComputeStandIn, collection: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in standin.items(collection)}


def test_up_makes_exactly_the_planned_networks_rules_and_instances(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    plan = lab_plan()
    accesses = up(provider(endpoint), context, plan)

    networks = by_name(standin, "networks")
    assert {name: n["mtu"] for name, n in networks.items()} == {
        f"stacklab-{LAB}-{n.name.value}": 1460 for n in plan.provisioned_networks
    }
    assert not any(n["autoCreateSubnetworks"] for n in networks.values())
    subnets = by_name(standin, "subnetworks")
    assert {name: s["ipCidrRange"] for name, s in subnets.items()} == {
        f"stacklab-{LAB}-{n.name.value}": str(n.cidr) for n in plan.provisioned_networks
    }
    assert all(s["network"] == networks[name]["selfLink"] for name, s in subnets.items())

    rules = by_name(standin, "firewalls")
    access_tag = f"stacklab-{LAB}-access"
    admin = {name: r for name, r in rules.items() if r.get("targetTags")}
    assert {(r["allowed"][0]["IPProtocol"], *r["allowed"][0]["ports"]) for r in admin.values()} == {
        ("tcp", "22"),
        ("tcp", "443"),
    }
    for rule in admin.values():
        assert (rule["sourceRanges"], rule["targetTags"]) == ([ADMIN], [access_tag])
        assert rule["network"] == networks[f"stacklab-{LAB}-uplink"]["selfLink"]
    inside = [r for r in rules.values() if not r.get("targetTags")]
    assert len(inside) == len(plan.provisioned_networks)
    for rule in inside:
        assert rule["allowed"] == [{"IPProtocol": "all"}]
        assert sorted(rule["sourceRanges"]) == sorted(
            str(n.cidr) for n in plan.provisioned_networks
        )

    instances = {i["labels"]["stacklab-node"]: i for i in standin.items("instances")}
    assert set(instances) == {node.name for node in plan.nodes}
    for node in plan.nodes:
        instance = instances[node.name]
        assert instance["machineType"].endswith(f"zones/{ZONE}/machineTypes/{node.machine_type}")
        assert instance["labels"]["stacklab-lab"] == LAB
        addresses = {
            nic["subnetwork"].rsplit("/", 1)[1]: nic["networkIP"]
            for nic in instance["networkInterfaces"]
        }
        assert addresses == {
            f"stacklab-{LAB}-{nic.network.value}": str(nic.address) for nic in node.nics
        }
        is_access = node.name == plan.access_node
        assert instance["canIpForward"] is is_access
        external = [nic for nic in instance["networkInterfaces"] if nic.get("accessConfigs")]
        assert len(external) == (1 if is_access else 0), node.name
        nested = instance.get("advancedMachineFeatures", {}).get("enableNestedVirtualization")
        kvm = node.hypervisor is not None and node.hypervisor.kind.value == "kvm"
        assert bool(nested) is kvm, node.name
        boot = standin.resources["disks"][f"{ZONE}/{instance['name']}"]
        assert boot["sourceImage"].endswith(f"/debian-cloud/global/images/{NEWEST_DEBIAN}")
        assert boot["labels"]["stacklab-lab"] == LAB
    router = instances[plan.access_node]
    assert router["networkInterfaces"][0]["subnetwork"].endswith(f"stacklab-{LAB}-uplink")
    assert router["tags"]["items"] == [access_tag]
    controller_mgmt = next(
        nic
        for nic in instances[plan.controller]["networkInterfaces"]
        if nic["subnetwork"].endswith("-management")
    )
    assert controller_mgmt["aliasIpRanges"] == [
        {"ipCidrRange": f"{plan.network(NetworkName.MANAGEMENT).vip}/32"}
    ]

    (route,) = standin.items("routes")
    assert (route["destRange"], route["nextHopIp"]) == (
        "0.0.0.0/0",
        str(plan.node(plan.access_node).management_address),
    )
    assert route["tags"] == [f"stacklab-{LAB}-behind-router"]
    assert all(
        instances[n.name]["tags"]["items"] == route["tags"]
        for n in plan.nodes
        if n.name != plan.access_node
    )

    public = router["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    access = {a.name: a for a in accesses}
    assert (access[plan.access_node].host, access[plan.access_node].jump_host) == (public, None)
    assert access["compute1"].host == str(plan.node("compute1").management_address)
    assert access["compute1"].jump_host == f"root@{public}"
    recorded = {r.kind for r in context.db.resources(LAB)}
    assert recorded == {"network", "subnetwork", "firewall", "route", "instance"}


def test_a_second_up_makes_nothing_new(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    first = up(provider(endpoint), context)
    made = names(standin)
    inserts = sum(1 for method, _ in standin.calls if method.endswith(".insert"))

    second = up(provider(endpoint), context)

    assert names(standin) == made and first == second
    assert sum(1 for method, _ in standin.calls if method.endswith(".insert")) == inserts
    # No provider network, subnet or firewall rule of its own: it lives on the network node.
    assert sum(len(found) for found in made.values()) == 3 + 3 + 5 + 1 + 5 + 5


def test_a_failed_up_then_down_leaves_nothing(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    standin.fail("compute.instances.insert", nth=3, code="ZONE_RESOURCE_POOL_EXHAUSTED")
    with pytest.raises(GcpFailure, match="ZONE_RESOURCE_POOL_EXHAUSTED") as failed:
        up(provider(endpoint), context)
    assert failed.value.fix and "provider.zone" in failed.value.fix
    assert len(standin.items("instances")) == 2 and standin.items("networks")

    removed = provider(endpoint).destroy(LAB, lambda m: None)

    assert names(standin) == {}
    kinds = [r.kind for r in removed]
    assert kinds.index("instance") < kinds.index("subnetwork") < kinds.index("network")


def test_down_without_any_state_finds_everything_by_label_and_name(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    up(provider(endpoint), context)
    made = names(standin)
    context.db.close()

    # Nothing but the lab's name and the project and zone recorded with it.
    stateless = Provider.for_teardown(
        project=PROJECT, region=REGION, zone=ZONE, adapter=adapter(endpoint)
    )
    planned = stateless.planned_deletions(LAB)
    assert names(standin) == made, "a dry run deletes nothing"

    removed = stateless.destroy(LAB, lambda m: None)

    assert names(standin) == {}
    assert {r.ident for r in removed} == {r.ident for r in planned}
    made_but_boot_disks = [found for kind, found in made.items() if kind != "disks"]
    assert {r.ident for r in removed} == set().union(*made_but_boot_disks)
    assert stateless.destroy(LAB, lambda m: None) == [], "a second down finds nothing"
    context.db = StateDB(context.directory / "state.db")


def test_down_leaves_another_lab_whose_name_starts_the_same(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    up(provider(endpoint), context)
    other = Spec.model_validate(
        {
            "name": f"{LAB}-b",
            "provider": {"kind": "gcp", "project": PROJECT, "region": REGION, "zone": ZONE},
            "access": {"admin_cidr": ADMIN},
            "networks": {
                name: {"cidr": f"10.9{index}.0.0/24"}
                for index, name in enumerate(("management", "overlay", "provider", "uplink"))
            },
        }
    )
    other_plan = make_plan(other, load_catalog(with_host=False))
    up(provider(endpoint), context, other_plan)

    provider(endpoint).destroy(LAB, lambda m: None)

    left = names(standin)
    assert left["instances"] == {f"stacklab-{LAB}-b-aio"}
    assert all(name.startswith(f"stacklab-{LAB}-b-") for found in left.values() for name in found)


def test_the_admin_range_is_the_only_way_in_and_the_world_only_when_asked(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    with pytest.raises(SpecError) as unset:
        provider(endpoint, admin_cidr=None).check(lab_plan())
    assert [p.field for p in unset.value.problems] == ["access.admin_cidr"]
    with pytest.raises(SpecError) as world:
        provider(endpoint, admin_cidr="0.0.0.0/0").create_networks(lab_plan(), context)
    assert "allow_ssh_from_world" in world.value.render()
    assert standin.calls == [], "refused before any call"

    provider(endpoint).create_networks(lab_plan(), context)
    world_open = provider(endpoint, admin_cidr="0.0.0.0/0", allow_ssh_from_world=True)
    world_open.create_networks(lab_plan("0.0.0.0/0", allow_ssh_from_world=True), context)
    sources = {
        r["name"]: r["sourceRanges"] for r in standin.items("firewalls") if r.get("targetTags")
    }
    assert set(map(tuple, sources.values())) == {("0.0.0.0/0",)}, "patched, the old range gone"
    assert standin.called("compute.firewalls.patch") == 2


def test_bad_settings_are_refused_naming_field_value_and_fix_before_any_call(
    standin: ComputeStandIn, endpoint: str, tmp_path: Path
) -> None:
    not_json = tmp_path / "key.json"
    not_json.write_text("{not json", encoding="utf-8")
    user_key = tmp_path / "user.json"
    user_key.write_text(json.dumps({"type": "authorized_user"}), encoding="utf-8")
    cases = {
        "provider.project": provider(endpoint, project=None),
        "provider.credentials_file": provider(endpoint, credentials_file=str(tmp_path / "nope")),
    }
    for field, refused in cases.items():
        with pytest.raises(SpecError) as error:
            refused.check(lab_plan())
        (problem,) = error.value.problems
        assert problem.field == field and problem.fix
    for path, why in (
        (not_json, "not JSON"),
        (user_key, "not a service-account key"),
        (tmp_path, "a directory"),
    ):
        with pytest.raises(SpecError) as error:
            provider(endpoint, credentials_file=str(path)).check(lab_plan())
        assert why in error.value.render() and str(path) in error.value.render()
    assert standin.calls == []


def test_an_unknown_zone_is_refused_when_the_spec_is_read() -> None:
    with pytest.raises(SpecError) as error:
        parse_spec_text(
            f"name: g\nprovider: {{kind: gcp, project: p, region: {REGION}, "
            "zone: europe-west1-a}\n",
            "spec.yaml",
        )
    (problem,) = error.value.problems
    assert (problem.field, problem.value) == ("provider.zone", "europe-west1-a")
    assert ZONE in problem.fix


def test_the_newest_image_of_the_family_is_used_and_a_missing_family_is_refused(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    newest = "debian-13-trixie-v20261130"
    standin.add_public_image("debian-cloud", "debian-13", newest, "2026-11-30T10:00:00.000-08:00")
    up(provider(endpoint), context, lab_plan(preset="aio"))
    (disk,) = standin.items("disks")
    assert disk["sourceImage"].endswith(f"/images/{newest}")

    standin.resources["images"] = {}
    with pytest.raises(ProviderError, match="family debian-13"):
        provider(endpoint).check(lab_plan())


def test_running_cost_is_the_catalog_price_times_the_hours_run(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    plan = lab_plan()
    up(provider(endpoint), context, plan)
    gcp = provider(endpoint)
    started = min(r.details["started"] for r in gcp.discover(LAB) if r.kind == "instance")
    from datetime import datetime

    two_hours_on = datetime.fromisoformat(started) + timedelta(hours=2)
    cost = gcp.running_cost(LAB, now=two_hours_on)
    assert cost.usd_per_hour == pytest.approx(plan.cost.usd_per_hour)
    assert cost.usd_so_far == pytest.approx(2 * plan.cost.usd_per_hour, rel=0.01)


def test_golden_images_outlive_down_and_bring_the_lab_back_on_its_addresses(
    standin: ComputeStandIn, endpoint: str, context: LabContext
) -> None:
    plan = lab_plan()
    up(provider(endpoint), context, plan)
    golden = provider(endpoint).snapshot(LAB, lambda m: None, name="configured")
    assert set(golden) == {node.name for node in plan.nodes}
    assert {i["status"] for i in standin.items("instances")} == {"RUNNING"}, "started again"
    provider(endpoint).destroy(LAB, lambda m: None)
    assert provider(endpoint).golden_images(LAB) == golden, "down keeps golden images"

    up(provider(endpoint, from_snapshot="latest"), context, plan)
    sources = {
        d["labels"]["stacklab-node"]: d["sourceImage"].rsplit("/", 1)[1]
        for d in standin.items("disks")
    }
    assert sources == golden
    addresses = {
        nic["networkIP"] for i in standin.items("instances") for nic in i["networkInterfaces"]
    }
    assert addresses == {str(nic.address) for node in plan.nodes for nic in node.nics}

    removed = provider(endpoint).delete_snapshot(LAB, "configured", lambda m: None)
    assert {r.ident for r in removed} == set(golden.values())
    with pytest.raises(ProviderError, match="no image of"):
        provider(endpoint, from_snapshot="configured").check(plan)


def service_account_key(path: Path) -> str:
    """A service-account key file of a key made here; its e-mail address."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = "stacklab@stacklab-test.iam.gserviceaccount.com"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": email,
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",
            }  # never asked: the client signs its own
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return email


def test_status_and_down_with_the_spec_gone_use_the_recorded_project_zone_and_key_file(
    standin: ComputeStandIn, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", f"{endpoint}/compute/v1/")
    key_file = tmp_path / "sa.json"
    email = service_account_key(key_file)
    plan = lab_plan(credentials_file=str(key_file))
    assert (plan.project, plan.zone, plan.profile) == (PROJECT, ZONE, str(key_file))
    spec_path = tmp_path / "stacklab.yaml"
    spec_path.write_text(f"name: {LAB}\n", encoding="utf-8")
    db = StateDB()
    try:
        db.save_lab(LAB, "gcp", str(spec_path), "hash", plan.to_dict())  # as `up` records it
        context = LabContext(LAB, tmp_path, db, tmp_path / "key", PUBLIC_KEY, lambda m: None)
        # No adapter given: the provider connects itself, with the key file, to the endpoint
        # the environment names.
        keyed = Provider(
            settings(credentials_file=str(key_file)),
            access=Access(admin_cidr=IPv4Network(ADMIN)),
            catalog=CATALOG,
            wait_for_ssh=False,
        )
        up(keyed, context, plan)
    finally:
        db.close()
    made = names(standin)
    spec_path.unlink()

    found = api.status(LAB).found
    assert {r.ident for r in found if r.kind == "instance"} == made["instances"]
    removed = api.down(LAB)

    assert names(standin) == {}
    assert {r.ident for r in removed} >= made["instances"] | made["networks"]
    assert api.list_labs() == []
    for authorization in standin.authorizations:  # one token per client, signed by the key
        scheme, token = authorization.split(" ", 1)
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert (scheme, claims["iss"]) == ("Bearer", email), "signed with the spec's key file"
