"""The OpenStack services of a lab as its APIs report them, next to what the plan expects:
Nova's and Cinder's services up, Neutron's agents alive. For `stacklab status`."""

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
# services.cinder: the scheduler on the controller; cinder-volume on the storage node, listed
# by Cinder as NODE@BACKEND (the back end's section in cinder.conf, roles/cinder).
CINDER_CONTROLLER_SERVICES = ("cinder-scheduler",)
CINDER_VOLUME = "cinder-volume"
CINDER_BACKEND = "ceph"


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
    """Each node's roles, the storage role only where it runs something (Cinder is on)."""
    cinder = "cinder" in plan.services
    return {
        node.name: tuple(role for role in node.roles if cinder or role is not Role.STORAGE)
        for node in plan.nodes
    }


def expected_services(nodes: NodeRoles) -> set[str]:
    """Every Nova and Cinder service and Neutron agent these nodes run, as `label` names
    them. Cinder runs where a node has the storage role (`planned_roles` keeps it only with
    Cinder on): its scheduler on the controller, cinder-volume on the storage node."""
    cinder = any(Role.STORAGE in roles for roles in nodes.values())
    expected: set[str] = set()
    for node, roles in nodes.items():
        names: list[tuple[str, str]] = []
        if Role.CONTROLLER in roles:
            names += [("compute", f"{node}/{name}") for name in CONTROLLER_SERVICES]
            if cinder:
                names += [("volume", f"{node}/{name}") for name in CINDER_CONTROLLER_SERVICES]
        if Role.COMPUTE in roles:
            names += [("compute", f"{node}/{name}") for name in COMPUTE_SERVICES]
        if Role.STORAGE in roles:
            names.append(("volume", f"{node}@{CINDER_BACKEND}/{CINDER_VOLUME}"))
        names += [("network", f"{node}/{name}") for name in node_agents(roles)]
        expected |= {f"{kind} {where}" for kind, where in names}
    return expected


def cloud_health(lab: str, nodes: NodeRoles, lab_directory: Path) -> CloudHealth:
    """Compute and volume services and network agents of the lab. Never raises for a cloud
    that is not there yet or does not answer: the reason comes back in `error`."""
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
