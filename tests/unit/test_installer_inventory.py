"""Inventory and variables of the playbook, made from a Plan: pure data."""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest

import stacklab.installer as installer_data
from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, Role, Spec
from stacklab.core.nodes import NodeAccess
from stacklab.installer.inventory import build_inventory, extra_vars, keystone_url, ovs_datapath
from stacklab.installer.phases import PHASES, SECRET_NAMES
from stacklab.plan.models import DatapathChoice, DatapathKind, Plan
from stacklab.plan.planner import plan
from stacklab.state.secrets import SecretStore

CATALOG = load_catalog(with_host=False)


def plan_for(**fields: Any) -> Plan:
    return plan(Spec.model_validate({"name": "lab", **fields}), CATALOG)


def accesses(lab_plan: Plan, key: Path = Path("/keys/id")) -> tuple[NodeAccess, ...]:
    return tuple(
        NodeAccess(node.name, str(node.management_address), "root", 22, key)
        for node in lab_plan.nodes
    )


def test_aio_node_is_in_every_group_of_its_roles() -> None:
    lab = plan_for()
    inventory = build_inventory(lab, accesses(lab))
    groups = inventory["all"]["children"]
    assert set(groups) == {"controller", "network", "compute", "storage"}
    for role in ("controller", "network", "compute"):
        assert list(groups[role]["hosts"]) == ["aio"]
    assert groups["storage"]["hosts"] == {}


def test_multinode_groups_follow_the_plan_roles() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    groups = build_inventory(lab, accesses(lab))["all"]["children"]
    assert list(groups["controller"]["hosts"]) == ["controller"]
    assert list(groups["network"]["hosts"]) == ["network"]
    assert sorted(groups["compute"]["hosts"]) == ["compute1", "compute2"]
    assert list(groups["storage"]["hosts"]) == ["storage"]


def test_host_vars_reach_the_node_over_ssh_as_root_with_the_lab_key() -> None:
    lab = plan_for()
    key = Path("/state/labs/lab/ssh/id_ed25519")
    host = build_inventory(lab, accesses(lab, key))["all"]["hosts"]["aio"]
    node = lab.node("aio")
    assert host["ansible_host"] == str(node.management_address)
    assert host["ansible_user"] == "root"
    assert host["ansible_ssh_private_key_file"] == str(key)
    assert "StrictHostKeyChecking=no" in host["ansible_ssh_common_args"]
    assert host["node_addresses"] == {nic.network.value: str(nic.address) for nic in node.nics}
    assert host["node_interfaces"] == {}  # the local provider names none up front


def test_a_jump_host_is_reached_with_the_labs_key_too() -> None:
    """ProxyJump would pass the jump host neither -i nor -o: the lab's key would not log in
    there."""
    lab = plan_for()
    jumped = tuple(
        NodeAccess(a.name, a.host, a.user, a.port, a.private_key, jump_host="root@203.0.113.7")
        for a in accesses(lab)
    )
    host = build_inventory(lab, jumped)["all"]["hosts"]["aio"]
    words = shlex.split(host["ansible_ssh_common_args"])
    (proxy,) = [w for w in words if w.startswith("ProxyCommand=")]
    command = shlex.split(proxy.removeprefix("ProxyCommand="))
    assert command[:3] == ["ssh", "-i", str(jumped[0].private_key)]
    assert command[-3:] == ["-W", "%h:%p", "root@203.0.113.7"]
    assert "ProxyJump" not in host["ansible_ssh_common_args"]


@pytest.mark.parametrize(("hypervisor", "virt_type"), [("qemu", "qemu"), ("kvm", "kvm")])
def test_virt_type_is_the_plans_hypervisor_choice(hypervisor: str, virt_type: str) -> None:
    lab = plan_for(hypervisor=hypervisor)
    host = build_inventory(lab, accesses(lab))["all"]["hosts"]["aio"]
    assert host["virt_type"] == virt_type


def test_only_compute_nodes_get_a_virt_type() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    assert {name for name, host in hosts.items() if "virt_type" in host} == {
        "compute1",
        "compute2",
    }


def test_missing_node_access_is_refused() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    with pytest.raises(ValueError, match="compute2"):
        build_inventory(lab, accesses(lab)[:3])


def test_extra_vars_carry_the_plans_addresses_and_mtus() -> None:
    lab = plan_for(networks={"overlay": {"mtu": 1460}, "provider": {"mtu": 1400}})
    variables = extra_vars(lab, Path("/state/labs/lab/secrets.json"))
    management = next(n for n in lab.networks if n.name.value == "management")
    assert variables["api_address"] == str(management.vip)
    assert variables["api_address_is_vip"] is True
    assert variables["controller_address"] == str(lab.node("aio").management_address)
    assert variables["overlay_mtu"] == 1460
    assert variables["provider_mtu"] == 1400
    assert variables["tenant_mtu"] == 1402
    assert variables["stacklab_release"] == "trixie"
    assert variables["secrets_file"] == "/state/labs/lab/secrets.json"
    assert keystone_url(lab) == f"http://{management.vip}:5000/v3"


def test_no_secret_value_is_in_the_inventory_or_variables(tmp_path: Path) -> None:
    lab = plan_for()
    store = SecretStore("lab", tmp_path)
    values = [store.get(name) for name in SECRET_NAMES]
    text = json.dumps([build_inventory(lab, accesses(lab)), extra_vars(lab, store.path)])
    assert all(value not in text for value in values)
    assert str(store.path) in text


def test_the_phases_are_steps_of_the_plan_in_the_same_order() -> None:
    every_service = {"cinder": True, "octavia": True, "horizon": True}
    steps = [step for step in plan_for(services=every_service).step_names if step in PHASES]
    assert steps == list(PHASES)


def test_each_node_gets_the_packages_of_its_roles() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    assert "keystone" in hosts["controller"]["node_packages"]
    assert "openstack-dashboard-apache" in hosts["controller"]["node_packages"]
    assert "ovn-central" in hosts["controller"]["node_packages"]
    assert "ovn-host" not in hosts["controller"]["node_packages"]
    assert {"openvswitch-switch", "ovn-host"} <= set(hosts["network"]["node_packages"])
    assert "neutron-ovn-metadata-agent" not in hosts["network"]["node_packages"]
    assert {"ovn-host", "neutron-ovn-metadata-agent"} <= set(hosts["compute1"]["node_packages"])
    assert "nova-compute-qemu" in hosts["compute1"]["node_packages"]
    assert hosts["storage"]["node_packages"] == ["python3-openstackclient"]
    assert not {"cinder-api", "qemu-block-extra"} & set(hosts["controller"]["node_packages"])


def test_cinder_puts_ceph_and_cinder_volume_on_the_storage_node_and_librbd_on_computes() -> None:
    lab = plan_for(topology={"preset": "multinode"}, services={"cinder": True})
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    storage = set(hosts["storage"]["node_packages"])
    assert {"ceph-mon", "ceph-mgr", "ceph-osd", "cinder-volume", "python3-rbd"} <= storage
    assert {"cinder-api", "cinder-scheduler", "python3-rbd"} <= set(
        hosts["controller"]["node_packages"]
    )
    assert "cinder-volume" not in hosts["controller"]["node_packages"]
    for compute in ("compute1", "compute2"):
        assert "qemu-block-extra" in hosts[compute]["node_packages"]
        assert "ceph-osd" not in hosts[compute]["node_packages"]
    assert not {"ceph-common", "cinder-api"} & set(hosts["network"]["node_packages"])
    variables = extra_vars(lab, Path("/secrets.json"))
    assert variables["cinder_enabled"] is True
    assert variables["ceph_mon_address"] == str(lab.node("storage").management_address)


def test_the_aio_with_cinder_runs_everything_on_its_one_node() -> None:
    lab = plan_for(services={"cinder": True})
    packages = set(build_inventory(lab, accesses(lab))["all"]["hosts"]["aio"]["node_packages"])
    assert {"ceph-osd", "cinder-volume", "cinder-api", "qemu-block-extra"} <= packages
    assert extra_vars(lab, Path("/s.json"))["ceph_mon_address"] == str(
        lab.node("aio").management_address
    )
    assert extra_vars(plan_for(), Path("/s.json"))["ceph_mon_address"] is None


def test_octavia_with_ovns_driver_goes_on_the_controller_alone_and_no_amphora_part() -> None:
    octavia = {"octavia-api", "octavia-driver-agent", "python3-ovn-octavia-provider"}
    lab = plan_for(topology={"preset": "multinode"}, services={"octavia": True})
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    assert octavia <= set(hosts["controller"]["node_packages"])
    for name in ("network", "compute1", "storage"):
        assert not octavia & set(hosts[name]["node_packages"])
    amphora = {"octavia-worker", "octavia-health-manager", "octavia-housekeeping"}
    assert not amphora & {package for host in hosts.values() for package in host["node_packages"]}
    without = plan_for(topology={"preset": "multinode"})
    controller = build_inventory(without, accesses(without))["all"]["hosts"]["controller"]
    assert not octavia & set(controller["node_packages"])


def test_no_linuxbridge_dhcp_or_l3_agent_is_installed_anywhere() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    agents = ("neutron-linuxbridge-agent", "neutron-dhcp-agent", "neutron-l3-agent")
    for host in hosts.values():
        assert not set(agents) & set(host["node_packages"])


def test_the_datapath_is_the_plans_choice_and_userspace_without_one() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    for node in lab.nodes:
        wanted = node.datapath.kind.value if node.datapath else "userspace"
        assert hosts[node.name]["ovs_datapath"] == wanted
    kernel = dataclasses.replace(
        lab.node("compute1"), datapath=DatapathChoice.of(DatapathKind.KERNEL, "probe")
    )
    assert ovs_datapath(kernel) == "kernel"
    assert ovs_datapath(dataclasses.replace(kernel, datapath=None)) == "userspace"
    assert hosts["compute1"]["node_address_prefixes"]["overlay"].endswith("/24")


def test_no_dashboard_package_without_horizon_and_kvm_gets_its_own() -> None:
    lab = plan_for(services={"horizon": False}, hypervisor="kvm")
    packages = build_inventory(lab, accesses(lab))["all"]["hosts"]["aio"]["node_packages"]
    assert "openstack-dashboard-apache" not in packages
    assert "nova-compute-kvm" in packages and "nova-compute-qemu" not in packages
    assert packages == sorted(set(packages))


def test_a_cloud_plan_makes_the_network_node_every_nodes_way_out() -> None:
    lab = plan_for(
        provider={"kind": "aws"},
        topology={"preset": "multinode"},
        access={"admin_cidr": "198.51.100.7/32"},
    )
    router = build_inventory(lab, accesses(lab))["all"]["vars"]["lab_router"]
    uplink = lab.network(NetworkName.UPLINK)
    assert router == {
        "node": "network",
        "gateway": str(lab.node("network").management_address),
        "masqueraded": [str(n.cidr) for n in lab.networks if n is not uplink],
    }
    assert router["node"] in {node.name for node in lab.nodes_with(Role.NETWORK)}


@pytest.mark.parametrize("preset", ["aio", "multinode"])
def test_where_the_host_nats_there_is_no_lab_router(preset: str) -> None:
    lab = plan_for(topology={"preset": preset})
    assert build_inventory(lab, accesses(lab))["all"]["vars"]["lab_router"] is None


def test_the_routers_masquerade_ruleset_is_one_nft_accepts(tmp_path: Path) -> None:
    lab = plan_for(provider={"kind": "aws"}, topology={"preset": "multinode"})
    router = build_inventory(lab, accesses(lab))["all"]["vars"]["lab_router"]
    templates = Path(installer_data.__file__).parent / "data" / "roles" / "node" / "templates"
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates), undefined=jinja2.StrictUndefined
    )
    ruleset = environment.get_template("stacklab-router.nft.j2").render(
        lab_router=router, router_uplink="ens5"
    )
    path = tmp_path / "router.nft"
    path.write_text(ruleset, encoding="utf-8")
    checked = subprocess.run(  # -c: parsed and checked by the kernel, never applied
        ["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert all(cidr in ruleset for cidr in router["masqueraded"])
    route = environment.get_template("stacklab-default-route.service.j2").render(lab_router=router)
    assert f"ip route replace default via {router['gateway']}" in route


def test_on_a_cloud_the_network_node_alone_holds_the_external_networks_gateway() -> None:
    lab = plan_for(
        provider={"kind": "aws"},
        topology={"preset": "multinode"},
        access={"admin_cidr": "198.51.100.7/32"},
    )
    external = lab.network(NetworkName.PROVIDER)
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    holders = {name: v["external_gateway"] for name, v in hosts.items() if "external_gateway" in v}
    assert holders == {"network": f"{external.gateway}/{external.cidr.prefixlen}"}
    assert all("provider" not in v["node_addresses"] for v in hosts.values())
    local = plan_for(topology={"preset": "multinode"})
    local_hosts = build_inventory(local, accesses(local))["all"]["hosts"]
    assert not any("external_gateway" in v for v in local_hosts.values())
    assert "provider" in local_hosts["network"]["node_addresses"]
