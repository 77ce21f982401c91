"""The OpenStack services of a lab, as its APIs report them: compute services up or down,
network agents alive or not. The one module that imports openstacksdk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import openstack
import openstack.config
from openstack import exceptions as sdk_errors

from stacklab.installer.clouds import LAB_CLOUDS_FILE

API_TIMEOUT_S = 15


@dataclass(frozen=True)
class ServiceState:
    kind: str  # "compute" or "network"
    name: str  # nova-compute, Linux bridge agent, ...
    host: str
    up: bool


@dataclass(frozen=True)
class CloudHealth:
    services: tuple[ServiceState, ...] = ()
    error: str | None = None  # the cloud did not answer: why
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.services) and all(s.up for s in self.services)

    @property
    def down(self) -> tuple[ServiceState, ...]:
        return tuple(service for service in self.services if not service.up)


def connect(lab: str, lab_directory: Path) -> openstack.connection.Connection:
    """A connection as the lab's admin, from the clouds.yaml in the lab's directory."""
    config = openstack.config.OpenStackConfig(
        config_files=[str(lab_directory / LAB_CLOUDS_FILE)], load_envvars=False
    )
    region = config.get_one(cloud=lab, api_timeout=API_TIMEOUT_S)
    return openstack.connection.Connection(config=region)


def cloud_health(lab: str, lab_directory: Path) -> CloudHealth:
    """Compute services and network agents of the lab. Never raises for an unreachable or
    half-installed cloud: the reason comes back in `error`."""
    if not (lab_directory / LAB_CLOUDS_FILE).exists():
        return CloudHealth(error="no clouds.yaml yet: the identity step has not run")
    try:
        conn = connect(lab, lab_directory)
        services = [
            ServiceState("compute", str(s.binary), str(s.host), s.state == "up")
            for s in conn.compute.services()
        ]
        services += [
            ServiceState("network", str(a.agent_type), str(a.host), bool(a.is_alive))
            for a in conn.network.agents()
        ]
    except (sdk_errors.SDKException, OSError) as error:
        return CloudHealth(error=f"{type(error).__name__}: {error}")
    ordered = sorted(services, key=lambda s: (s.kind, s.host, s.name))
    return CloudHealth(services=tuple(ordered))
