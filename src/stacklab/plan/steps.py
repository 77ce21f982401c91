"""The steps of `up`, declared once: the planner puts the ones a spec needs into the plan,
the orchestration runs each with its handler, the journal re-runs the `always` ones, and the
CLI names them. A step without a handler is one this version does not have yet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from stacklab.config.models import Spec
from stacklab.config.rules import fabric_of


class Handler(StrEnum):
    """What runs a step; the orchestration of `up` has one method for each."""

    PREFLIGHT = "preflight"
    NETWORKS = "networks"
    NODES = "nodes"
    INSTALL = "install"  # the step's tag of the installer's playbook
    INSTALL_PACKAGES = "install_packages"  # that, then the nodes' packages kept as layers
    BOOTSTRAP = "bootstrap"
    ACCESS = "access"
    VERIFY = "verify"


VERIFY_STEP = "verify"  # the last step; `up --no-verify` stops before it


def _every_lab(spec: Spec) -> bool:
    return True


def _proxied(spec: Spec) -> bool:
    """Horizon is served through the TLS proxy; a cloud lab (or its rehearsal on the emulated
    fabric) is reached through it alone."""
    return spec.services.horizon or fabric_of(spec) is not None


@dataclass(frozen=True)
class StepDefinition:
    name: str
    description: str
    handler: Handler | None  # None: not in this version (`up` stops before it, and says so)
    # Run again on every `up` although done before: idempotent checks and converging runs
    # (a node may have died; Ansible changes nothing where the nodes are right already).
    always: bool = True
    needed: Callable[[Spec], bool] = _every_lab


STEPS: tuple[StepDefinition, ...] = (
    StepDefinition("preflight", "check the host or account; probe KVM", Handler.PREFLIGHT),
    StepDefinition("networks", "create the lab networks", Handler.NETWORKS),
    StepDefinition("nodes", "create and boot the nodes; wait for SSH", Handler.NODES),
    StepDefinition("packages", "install the OpenStack packages", Handler.INSTALL_PACKAGES),
    StepDefinition("database", "MariaDB, RabbitMQ, memcached", Handler.INSTALL),
    StepDefinition("identity", "Keystone and the service catalog", Handler.INSTALL),
    # Before the image and compute phases: Glance keeps its images in Ceph and nova-compute's
    # libvirt gets Ceph's key, so both need the cluster and its keys first.
    StepDefinition(
        "block-storage",
        "Ceph (mon, mgr, an OSD on a file) and Cinder on RBD on the storage node",
        Handler.INSTALL,
        needed=lambda spec: spec.services.cinder,
    ),
    StepDefinition("image", "Glance", Handler.INSTALL),
    StepDefinition("placement", "Placement", Handler.INSTALL),
    StepDefinition("compute", "Nova: API, conductor, scheduler, noVNC, compute", Handler.INSTALL),
    StepDefinition(
        "network",
        "Neutron ML2/OVN: OVN databases, Open vSwitch, ovn-controller, metadata",
        Handler.INSTALL,
    ),
    StepDefinition(
        "load-balancer",
        "Octavia with OVN's provider driver (no amphorae)",
        Handler.INSTALL,
        needed=lambda spec: spec.services.octavia,
    ),
    StepDefinition(
        "dashboard", "Horizon", Handler.INSTALL, needed=lambda spec: spec.services.horizon
    ),
    StepDefinition(
        "proxy",
        "the TLS proxy on the access node: the APIs (and Horizon) over HTTPS",
        Handler.INSTALL,
        needed=_proxied,
    ),
    # bootstrap finds before it creates (a second run takes seconds), the access files
    # follow the identity phase, and verify checks the cloud as it is now.
    StepDefinition(
        "bootstrap", "flavors, image, networks, router, security groups", Handler.BOOTSTRAP
    ),
    StepDefinition("access", "clouds.yaml, openrc, SSH config", Handler.ACCESS),
    StepDefinition(VERIFY_STEP, "boot an instance and check it", Handler.VERIFY),
)
INSTALL_HANDLERS = (Handler.INSTALL, Handler.INSTALL_PACKAGES)


def step_names() -> tuple[str, ...]:
    return tuple(step.name for step in STEPS)


def definition(name: str) -> StepDefinition:
    return next(step for step in STEPS if step.name == name)


def install_phases() -> tuple[str, ...]:
    """The steps that are tags of the installer's playbook, in order."""
    return tuple(step.name for step in STEPS if step.handler in INSTALL_HANDLERS)


def step_before(name: str) -> str:
    names = step_names()
    return names[names.index(name) - 1]
