"""`stacklab tunnel`: the way from the user's machine into a cloud lab's management and
provider networks, as seed 000 does it: sshuttle through the lab's access node routes those
networks over SSH, so the APIs and the floating IPs answer as if the machine were on them.
Where sshuttle is not installed, an SSH forward does part of it: a SOCKS proxy, and Horizon
on a local port. A local lab needs neither: this host has an address on each lab network.

Building the command is pure; the CLI prints it or runs it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, ip_address
from pathlib import Path
from typing import Any

from stacklab.config.models import NetworkName
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import ssh_client
from stacklab.plan.models import Plan
from stacklab.providers.registry import traits_of

TUNNELED_NETWORKS = ("management", "provider")
SOCKS_PORT = 1080
HORIZON_LOCAL_PORT = 8080
SSHUTTLE_INSTALL = "`pip install sshuttle` (or the sshuttle package of your system)"


class TunnelKind(StrEnum):
    NONE = "none"  # a local lab
    SSHUTTLE = "sshuttle"
    SSH_FORWARD = "ssh-forward"


@dataclass(frozen=True)
class LabRoute:
    network: str
    cidr: IPv4Network


@dataclass(frozen=True)
class Tunnel:
    lab: str
    provider: str
    kind: TunnelKind
    argv: tuple[str, ...]
    routes: tuple[LabRoute, ...]
    via: str | None  # user@host of the access node
    hint: str

    @property
    def needed(self) -> bool:
        return self.kind is not TunnelKind.NONE

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "provider": self.provider,
            "needed": self.needed,
            "kind": self.kind.value,
            "command": self.command if self.argv else None,
            "argv": list(self.argv),
            "networks": {route.network: str(route.cidr) for route in self.routes},
            "via": self.via,
            "hint": self.hint,
        }


def lab_routes(plan: Plan) -> tuple[LabRoute, ...]:
    """The management and provider networks of a plan."""
    return tuple(
        LabRoute(network.name.value, network.cidr)
        for network in plan.networks
        if network.name in TUNNELED_NETWORKS
    )


def horizon_address(plan: Plan) -> str | None:
    """Where Horizon answers (the API address: the management VIP, else the controller's
    management address), or None when the lab has no Horizon."""
    if "horizon" not in plan.services:
        return None
    management = plan.network(NetworkName.MANAGEMENT)
    if management.vip is not None:
        return str(management.vip)
    return str(plan.node(plan.controller).management_address)


def lab_tunnel(
    lab: str,
    provider: str,
    routes: Sequence[LabRoute],
    access: NodeAccess | None,
    known_hosts: Path,
    *,
    sshuttle_installed: bool,
    horizon: str | None = None,
) -> Tunnel:
    """The tunnel into a lab through its access node (access), or none for a local lab."""
    if traits_of(provider).host_on_lab_networks:
        return no_tunnel(lab, provider, routes)
    if access is None:
        raise ValueError(f"a {provider} lab needs its access node to tunnel through")
    if sshuttle_installed:
        return sshuttle_tunnel(lab, provider, routes, access, known_hosts)
    return forward_tunnel(lab, provider, routes, access, known_hosts, horizon)


def no_tunnel(lab: str, provider: str, routes: Sequence[LabRoute]) -> Tunnel:
    networks = ", ".join(f"{route.network} {route.cidr}" for route in routes)
    hint = (
        f"Lab {lab} is local: this host has an address on each lab network ({networks}), "
        "so no tunnel is needed; the APIs and floating IPs answer here directly."
    )
    return Tunnel(lab, provider, TunnelKind.NONE, (), tuple(routes), None, hint)


def sshuttle_tunnel(
    lab: str,
    provider: str,
    routes: Sequence[LabRoute],
    access: NodeAccess,
    known_hosts: Path,
) -> Tunnel:
    via = _target(access)
    argv = [
        "sshuttle",
        "--ssh-cmd",
        shlex.join(ssh_client(access, known_hosts)),
        "-r",
        f"{via}:{access.port}",
        *_exclusions(access, routes),
        *(str(route.cidr) for route in routes),
    ]
    hint = (
        f"Routes {_listed(routes)} through {access.name} ({via}) while it runs; sshuttle asks "
        "for sudo to set up this machine's firewall, and Ctrl-C ends it. Meanwhile the lab's "
        f'APIs and floating IPs answer here: eval "$(stacklab env {lab})"; openstack server list'
    )
    return Tunnel(lab, provider, TunnelKind.SSHUTTLE, tuple(argv), tuple(routes), via, hint)


def forward_tunnel(
    lab: str,
    provider: str,
    routes: Sequence[LabRoute],
    access: NodeAccess,
    known_hosts: Path,
    horizon: str | None,
) -> Tunnel:
    via = _target(access)
    forwards = ["-D", f"127.0.0.1:{SOCKS_PORT}"]
    offers = [
        f"a SOCKS5 proxy on 127.0.0.1:{SOCKS_PORT} into {_listed(routes)} "
        f"(curl --socks5-hostname 127.0.0.1:{SOCKS_PORT} URL, or a browser's SOCKS setting)"
    ]
    if horizon is not None:
        forwards += ["-L", f"127.0.0.1:{HORIZON_LOCAL_PORT}:{horizon}:80"]
        offers.append(f"Horizon on http://127.0.0.1:{HORIZON_LOCAL_PORT}/horizon/")
    argv = [
        *ssh_client(access, known_hosts),
        "-N",
        *forwards,
        "-p",
        str(access.port),
        via,
    ]
    hint = (
        f"sshuttle is not installed, so this is an SSH forward through {access.name} ({via}): "
        f"{' and '.join(offers)}. The openstack CLI needs the whole networks routed: install "
        f"sshuttle with {SSHUTTLE_INSTALL}, then `stacklab tunnel {lab}` routes them."
    )
    return Tunnel(lab, provider, TunnelKind.SSH_FORWARD, tuple(argv), tuple(routes), via, hint)


def _target(access: NodeAccess) -> str:
    return f"{access.user}@{access.host}"


def _listed(routes: Sequence[LabRoute]) -> str:
    return " and ".join(f"{route.cidr} ({route.network})" for route in routes)


def _exclusions(access: NodeAccess, routes: Sequence[LabRoute]) -> list[str]:
    """The SSH server itself (and its jump host) must not be routed into its own tunnel,
    which happens when its address lies in a lab network (hosts of the ssh provider)."""
    hosts = [access.host]
    if access.jump_host:
        hosts.append(access.jump_host.rpartition("@")[2])
    excluded = []
    for host in hosts:
        address = _address(host)
        if address is not None and any(address in route.cidr for route in routes):
            excluded += ["-x", str(address)]
    return excluded


def _address(host: str) -> IPv4Address | None:
    try:
        address = ip_address(host)
    except ValueError:
        return None  # a DNS name: sshuttle cannot be told more about it than the user knows
    return address if isinstance(address, IPv4Address) else None
