"""Open vSwitch's datapath: the decision from a kernel's facts (pure), the facts script's
output, the cache, and what the plan makes of it per node and provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.doctor.models import Status
from stacklab.doctor.ovs_datapath import (
    HOST_KEY,
    KernelFacts,
    datapath_check,
    datapath_record_path,
    decide_datapath,
    load_datapath,
    parse_kernel_facts,
    save_datapath,
    ssh_host_key,
)
from stacklab.errors import SpecError
from stacklab.plan.models import (
    KERNEL_DATAPATH_COST,
    USERSPACE_DATAPATH_COST,
    DatapathChoice,
    DatapathKind,
    Plan,
)
from stacklab.plan.planner import plan

CATALOG = load_catalog(with_host=False)
KERNEL = "6.12.48+deb13-amd64"


def facts(**changes: object) -> KernelFacts:
    values: dict[str, object] = {
        "kernel": KERNEL,
        "module_loaded": False,
        "module_file": False,
        "module_loading": True,
        "genl_family": False,
    }
    values.update(changes)
    return KernelFacts(**values)  # type: ignore[arg-type]


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


# --- the decision -------------------------------------------------------------------------


def test_a_kernel_that_answers_for_ovs_datapath_gets_the_kernel_datapath() -> None:
    choice = decide_datapath(
        facts(module_loaded=True, genl_family=True), where="this host", loads_module_at_start=False
    )
    assert choice.kind is DatapathKind.KERNEL
    assert "ovs_datapath" in choice.reason and KERNEL in choice.reason
    assert choice.cost == KERNEL_DATAPATH_COST


def test_a_module_not_yet_loaded_counts_where_open_vswitch_loads_it_itself() -> None:
    unloaded = facts(module_file=True)
    on_host = decide_datapath(unloaded, where="host net1", loads_module_at_start=True)
    assert on_host.kind is DatapathKind.KERNEL and "not loaded yet" in on_host.reason
    # nspawn nodes cannot load modules: for them only a loaded module counts.
    in_nodes = decide_datapath(unloaded, where="this host", loads_module_at_start=False)
    assert in_nodes.kind is DatapathKind.USERSPACE
    assert "modprobe openvswitch" in in_nodes.reason


def test_a_kernel_without_the_module_gets_userspace_and_says_why_and_what_it_costs() -> None:
    choice = decide_datapath(facts(), where="this host", loads_module_at_start=True)
    assert choice.kind is DatapathKind.USERSPACE
    assert f"no openvswitch module in /lib/modules/{KERNEL}" in choice.reason
    assert "datapath_type=netdev" in choice.reason
    assert choice.cost == USERSPACE_DATAPATH_COST
    assert "one full core" in choice.cost and "userspace-tso-enable=true" in choice.cost


def test_a_kernel_that_loads_no_modules_gets_userspace_even_with_the_file() -> None:
    choice = decide_datapath(
        facts(module_file=True, module_loading=False), where="host c1", loads_module_at_start=True
    )
    assert choice.kind is DatapathKind.USERSPACE
    assert "loads no modules" in choice.reason


def test_a_kernel_that_could_not_be_asked_gets_userspace_with_the_reason() -> None:
    unknown = facts(genl_family=None, genl_detail="no python3", module_loaded=True)
    choice = decide_datapath(unknown, where="host c1", loads_module_at_start=True)
    assert choice.kind is DatapathKind.USERSPACE and "no python3" in choice.reason
    missing = decide_datapath(None, where="host c1", loads_module_at_start=True)
    assert missing.kind is DatapathKind.USERSPACE and "could not be asked" in missing.reason


def test_the_doctor_check_passes_on_kernel_and_warns_with_the_cost_on_userspace() -> None:
    kernel = datapath_check(DatapathChoice.of(DatapathKind.KERNEL, "loaded"))
    assert kernel.status is Status.PASS and kernel.name == "ovs datapath"
    userspace = datapath_check(DatapathChoice.of(DatapathKind.USERSPACE, "no module"))
    assert userspace.status is Status.WARN and userspace.fix
    assert "no module" in userspace.summary and "one full core" in userspace.summary


# --- the facts script's output and the cache ----------------------------------------------


def test_the_facts_output_is_parsed_and_an_incomplete_one_refused() -> None:
    lines = [
        f"kernel {KERNEL}",
        "module-loaded yes",
        "module-file yes",
        "module-loading yes",
        "genl-family yes",
    ]
    assert parse_kernel_facts(lines) == facts(
        module_loaded=True, module_file=True, genl_family=True
    )
    unknown = parse_kernel_facts([*lines[:4], "genl-family unknown [Errno 93] not supported"])
    assert unknown is not None and unknown.genl_family is None
    assert unknown.genl_detail == "[Errno 93] not supported"
    assert parse_kernel_facts(lines[:4]) is None


def test_a_saved_choice_reads_back_only_for_the_same_kernel(private_cache: Path) -> None:
    choice = DatapathChoice.of(DatapathKind.USERSPACE, "no module")
    assert load_datapath(HOST_KEY) is None
    save_datapath(HOST_KEY, choice, KERNEL)
    assert load_datapath(HOST_KEY, kernel=KERNEL) == choice
    assert load_datapath(HOST_KEY, kernel="6.1.0-28-amd64") is None  # booted another kernel
    datapath_record_path(HOST_KEY).write_text(json.dumps({"kind": "warp"}))
    assert load_datapath(HOST_KEY) is None


def test_ssh_host_keys_are_file_names() -> None:
    assert ssh_host_key("192.0.2.7", 22) == "ssh-192.0.2.7-22"
    assert "/" not in ssh_host_key("../etc/x", 2222)


# --- the plan -----------------------------------------------------------------------------


def spec(**fields: object) -> Spec:
    return Spec.model_validate({"name": "dp", "os": "debian-13", **fields})


def test_local_nodes_get_the_host_probe_and_unprobed_ones_userspace() -> None:
    probed = DatapathChoice.of(DatapathKind.KERNEL, "this host's kernel answers")
    planned = plan(spec(), CATALOG, datapaths={"aio": probed})
    assert planned.node("aio").datapath == probed
    unprobed = plan(spec(), CATALOG).node("aio").datapath
    assert unprobed is not None and unprobed.kind is DatapathKind.USERSPACE
    assert "not asked yet" in unprobed.reason


def test_only_network_and_compute_nodes_switch_and_clouds_take_the_catalog() -> None:
    planned = plan(spec(provider="aws", topology={"preset": "multinode"}), CATALOG)
    switching = {node.name for node in planned.nodes if node.datapath is not None}
    assert switching == {"network", "compute1", "compute2"}
    for name in switching:
        datapath = planned.node(name).datapath
        assert datapath is not None and datapath.kind is DatapathKind.KERNEL
        assert "cloud kernel" in datapath.reason


@pytest.mark.parametrize(
    ("provider", "overlay_mtu", "tenant_mtu"),
    [("local", None, 1442), ("gcp", None, 1402), ("aws", None, 8943), ("local", 9000, 8942)],
)
def test_geneve_takes_58_bytes_of_the_overlay_mtu(
    provider: str, overlay_mtu: int | None, tenant_mtu: int
) -> None:
    networks = {"overlay": {"mtu": overlay_mtu}} if overlay_mtu else {}
    planned = plan(spec(provider=provider, networks=networks), CATALOG)
    assert (planned.tunnel.name, planned.tunnel.overhead) == ("Geneve", 58)
    assert planned.tenant_mtu == tenant_mtu
    assert "Geneve" in planned.networks[1].purpose


def test_an_overlay_too_small_for_geneve_is_refused_naming_the_overhead() -> None:
    small = {"overlay": {"mtu": 1330}}
    assert plan(spec(networks={"overlay": {"mtu": 1338}}), CATALOG).tenant_mtu == 1280
    with pytest.raises(SpecError) as refused:
        plan(spec(networks=small), CATALOG)
    text = refused.value.render()
    assert "networks.overlay.mtu" in text and "Geneve takes 58 bytes" in text
    assert "1272" in text and "at least 1338" in text


def test_gre_and_multicast_are_still_refused_on_public_clouds() -> None:
    overlay = {"overlay": {"encapsulation": "gre", "multicast_group": "239.1.1.1"}}
    with pytest.raises(SpecError) as refused:
        plan(spec(provider="aws", networks=overlay), CATALOG)
    text = refused.value.render()
    assert "networks.overlay.encapsulation" in text and "networks.overlay.multicast_group" in text


def test_the_plan_json_carries_tunnel_and_datapath() -> None:
    data = plan(spec(), CATALOG).to_dict()
    assert data["tunnel"]["name"] == "Geneve" and data["tunnel"]["overhead"] == 58
    datapath = data["nodes"][0]["datapath"]
    assert datapath["kind"] == "userspace" and datapath["cost"] == USERSPACE_DATAPATH_COST
    assert json.loads(json.dumps(data)) == data


def test_a_plan_saved_before_tunnel_and_datapath_reads_back_with_its_release_tunnel() -> None:
    saved = plan(spec(), CATALOG).to_dict()
    del saved["tunnel"]
    for node in saved["nodes"]:
        del node["datapath"]
    read = Plan.from_dict(saved)
    assert read.tunnel.name == "Geneve" and read.tunnel.overhead == 58
    assert all(node.datapath is None for node in read.nodes)
    again = plan(spec(), CATALOG)
    assert Plan.from_dict(again.to_dict()) == again
