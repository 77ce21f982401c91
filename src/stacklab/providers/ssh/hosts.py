"""The hosts of an ssh lab: how to reach each, from the spec or from what the nodes step
recorded (so `status`, `down` and `stacklab ssh` work when the spec is gone or edited)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacklab.config.models import SshHost
from stacklab.core.nodes import NodeAccess

KIND = "ssh"
HOST_RESOURCE = "host"
# What ssh itself tries first when no key is named: the user's usual keys, in its order.
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")


@dataclass(frozen=True)
class SshTarget:
    """One host of the lab, as stacklab logs in to it."""

    name: str
    address: str
    user: str
    port: int
    private_key: Path | None  # None: the user has none of the default keys
    interfaces: dict[str, str]  # lab network -> interface name on the host
    index: int | None = None  # position in provider.hosts, for messages

    @property
    def login(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    @property
    def label(self) -> str:
        """How messages name the host: its node name and where stacklab logs in."""
        return f"{self.name} ({self.login})"

    @property
    def field(self) -> str:
        return f"provider.hosts[{self.index}]" if self.index is not None else "provider.hosts"

    def access(self) -> NodeAccess:
        if self.private_key is None:
            raise ValueError(f"host {self.name} has no private key")
        return NodeAccess(self.name, self.address, self.user, self.port, self.private_key)

    def record(self) -> dict[str, Any]:
        """What the state keeps of the host (no secret: the key's path, not the key)."""
        return {
            "address": self.address,
            "user": self.user,
            "port": self.port,
            "private_key": str(self.private_key) if self.private_key else None,
            "interfaces": dict(self.interfaces),
        }


def default_key(home: Path | None = None) -> Path | None:
    ssh_dir = (home or Path.home()) / ".ssh"
    return next((ssh_dir / name for name in DEFAULT_KEYS if (ssh_dir / name).is_file()), None)


def targets_of(hosts: list[SshHost], home: Path | None = None) -> tuple[SshTarget, ...]:
    """The spec's hosts; a host without private_key uses the user's default key."""
    fallback = default_key(home)
    return tuple(
        SshTarget(
            name=host.name,
            address=host.address,
            user=host.user,
            port=host.port,
            private_key=host.private_key.expanduser() if host.private_key else fallback,
            interfaces={network.value: name for network, name in host.interfaces.items()},
            index=index,
        )
        for index, host in enumerate(hosts)
    )


def recorded_target(name: str, data: dict[str, Any]) -> SshTarget:
    key = data.get("private_key")
    return SshTarget(
        name=name,
        address=str(data["address"]),
        user=str(data.get("user", "root")),
        port=int(data.get("port", 22)),
        private_key=Path(key) if key else None,
        interfaces={str(k): str(v) for k, v in dict(data.get("interfaces", {})).items()},
    )


def merged(spec: tuple[SshTarget, ...], recorded: tuple[SshTarget, ...]) -> tuple[SshTarget, ...]:
    """Every host that may carry the lab's marker: the spec's, and those recorded under
    names or at addresses the spec no longer has (a host taken out of the spec keeps its
    marker until `down`)."""
    known = {(target.name, target.address) for target in spec}
    return spec + tuple(t for t in recorded if (t.name, t.address) not in known)
