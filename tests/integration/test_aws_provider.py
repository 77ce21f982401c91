"""The AWS provider against moto in server mode: boto3 unchanged, talking HTTP to a local
EC2 (AWS_ENDPOINT_URL). Counts are read back with a plain boto3 client, not the adapter.

moto runs no instances, so SSH is not waited for; nested virtualization and launch options
are checked on the launch requests (unit tests) since moto does not echo CpuOptions back.
"""

from __future__ import annotations

import functools
import logging
import shutil
import socket
import stat
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import boto3
import moto.server as moto_server
import pytest

from stacklab import api
from stacklab.catalog import load_catalog
from stacklab.catalog.models import ImageSource
from stacklab.config.models import Access, AwsProvider, NetworkName, Spec
from stacklab.core.context import LabContext
from stacklab.errors import ProviderError, SpecError
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.aws.adapter import Ec2Adapter
from stacklab.providers.aws.errors import AwsFailure
from stacklab.providers.aws.provider import AwsProvider as Provider
from stacklab.providers.aws.records import Instance, LaunchRequest
from stacklab.providers.aws.retry import Pacing
from stacklab.providers.base import RestoresLabFiles
from stacklab.providers.golden_files import golden_files_dir
from stacklab.runner import LocalRunner
from stacklab.state.db import StateDB
from stacklab.state.keys import ensure_lab_key
from stacklab.state.paths import ensure_private_dir, lab_dir
from stacklab.state.secrets import SECRETS_FILE, SecretStore

pytestmark = pytest.mark.integration

LAB = "awslab"
REGION = "us-east-1"
ADMIN = "203.0.113.7/32"
MOTO_ACCOUNT = "123456789012"
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBQAuDSAGJn4ylGxo+JnTsGbAkCFzs3DZji+2Nwx6y9l stacklab-test"
)
FAST = Pacing(first_delay=0.01, longest_delay=0.05)
WAIT_LIMIT = 10.0  # moto answers at once: a wait this long means something is stuck
CATALOG = load_catalog(with_host=False).of("aws")
# moto's images belong to its own account: point the official-image lookup there (and
# moto's register_image drops the architecture, so do not filter on it).
MOTO_IMAGES = ImageSource(
    owner=MOTO_ACCOUNT, architecture=None, name_patterns={"debian-13": "debian-13-amd64-*"}
)
MOTO_CATALOG = CATALOG.model_copy(update={"images": MOTO_IMAGES})
TAG_FILTER = [{"Name": "tag:stacklab:lab", "Values": [LAB]}]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            # Lab files (snapshots' keys and passwords) and clouds.yaml: not the user's.
            "XDG_STATE_HOME": str(tmp_path_factory.mktemp("state")),
            "XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("config")),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_REGION"):
            env.delenv(name, raising=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        port = _free_port()
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        url = f"http://127.0.0.1:{port}"
        env.setenv("AWS_ENDPOINT_URL", url)
        try:
            yield url
        finally:
            server.stop()


@pytest.fixture
def ec2(moto_url: str) -> Any:
    reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    client = boto3.client("ec2", region_name=REGION)
    for day in ("20250101-1000", "20250601-1000"):
        client.register_image(
            Name=f"debian-13-amd64-{day}", Architecture="x86_64", RootDeviceName="/dev/xvda"
        )
    return client


def lab_plan(admin_cidr: str = ADMIN, region: str = REGION, **provider_settings: Any) -> Plan:
    spec = Spec.model_validate(
        {
            "name": LAB,
            "provider": {"kind": "aws", "region": region, **provider_settings},
            "topology": {"preset": "multinode"},
            "access": {"admin_cidr": admin_cidr},
        }
    )
    return make_plan(spec, load_catalog(with_host=False))


@functools.cache
def shared_adapter() -> Ec2Adapter:
    """One boto3 client for the module (making one takes a few tenths of a second)."""
    return Ec2Adapter.connect(region=REGION, profile=None, pacing=FAST, timeout=WAIT_LIMIT)


def provider(
    admin_cidr: str | None = ADMIN,
    adapter: Ec2Adapter | None = None,
    from_snapshot: str | None = None,
    **settings: Any,
) -> Provider:
    cidr = IPv4Network(admin_cidr) if admin_cidr else None
    settings.setdefault("region", REGION)
    return Provider(
        AwsProvider(owner="tester", **settings),
        access=Access(admin_cidr=cidr),
        catalog=MOTO_CATALOG,
        adapter=adapter or shared_adapter(),
        wait_for_ssh=False,
        from_snapshot=from_snapshot,
    )


@pytest.fixture
def context(tmp_path: Path) -> Iterator[LabContext]:
    db = StateDB(tmp_path / "state.db")
    yield LabContext(LAB, tmp_path, db, tmp_path / "id_ed25519", PUBLIC_KEY, lambda m: None)
    db.close()


def up(aws: Provider, context: LabContext, plan: Plan | None = None) -> Any:
    plan = plan or lab_plan()
    aws.check(plan)
    aws.create_networks(plan, context)
    return aws.create_nodes(plan, context)


def tagged(ec2: Any) -> dict[str, set[str]]:
    """Kind -> ids of everything tagged with the lab, read with plain boto3 describe calls
    (moto's DescribeTags keeps the tags of deleted resources); terminated instances are out."""
    found = {
        "vpc": {v["VpcId"] for v in ec2.describe_vpcs(Filters=TAG_FILTER)["Vpcs"]},
        "subnet": {s["SubnetId"] for s in ec2.describe_subnets(Filters=TAG_FILTER)["Subnets"]},
        "internet-gateway": {
            g["InternetGatewayId"]
            for g in ec2.describe_internet_gateways(Filters=TAG_FILTER)["InternetGateways"]
        },
        "route-table": {
            t["RouteTableId"] for t in ec2.describe_route_tables(Filters=TAG_FILTER)["RouteTables"]
        },
        "security-group": {
            g["GroupId"] for g in ec2.describe_security_groups(Filters=TAG_FILTER)["SecurityGroups"]
        },
        "network-interface": {
            n["NetworkInterfaceId"]
            for n in ec2.describe_network_interfaces(Filters=TAG_FILTER)["NetworkInterfaces"]
        },
        "instance": {
            i["InstanceId"]
            for r in ec2.describe_instances(Filters=TAG_FILTER)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        },
        "volume": {v["VolumeId"] for v in ec2.describe_volumes(Filters=TAG_FILTER)["Volumes"]},
        "elastic-ip": {
            a["AllocationId"] for a in ec2.describe_addresses(Filters=TAG_FILTER)["Addresses"]
        },
        "key-pair": {k["KeyName"] for k in ec2.describe_key_pairs(Filters=TAG_FILTER)["KeyPairs"]},
    }
    return {kind: ids for kind, ids in found.items() if ids}


def test_up_makes_exactly_the_planned_network_and_nodes(ec2: Any, context: LabContext) -> None:
    plan = lab_plan()
    accesses = up(provider(), context, plan)

    vpcs = ec2.describe_vpcs(Filters=TAG_FILTER)["Vpcs"]
    assert [vpc["CidrBlock"] for vpc in vpcs] == ["10.0.0.0/22"]
    subnets = ec2.describe_subnets(Filters=TAG_FILTER)["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == sorted(
        str(n.cidr) for n in plan.provisioned_networks
    )
    assert len({s["AvailabilityZone"] for s in subnets}) == 1
    subnet_of = {s["SubnetId"]: s["CidrBlock"] for s in subnets}
    gateways = ec2.describe_internet_gateways(Filters=TAG_FILTER)["InternetGateways"]
    assert [a["VpcId"] for g in gateways for a in g["Attachments"]] == [vpcs[0]["VpcId"]]

    instances = {
        tags(i)["stacklab:node"]: i
        for r in ec2.describe_instances(Filters=TAG_FILTER)["Reservations"]
        for i in r["Instances"]
    }
    assert {name: i["InstanceType"] for name, i in instances.items()} == {
        n.name: n.machine_type for n in plan.nodes
    }
    assert {i["KeyName"] for i in instances.values()} == {f"stacklab-{LAB}"}

    interfaces = ec2.describe_network_interfaces(Filters=TAG_FILTER)["NetworkInterfaces"]
    assert len(interfaces) == sum(len(n.nics) for n in plan.nodes) == 10
    for eni in interfaces:
        node = plan.node(tags(eni)["stacklab:node"])
        nic = next(n for n in node.nics if n.network.value == tags(eni)["stacklab:network"])
        assert eni["PrivateIpAddress"] == str(nic.address)
        assert subnet_of[eni["SubnetId"]] == str(plan.network(nic.network).cidr)
        assert eni["Attachment"]["InstanceId"] == instances[node.name]["InstanceId"]
        assert eni["SourceDestCheck"] is (node.name != plan.access_node), node.name
    controller_mgmt = interface_of(interfaces, "controller", "management")
    vip = plan.network(NetworkName.MANAGEMENT).vip
    assert {a["PrivateIpAddress"] for a in controller_mgmt["PrivateIpAddresses"]} == {
        str(plan.node("controller").management_address),
        str(vip),
    }

    addresses = ec2.describe_addresses(Filters=TAG_FILTER)["Addresses"]
    assert len(addresses) == 1
    uplink = interface_of(interfaces, plan.access_node, "uplink")
    assert addresses[0]["NetworkInterfaceId"] == uplink["NetworkInterfaceId"]
    public_ip = addresses[0]["PublicIp"]
    by_name = {a.name: a for a in accesses}
    assert (by_name["network"].host, by_name["network"].jump_host) == (public_ip, None)
    assert by_name["compute1"].host == str(plan.node("compute1").management_address)
    assert by_name["compute1"].jump_host == f"root@{public_ip}"

    tables = {
        tags(t)["stacklab:part"]: t
        for t in ec2.describe_route_tables(Filters=TAG_FILTER)["RouteTables"]
    }
    assert set(tables) == {"internet-routes", "egress-routes"}
    internet, egress = tables["internet-routes"], tables["egress-routes"]
    assert [subnet_of[a["SubnetId"]] for a in internet["Associations"]] == ["10.0.3.0/24"]
    assert default_route(internet)["GatewayId"] == gateways[0]["InternetGatewayId"]
    assert [subnet_of[a["SubnetId"]] for a in egress["Associations"]] == ["10.0.0.0/24"]
    network_mgmt = interface_of(interfaces, plan.access_node, "management")
    assert default_route(egress)["NetworkInterfaceId"] == network_mgmt["NetworkInterfaceId"]

    assert ingress(ec2) == {("tcp", 22, ADMIN), ("tcp", 443, ADMIN)} | {
        ("-1", None, str(n.cidr)) for n in plan.provisioned_networks
    }
    recorded = {(r.kind, r.ident) for r in context.db.resources(LAB)}
    assert {kind for kind, _ in recorded} >= {"vpc", "subnet", "instance", "elastic-ip"}


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or []}


def interface_of(interfaces: list[dict[str, Any]], node: str, network: str) -> dict[str, Any]:
    return next(
        e
        for e in interfaces
        if (tags(e)["stacklab:node"], tags(e)["stacklab:network"]) == (node, network)
    )


def default_route(table: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")


def ingress(ec2: Any) -> set[tuple[str, int | None, str]]:
    groups = ec2.describe_security_groups(Filters=TAG_FILTER)["SecurityGroups"]
    assert len(groups) == 1
    return {
        (p["IpProtocol"], p.get("FromPort") if p["IpProtocol"] != "-1" else None, r["CidrIp"])
        for p in groups[0]["IpPermissions"]
        for r in p["IpRanges"]
    }


def test_a_second_up_makes_nothing_new(ec2: Any, context: LabContext) -> None:
    aws = provider()
    first = up(aws, context)
    before = tagged(ec2)
    second = up(provider(), context)
    assert tagged(ec2) == before
    assert first == second
    assert sum(len(ids) for ids in before.values()) > 20


class FailingThirdLaunch(Ec2Adapter):
    launches = 0

    def run_instance(self, request: LaunchRequest) -> Instance:
        self.launches += 1
        if self.launches == 3:
            raise AwsFailure("RunInstances", "InsufficientInstanceCapacity", "injected")
        return super().run_instance(request)


def test_a_failed_up_then_down_leaves_nothing_tagged(ec2: Any, context: LabContext) -> None:
    client = boto3.client("ec2", region_name=REGION)
    failing = FailingThirdLaunch(client, pacing=FAST, delete_timeout=WAIT_LIMIT)
    with pytest.raises(AwsFailure, match="injected"):
        up(provider(adapter=failing), context)
    made = tagged(ec2)
    assert len(made["instance"]) == 2 and made["network-interface"]

    removed = provider().destroy(LAB, lambda m: None)

    assert tagged(ec2) == {}
    assert {r.kind for r in removed} >= {"instance", "network-interface", "vpc", "key-pair"}


def test_down_without_the_state_database_finds_everything(
    ec2: Any, context: LabContext, tmp_path: Path
) -> None:
    up(provider(), context)
    made = tagged(ec2)
    context.db.close()
    (tmp_path / "state.db").unlink()

    # A fresh provider and client that know nothing but the lab's name and the region.
    fresh = Ec2Adapter.connect(region=REGION, profile=None, pacing=FAST, timeout=WAIT_LIMIT)
    stateless = Provider.for_teardown(region=REGION, adapter=fresh)
    planned = stateless.planned_deletions(LAB)
    assert tagged(ec2) == made, "a dry run deletes nothing"
    kinds = [r.kind for r in planned]
    assert kinds.index("instance") < kinds.index("network-interface") < kinds.index("vpc")

    removed = stateless.destroy(LAB, lambda m: None)

    assert tagged(ec2) == {}
    assert {r.ident for r in removed} == {r.ident for r in planned}
    assert stateless.destroy(LAB, lambda m: None) == [], "a second down finds nothing"
    context.db = StateDB(tmp_path / "state.db")


def test_down_of_a_lab_in_another_region_needs_neither_its_spec_nor_a_region_variable(
    ec2: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "eu-central-1"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    regional = boto3.client("ec2", region_name=other)
    regional.register_image(
        Name="debian-13-amd64-20250101-1000", Architecture="x86_64", RootDeviceName="/dev/xvda"
    )
    plan = lab_plan(region=other)
    spec_path = tmp_path / "stacklab.yaml"
    spec_path.write_text(f"name: {LAB}\n", encoding="utf-8")
    db = StateDB()
    try:
        db.save_lab(LAB, "aws", str(spec_path), "hash", plan.to_dict())  # as `up` records it
        context = LabContext(LAB, tmp_path, db, tmp_path / "key", PUBLIC_KEY, lambda m: None)
        adapter = Ec2Adapter.connect(region=other, profile=None, pacing=FAST, timeout=WAIT_LIMIT)
        up(provider(adapter=adapter, region=other), context, plan)
    finally:
        db.close()
    made = tagged(regional)
    assert made["instance"] and made["vpc"]
    spec_path.unlink()
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    found = api.status(LAB).found
    assert {r.ident for r in found} >= made["instance"] | made["vpc"]
    removed = api.down(LAB)

    assert tagged(regional) == {}
    assert {r.ident for r in removed} >= made["instance"] | made["vpc"]
    assert api.list_labs() == []


def test_ssh_is_never_open_to_the_world_by_default(ec2: Any, context: LabContext) -> None:
    with pytest.raises(SpecError) as unset:
        provider(admin_cidr=None).check(lab_plan())
    assert [p.field for p in unset.value.problems] == ["access.admin_cidr"]
    with pytest.raises(SpecError) as world:
        provider(admin_cidr="0.0.0.0/0").create_networks(lab_plan(), context)
    assert "whole internet" in world.value.render()
    assert ec2.describe_vpcs(Filters=TAG_FILTER)["Vpcs"] == [], "refused before anything"

    provider().create_networks(lab_plan(), context)
    assert ("tcp", 22, "0.0.0.0/0") not in ingress(ec2)

    world = provider(admin_cidr="0.0.0.0/0", allow_ssh_from_world=True)
    world.create_networks(lab_plan("0.0.0.0/0", allow_ssh_from_world=True), context)
    assert ("tcp", 22, "0.0.0.0/0") in ingress(ec2), "only when the spec says so"
    assert ("tcp", 22, ADMIN) not in ingress(ec2), "the old admin range is revoked"


def test_the_newest_official_image_is_used_and_a_missing_one_is_refused(
    ec2: Any, context: LabContext
) -> None:
    time.sleep(1.1)  # EC2 creation dates have whole seconds
    # Newest by creation date, though not by name: the date decides.
    newest = ec2.register_image(
        Name="debian-13-amd64-20240101-1000", Architecture="x86_64", RootDeviceName="/dev/xvda"
    )["ImageId"]
    up(provider(), context)
    used = {
        i["ImageId"]
        for r in ec2.describe_instances(Filters=TAG_FILTER)["Reservations"]
        for i in r["Instances"]
    }
    assert used == {newest}

    images = [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]]

    for image_id in images:
        ec2.deregister_image(ImageId=image_id)
    with pytest.raises(ProviderError, match="debian-13-amd64"):
        provider().check(lab_plan())


def test_running_cost_is_the_catalog_price_times_the_hours_run(
    ec2: Any, context: LabContext
) -> None:
    plan = lab_plan()
    up(provider(), context, plan)
    aws = provider()
    launched = min(r.details["launched"] for r in aws.discover(LAB) if r.kind == "instance")
    two_hours_on = datetime.fromisoformat(launched) + timedelta(hours=2)
    cost = aws.running_cost(LAB, now=two_hours_on)
    assert cost.usd_per_hour == pytest.approx(plan.cost.usd_per_hour)
    assert cost.usd_so_far == pytest.approx(2 * plan.cost.usd_per_hour, rel=0.01)


def test_golden_images_outlive_down_and_bring_the_lab_back_on_its_addresses(
    ec2: Any, context: LabContext
) -> None:
    plan = lab_plan()
    up(provider(), context, plan)
    golden = provider().snapshot(LAB, lambda m: None, name="configured")
    assert set(golden) == {node.name for node in plan.nodes}
    provider().destroy(LAB, lambda m: None)
    assert provider().golden_images(LAB) == golden, "down keeps golden images"

    up(provider(from_snapshot="latest"), context, plan)
    launched = {
        tags(i)["stacklab:node"]: i["ImageId"]
        for r in ec2.describe_instances(Filters=TAG_FILTER)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    }
    assert launched == golden
    addresses = {
        n["PrivateIpAddress"]
        for n in ec2.describe_network_interfaces(Filters=TAG_FILTER)["NetworkInterfaces"]
    }
    assert addresses == {str(nic.address) for node in plan.nodes for nic in node.nics}

    removed = provider().delete_snapshot(LAB, "configured", lambda m: None)
    assert {r.ident for r in removed if r.kind == "image"} == set(golden.values())
    assert provider().golden_images(LAB) == {}
    with pytest.raises(ProviderError, match="no image of"):
        provider(from_snapshot="configured").check(plan)


def test_up_from_a_snapshot_brings_back_the_labs_key_and_passwords_kept_secret(
    ec2: Any, context: LabContext
) -> None:
    directory = ensure_private_dir(lab_dir(LAB))
    private, public = ensure_lab_key(directory, LAB, LocalRunner())
    password = SecretStore(LAB, directory).get("keystone_admin")
    plan = lab_plan()
    up(provider(), context, plan)
    said: list[str] = []
    provider().snapshot(LAB, said.append, name="configured")
    provider().destroy(LAB, said.append)
    private_text = private.read_text(encoding="utf-8")
    shutil.rmtree(directory)  # as `down` does: the lab's own files go with it

    restoring = provider(from_snapshot="latest")
    assert isinstance(restoring, RestoresLabFiles)
    restoring.restore_lab_files(LAB, ensure_private_dir(lab_dir(LAB)))

    assert ensure_lab_key(directory, LAB, LocalRunner()) == (private, public)
    assert private.read_text(encoding="utf-8") == private_text
    assert SecretStore(LAB, directory).get("keystone_admin") == password
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / SECRETS_FILE).stat().st_mode) == 0o600
    kept = golden_files_dir(LAB, "configured")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    tags_text = str(ec2.describe_images(Owners=["self"])["Images"]) + str(
        ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    )
    for secret in (password, private_text.splitlines()[1]):
        assert secret not in tags_text and not any(secret in line for line in said)

    provider().delete_snapshot(LAB, "configured", lambda m: None)
    assert not kept.exists(), "deleting a snapshot deletes its key and passwords"


def test_up_from_a_snapshot_whose_key_is_not_here_says_so(ec2: Any, context: LabContext) -> None:
    up(provider(), context)
    provider().snapshot(LAB, lambda m: None, name="elsewhere")
    shutil.rmtree(golden_files_dir(LAB, "elsewhere"))
    with pytest.raises(ProviderError, match="no SSH key and passwords on this machine") as refused:
        provider(from_snapshot="elsewhere").restore_lab_files(LAB, lab_dir(LAB))
    assert refused.value.fix and "without --from" in refused.value.fix
    provider().delete_snapshot(LAB, "elsewhere", lambda m: None)
