"""The OpenStack services of a lab as its APIs report them, next to what the plan expects:
Nova's services up, Neutron's agents alive. For `stacklab status`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stacklab.config.models import Role
from stacklab.errors import StacklabError
from stacklab.installer.agents import node_agents
from stacklab.labcloud.credentials import admin_credentials
from stacklab.openstack_api import connect
from stacklab.openstack_records import ServiceRecord
from stacklab.plan.models import Plan

CONTROLLER_SERVICES = ("nova-conductor", "nova-scheduler")
COMPUTE_SERVICES = ("nova-compute",)


@dataclass(frozen=True)
class CloudHealth:
    services: tuple[ServiceRecord, ...] = ()
    missing: tuple[str, ...] = ()  # `kind host/name` the plan expects and the APIs do not list
    error: str | None = None  # why the cloud could not be asked

    @property
    def down(self) -> tuple[ServiceRecord, ...]:
        return tuple(service for service in self.services if not service.up)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.missing and not self.down and bool(self.services)


def label(service: ServiceRecord) -> str:
    return f"{service.kind} {service.host}/{service.name}"


NodeRoles = Mapping[str, Sequence[Role]]


def planned_roles(plan: Plan) -> dict[str, tuple[Role, ...]]:
    return {node.name: node.roles for node in plan.nodes}


def expected_services(nodes: NodeRoles) -> set[str]:
    """Every Nova service and Neutron agent these nodes run, as `label` names them."""
    expected: set[str] = set()
    for node, roles in nodes.items():
        names: list[tuple[str, str]] = []
        if Role.CONTROLLER in roles:
            names += [("compute", name) for name in CONTROLLER_SERVICES]
        if Role.COMPUTE in roles:
            names += [("compute", name) for name in COMPUTE_SERVICES]
        names += [("network", name) for name in node_agents(roles)]
        expected |= {f"{kind} {node}/{name}" for kind, name in names}
    return expected


def cloud_health(lab: str, nodes: NodeRoles, lab_directory: Path) -> CloudHealth:
    """Compute services and network agents of the lab. Never raises for a cloud that is not
    there yet or does not answer: the reason comes back in `error`."""
    try:
        cloud = connect(admin_credentials(lab, lab_directory))
        try:
            services = sorted(cloud.services(), key=lambda s: (s.kind, s.host, s.name))
        finally:
            cloud.close()
    except StacklabError as error:
        return CloudHealth(error=error.message)
    listed = {label(service) for service in services}
    missing = tuple(sorted(expected_services(nodes) - listed))
    return CloudHealth(services=tuple(services), missing=missing)
