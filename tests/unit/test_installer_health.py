"""What the health check expects of a lab, and how it judges what the APIs report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.installer.health import (
    CloudHealth,
    cloud_health,
    expected_services,
    planned_roles,
)
from stacklab.openstack_records import ServiceRecord
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan

CATALOG = load_catalog(with_host=False)


def plan_for(**fields: Any) -> Plan:
    return plan(Spec.model_validate({"name": "lab", **fields}), CATALOG)


def test_aio_expects_nova_services_a_gateway_chassis_and_the_metadata_agent() -> None:
    assert expected_services(planned_roles(plan_for())) == {
        "compute aio/nova-conductor",
        "compute aio/nova-scheduler",
        "compute aio/nova-compute",
        "network aio/OVN Controller Gateway agent",
        "network aio/OVN Metadata agent",
    }


def test_multinode_expects_a_chassis_on_every_compute_and_the_gateway_on_the_network_node() -> None:
    expected = expected_services(planned_roles(plan_for(topology={"preset": "multinode"})))
    assert "network compute2/OVN Controller agent" in expected
    assert "network compute2/OVN Metadata agent" in expected
    assert "compute compute1/nova-compute" in expected
    assert "network network/OVN Controller Gateway agent" in expected
    assert "network network/OVN Metadata agent" not in expected
    assert "network compute1/OVN Controller Gateway agent" not in expected
    assert not any(name.startswith(("compute storage", "network storage")) for name in expected)
    assert not any(name.startswith("network controller") for name in expected)


def test_cinder_expects_its_scheduler_on_the_controller_and_its_volume_service_on_storage() -> None:
    expected = expected_services(
        planned_roles(plan_for(topology={"preset": "multinode"}, services={"cinder": True}))
    )
    assert "volume controller/cinder-scheduler" in expected
    assert "volume storage@ceph/cinder-volume" in expected
    assert not any(name.startswith("volume compute") for name in expected)
    aio = expected_services(planned_roles(plan_for(services={"cinder": True})))
    assert {"volume aio/cinder-scheduler", "volume aio@ceph/cinder-volume"} <= aio
    assert not any(name.startswith("volume") for name in expected_services(
        planned_roles(plan_for(topology={"preset": "multinode"}))
    ))  # fmt: skip


def test_health_is_ok_only_with_everything_up_and_nothing_missing() -> None:
    up = ServiceRecord("compute", "nova-compute", "aio", True)
    down = ServiceRecord("network", "L3 agent", "aio", False)
    assert CloudHealth(services=(up,)).ok
    assert not CloudHealth(services=(up, down)).ok
    assert CloudHealth(services=(up, down)).down == (down,)
    assert not CloudHealth(services=(up,), missing=("network aio/DHCP agent",)).ok
    assert not CloudHealth(error="no answer").ok
    assert not CloudHealth().ok


def test_a_lab_not_installed_yet_reports_why_instead_of_raising(tmp_path: Path) -> None:
    lab = plan_for()
    health = cloud_health(lab.lab, planned_roles(lab), tmp_path)
    assert not health.ok and health.error


def test_roles_read_back_from_the_saved_plan_are_the_planned_ones() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    assert planned_roles(Plan.from_dict(lab.to_dict())) == planned_roles(lab)


def test_status_shows_down_and_missing_services_and_why_a_cloud_did_not_answer() -> None:
    from rich.console import Console

    from stacklab.cli.render import health_view

    def shown(health: CloudHealth) -> str:
        console = Console(width=120, record=True, color_system=None)
        console.print(health_view(health))
        return console.export_text()

    text = shown(
        CloudHealth(
            services=(
                ServiceRecord("compute", "nova-compute", "aio", True),
                ServiceRecord("network", "L3 agent", "aio", False),
            ),
            missing=("network aio/DHCP agent",),
        )
    )
    assert "nova-compute" in text and "up" in text
    assert "L3 agent" in text and "DOWN" in text
    assert "DHCP agent" in text and "MISSING" in text
    assert "Connection refused" in shown(CloudHealth(error="Connection refused"))
