"""The plan: golden files for the presets, and targeted checks of what it decides.

Golden files live in tests/unit/golden/. After an intended change of the plan, rewrite
them with `UPDATE_GOLDENS=1 .venv/bin/pytest tests/unit/test_plan.py` and review the diff.
"""

from __future__ import annotations

import difflib
import json
import os
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from stacklab import api
from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, Role, Spec
from stacklab.errors import StacklabError
from stacklab.plan.models import HypervisorKind, Plan
from stacklab.plan.planner import plan

GOLDEN_DIR = Path(__file__).parent / "golden"
CATALOG = load_catalog(with_host=False)


def make_spec(**fields: Any) -> Spec:
    return Spec.model_validate({"name": "lab", **fields})


def plan_for(**fields: Any) -> Plan:
    return plan(make_spec(**fields), CATALOG)


# --- golden files -------------------------------------------------------------------------


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN_DIR / name
    if os.environ.get("UPDATE_GOLDENS") == "1":
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; create it with UPDATE_GOLDENS=1"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="plan now",
            )
        )
        pytest.fail(
            f"the plan differs from golden/{name}; if the change is intended, rewrite the "
            f"golden files with UPDATE_GOLDENS=1 and review them:\n{diff}",
            pytrace=False,
        )


@pytest.mark.parametrize("provider", ["local", "aws", "gcp"])
@pytest.mark.parametrize("preset", ["aio", "multinode"])
def test_plan_matches_golden_file(preset: str, provider: str) -> None:
    spec = Spec.model_validate(
        {"name": "golden", "provider": provider, "topology": {"preset": preset}}
    )
    planned = plan(spec, CATALOG)
    text = json.dumps(planned.to_dict(), indent=2) + "\n"
    check_golden(f"{preset}-{provider}.json", text)


def test_golden_check_reports_a_readable_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPDATE_GOLDENS", raising=False)
    monkeypatch.setattr(f"{__name__}.GOLDEN_DIR", tmp_path)
    (tmp_path / "x.json").write_text('{\n  "tenant_mtu": 1450\n}\n')
    with pytest.raises(pytest.fail.Exception) as failed:
        check_golden("x.json", '{\n  "tenant_mtu": 1410\n}\n')
    message = str(failed.value)
    assert '-  "tenant_mtu": 1450' in message
    assert '+  "tenant_mtu": 1410' in message
    assert "UPDATE_GOLDENS=1" in message


def test_plan_json_is_stable_and_plain() -> None:
    first = plan_for(provider="gcp", topology={"preset": "multinode"}).to_dict()
    again = plan_for(provider="gcp", topology={"preset": "multinode"}).to_dict()
    assert json.dumps(first) == json.dumps(again)
    assert first["format"] == "stacklab.plan/v1"
    assert json.loads(json.dumps(first)) == first  # nothing but JSON types


# --- targeted -----------------------------------------------------------------------------


def test_gcp_multinode_five_nodes_tenant_mtu_1402_and_a_cost() -> None:
    planned = plan_for(provider="gcp", topology={"preset": "multinode"})
    assert [n.name for n in planned.nodes] == [
        "controller",
        "network",
        "compute1",
        "compute2",
        "storage",
    ]
    assert planned.network(NetworkName.OVERLAY).mtu == 1460
    assert planned.tenant_mtu == 1402  # 1460 less Geneve
    assert planned.cost.usd_per_hour > 0
    assert planned.cost.usd_per_hour == pytest.approx(
        sum(n.usd_per_hour or 0 for n in planned.nodes), abs=1e-3
    )
    assert "as of 2026-" in planned.cost.note


def hypervisor_of(compute_type: str, hypervisor: str = "auto") -> tuple[HypervisorKind, str]:
    planned = plan_for(
        provider={"kind": "aws", "machine_types": {"compute": compute_type}},
        topology={"preset": "multinode"},
        hypervisor=hypervisor,
    )
    choices = {n.hypervisor for n in planned.nodes_with(Role.COMPUTE)}
    assert len(choices) == 1
    choice = choices.pop()
    assert choice is not None
    return choice.kind, choice.reason


def test_aws_metal_runs_kvm() -> None:
    kind, reason = hypervisor_of("m5.metal")
    assert kind is HypervisorKind.KVM
    assert "m5.metal" in reason and "bare metal" in reason


def test_aws_m8i_runs_nested_kvm() -> None:
    kind, reason = hypervisor_of("m8i.2xlarge")
    assert kind is HypervisorKind.KVM
    assert "nested" in reason and "NestedVirtualization" in reason


def test_aws_m5_runs_qemu_and_says_the_cost() -> None:
    kind, reason = hypervisor_of("m5.2xlarge")
    assert kind is HypervisorKind.QEMU
    assert "10x" in reason and "m5.2xlarge" in reason


def test_asking_for_qemu_on_metal_gets_qemu() -> None:
    kind, reason = hypervisor_of("m5.metal", hypervisor="qemu")
    assert kind is HypervisorKind.QEMU
    assert "the spec asks for qemu" in reason


def test_qemu_computes_are_warned_about() -> None:
    planned = plan_for(
        provider={"kind": "aws", "machine_types": {"compute": "m5.2xlarge"}},
        topology={"preset": "multinode"},
    )
    qemu_warnings = [w for w in planned.warnings if "qemu" in w]
    assert [w.split()[0] for w in qemu_warnings] == ["compute1", "compute2"]


def test_only_compute_nodes_have_a_hypervisor() -> None:
    planned = plan_for(topology={"preset": "multinode"})
    assert {n.name for n in planned.nodes if n.hypervisor} == {"compute1", "compute2"}


@pytest.fixture
def no_cloud_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No cloud credentials anywhere, and state and cache in tmp_path."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "CLOUDSDK_", "GCE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def test_local_aio_plans_with_no_cloud_account_and_costs_nothing(no_cloud_account: Path) -> None:
    path = no_cloud_account / "stacklab.yaml"
    path.write_text("name: mylab\n")
    planned = api.plan_file(path)
    assert planned.provider == "local"
    assert [n.name for n in planned.nodes] == ["aio"]
    assert set(planned.nodes[0].roles) == {Role.CONTROLLER, Role.NETWORK, Role.COMPUTE}
    assert planned.cost.usd_per_hour == 0
    assert planned.tenant_mtu == 1442


def test_step_names_come_from_the_plan_in_order() -> None:
    planned = plan_for(services={"cinder": True, "octavia": True, "horizon": True})
    assert planned.step_names == tuple(step.name for step in planned.steps)
    names = list(planned.step_names)
    assert names[:3] == ["preflight", "networks", "nodes"]
    assert names[-3:] == ["bootstrap", "access", "verify"]
    # Ceph comes before Glance (its image store) and nova-compute (libvirt's Ceph key).
    assert names.index("identity") < names.index("block-storage") < names.index("image")
    assert names.index("network") < names.index("load-balancer")
    assert names.index("load-balancer") < names.index("dashboard") < names.index("bootstrap")
    assert names.index("dashboard") < names.index("proxy") < names.index("bootstrap")
    assert len(names) == len(set(names))
    lean = plan_for(services={"horizon": False}).step_names
    assert "dashboard" not in lean and "block-storage" not in lean and "proxy" not in lean
    # A cloud lab, or its rehearsal, is reached through the proxy, with Horizon or without.
    for provider in ({"kind": "aws"}, {"kind": "local", "fabric": "aws"}):
        reached = plan_for(provider=provider, services={"horizon": False}).step_names
        assert "proxy" in reached and "dashboard" not in reached
    assert "load-balancer" not in lean


def test_until_refuses_a_step_not_in_the_plan_listing_them_in_order(
    no_cloud_account: Path,
) -> None:
    path = no_cloud_account / "stacklab.yaml"
    path.write_text("name: mylab\nservices: {horizon: false}\n")
    with pytest.raises(StacklabError) as refused:
        api.up(path, until="dashboard")
    expected = ", ".join(api.plan_file(path).step_names)
    assert refused.value.fix is not None and expected in refused.value.fix
    assert not (no_cloud_account / "state").exists()


@pytest.mark.parametrize("provider", ["local", "aws", "gcp"])
@pytest.mark.parametrize("preset", ["aio", "multinode"])
def test_vip_and_gateways_lie_in_their_networks(preset: str, provider: str) -> None:
    planned = plan_for(provider=provider, topology={"preset": preset})
    for network in planned.networks:
        assert network.gateway in network.cidr
        assert network.gateway not in (network.cidr.network_address, network.cidr.broadcast_address)
    management = planned.network(NetworkName.MANAGEMENT)
    assert management.vip is not None and management.vip in management.cidr
    node_addresses = {nic.address for node in planned.nodes for nic in node.nics}
    assert management.vip not in node_addresses
    floating = planned.network(NetworkName.PROVIDER).floating_range
    assert floating is not None
    assert floating.start in planned.network(NetworkName.PROVIDER).cidr
    assert floating.end in planned.network(NetworkName.PROVIDER).cidr


def test_every_node_is_on_management_and_nics_follow_roles() -> None:
    planned = plan_for(topology={"preset": "multinode"})
    joined = {n.name: {nic.network.value for nic in n.nics} for n in planned.nodes}
    assert joined == {
        "controller": {"management", "uplink"},
        "network": {"management", "overlay", "provider", "uplink"},
        "compute1": {"management", "overlay"},
        "compute2": {"management", "overlay"},
        "storage": {"management"},
    }
    assert planned.controller == "controller" and planned.access_node == "network"


def local_cidrs(name: str) -> list[IPv4Network]:
    planned = plan(Spec.model_validate({"name": name}), CATALOG)
    return [network.cidr for network in planned.networks]


def test_default_local_cidrs_differ_between_labs_and_are_stable() -> None:
    alpha, beta = local_cidrs("alpha"), local_cidrs("beta")
    assert alpha == local_cidrs("alpha")
    assert not any(a.overlaps(b) for a in alpha for b in beta)
    for cidr in alpha + beta:
        assert cidr.subnet_of(IPv4Network("10.0.0.0/8"))


def test_cloud_labs_use_their_own_vpc_range_whatever_the_name() -> None:
    a = [n.cidr for n in plan_for(provider="gcp").networks]
    b = [
        n.cidr
        for n in plan(Spec.model_validate({"name": "other", "provider": "gcp"}), CATALOG).networks
    ]
    assert a == b


def test_explicit_cidrs_are_honoured_and_defaults_avoid_them() -> None:
    default = {n.name: n.cidr for n in plan_for(provider="aws").networks}
    # Take the default management and overlay ranges for other networks.
    planned = plan_for(
        provider="aws",
        networks={
            "provider": {"cidr": str(default[NetworkName.MANAGEMENT])},
            "uplink": {"cidr": str(default[NetworkName.OVERLAY])},
        },
    )
    cidrs = {n.name: n.cidr for n in planned.networks}
    assert cidrs[NetworkName.PROVIDER] == default[NetworkName.MANAGEMENT]
    assert cidrs[NetworkName.UPLINK] == default[NetworkName.OVERLAY]
    values = list(cidrs.values())
    assert not any(a.overlaps(b) for i, a in enumerate(values) for b in values[i + 1 :])
    # On a cloud no node has a NIC on the external network: its gateway is on the router node.
    assert all(node.nic(NetworkName.PROVIDER) is None for node in planned.nodes)
    assert planned.network(NetworkName.PROVIDER).gateway in default[NetworkName.MANAGEMENT]
    local = plan_for(networks={"provider": {"cidr": str(default[NetworkName.MANAGEMENT])}})
    provider_nic = local.nodes[0].nic(NetworkName.PROVIDER)
    assert provider_nic is not None
    assert provider_nic.address in default[NetworkName.MANAGEMENT]


def test_explicit_floating_range_is_kept() -> None:
    planned = plan_for(
        networks={
            "provider": {
                "cidr": "192.168.50.0/24",
                "floating_range": {"start": "192.168.50.100", "end": "192.168.50.150"},
            }
        }
    )
    floating = planned.network(NetworkName.PROVIDER).floating_range
    assert floating is not None
    assert (floating.start, floating.end) == (
        IPv4Address("192.168.50.100"),
        IPv4Address("192.168.50.150"),
    )
    assert floating.size == 51


def test_default_floating_range_is_the_upper_half() -> None:
    provider = plan_for().network(NetworkName.PROVIDER)
    assert provider.floating_range is not None
    assert provider.floating_range.start == provider.cidr[provider.cidr.num_addresses // 2]
    assert provider.floating_range.end == provider.cidr[-3]


def test_explicit_mtus_and_release() -> None:
    planned = plan_for(provider="gcp", os="debian-13", networks={"overlay": {"mtu": 8896}})
    assert planned.tenant_mtu == 8838
    assert planned.network(NetworkName.MANAGEMENT).mtu == 1460
    assert (planned.release, planned.openstack_series) == ("trixie", "2025.1")
    for node in planned.nodes:
        for nic in node.nics:
            assert nic.mtu == planned.network(nic.network).mtu


def test_aio_with_cinder_carries_the_storage_role() -> None:
    planned = plan_for(services={"cinder": True})
    assert Role.STORAGE in planned.nodes[0].roles
    assert "cinder" in planned.services


def test_ssh_plan_knows_the_interfaces() -> None:
    planned = plan_for(
        provider={
            "kind": "ssh",
            "hosts": [
                {
                    "name": "aio",
                    "address": "192.0.2.10",
                    "interfaces": {
                        "management": "eth1",
                        "overlay": "eth2",
                        "provider": "eth3",
                        "uplink": "eth0",
                    },
                }
            ],
        }
    )
    nics = {nic.network.value: nic.interface for nic in planned.nodes[0].nics}
    assert nics == {"management": "eth1", "overlay": "eth2", "provider": "eth3", "uplink": "eth0"}
    assert planned.cost.usd_per_hour == 0


def test_a_cloud_plan_routes_every_node_out_through_the_network_node() -> None:
    planned = plan_for(
        provider={"kind": "aws", "region": "eu-central-1", "profile": "lab"},
        topology={"preset": "multinode"},
        access={"admin_cidr": "198.51.100.7/32"},
    )
    assert (planned.region, planned.profile) == ("eu-central-1", "lab")
    router = planned.router
    assert router is not None and router.node == planned.access_node == "network"
    assert router.gateway == planned.node("network").management_address
    uplink = planned.network(NetworkName.UPLINK).cidr
    assert set(router.masqueraded) == {n.cidr for n in planned.networks} - {uplink}
    admin = IPv4Network("198.51.100.7/32")
    assert {(p.protocol, p.port, p.source, p.node) for p in planned.open_ports} == {
        ("tcp", 22, admin, "network"),
        ("tcp", 443, admin, "network"),
    }
    recorded = planned.to_dict()
    assert (recorded["region"], recorded["profile"]) == ("eu-central-1", "lab")
    assert recorded["router"]["gateway"] == str(router.gateway)


def test_where_the_host_nats_there_is_no_router_and_nothing_opened() -> None:
    planned = plan_for(topology={"preset": "multinode"})
    assert (planned.region, planned.router, planned.open_ports) == (None, None, ())
