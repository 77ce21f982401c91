"""The plan as it lands on GCP (pure): a network per lab network, nic0 and the one external
address on the router node, nested virtualization only where KVM is planned on a type that
offers it, the firewall rules and the route out."""

from __future__ import annotations

from typing import Any

from stacklab.catalog import load_catalog
from stacklab.config.models import NetworkName, Role, Spec
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.gcp.layout import lab_layout, startup_script

CATALOG = load_catalog(with_host=False)
ADMIN = "203.0.113.7/32"


def gcp_plan(preset: str = "multinode", **spec: Any) -> Plan:
    provider = {"kind": "gcp", "project": "p", **spec.pop("provider", {})}
    document = {
        "name": "lab",
        "provider": provider,
        "topology": {"preset": preset},
        "access": {"admin_cidr": ADMIN},
        **spec,
    }
    return make_plan(Spec.model_validate(document), CATALOG)


def test_every_lab_network_is_a_network_of_its_own_at_the_plans_range_and_mtu() -> None:
    plan = gcp_plan(networks={"overlay": {"mtu": 8896}})
    layout = lab_layout(plan, CATALOG.of("gcp"))
    assert {(n.name, str(n.cidr), n.mtu) for n in layout.networks} == {
        (f"stacklab-lab-{n.name.value}", str(n.cidr), n.mtu) for n in plan.provisioned_networks
    }
    assert NetworkName.PROVIDER not in {n.network for n in layout.networks}
    assert layout.network(NetworkName.OVERLAY).mtu == 8896
    assert plan.tenant_mtu == 8896 - 58


def test_only_the_router_node_forwards_and_has_the_external_address_on_nic0() -> None:
    plan = gcp_plan()
    layout = lab_layout(plan, CATALOG.of("gcp"))
    for node in layout.nodes:
        external = [nic for nic in node.nics if nic.external]
        if node.name == plan.access_node:
            assert node.can_ip_forward and node.nics[0].network is NetworkName.UPLINK
            assert external == [node.nics[0]]
            assert node.network_tags == ("stacklab-lab-access",)
        else:
            assert not node.can_ip_forward and external == []
            assert node.network_tags == ("stacklab-lab-behind-router",)
            assert node.nics[0].network is NetworkName.MANAGEMENT
    vip = plan.network(NetworkName.MANAGEMENT).vip
    controller = next(n for n in layout.nodes if n.name == plan.controller)
    assert [nic.alias_addresses for nic in controller.nics if nic.alias_addresses] == [(vip,)]


def test_nested_virtualization_follows_the_planned_hypervisor_per_type() -> None:
    intel = lab_layout(gcp_plan(), CATALOG.of("gcp"))
    nested = {n.name: n.nested_virtualization for n in intel.nodes}
    assert nested == {
        "controller": False,
        "network": False,
        "compute1": True,
        "compute2": True,
        "storage": False,
    }
    amd = gcp_plan(provider={"machine_types": {"compute": "n2d-standard-4"}})
    assert not any(n.nested_virtualization for n in lab_layout(amd, CATALOG.of("gcp")).nodes)
    assert {n.hypervisor.kind.value for n in amd.nodes_with(Role.COMPUTE)} == {"qemu"}
    asked_qemu = gcp_plan(hypervisor="qemu")
    assert not any(n.nested_virtualization for n in lab_layout(asked_qemu, CATALOG.of("gcp")).nodes)


def test_the_admin_range_reaches_the_access_node_only_and_the_lab_reaches_itself() -> None:
    plan = gcp_plan()
    layout = lab_layout(plan, CATALOG.of("gcp"))
    opened = [rule for rule in layout.firewall_rules if rule.target_tags]
    assert {(r.protocol, r.ports, r.sources) for r in opened} == {
        ("tcp", ("22",), (ADMIN,)),
        ("tcp", ("443",), (ADMIN,)),
    }
    assert {r.network for r in opened} == {"stacklab-lab-uplink"}
    inside = [rule for rule in layout.firewall_rules if not rule.target_tags]
    assert {r.network for r in inside} == {n.name for n in layout.networks}
    assert all(r.protocol == "all" and len(r.sources) == 3 for r in inside)
    (route,) = layout.routes
    assert (route.network, route.destination, route.next_hop_ip, route.tags) == (
        "stacklab-lab-management",
        "0.0.0.0/0",
        str(plan.node(plan.access_node).management_address),
        ("stacklab-lab-behind-router",),
    )


def test_the_startup_script_lets_root_in_with_the_labs_keys_only() -> None:
    layout = lab_layout(gcp_plan(preset="aio"), CATALOG.of("gcp"))
    script = startup_script(layout.nodes[0], ["ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"])
    assert "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\n" in script
    assert "PermitRootLogin prohibit-password" in script and "aio.lab.internal" in script
