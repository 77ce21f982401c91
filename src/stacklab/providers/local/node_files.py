"""The files that make a node of the plan out of the shared base image. Pure: text only."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from stacklab.config.models import NetworkName
from stacklab.plan.models import Plan, PlannedNic, PlannedNode
from stacklab.providers.local.naming import NODE_INTERFACES

APT_CACHE_PORT = 3142
# systemd-networkd reads .network files in lexical order and uses the first that matches:
# ours must sort before the images' own (80-container-host0.network and friends).
NETWORKD_DIR = "etc/systemd/network"
NETWORKD_PREFIX = "10-stacklab-"
APT_PROXY_FILE = "etc/apt/apt.conf.d/01stacklab-proxy"
SOURCES_FILE = "etc/apt/sources.list.d/debian.sources"


@dataclass(frozen=True)
class AptSettings:
    """Where a node's apt gets packages: the mirror, and the host's cache in front of it."""

    mirror: str
    security_mirror: str | None
    proxy: str | None  # e.g. http://10.123.0.1:3142/, or None to fetch through NAT directly


def default_route_network(node: PlannedNode) -> NetworkName:
    """Nodes on the uplink leave through it; the others through the management network."""
    return NetworkName.UPLINK if node.nic(NetworkName.UPLINK) else NetworkName.MANAGEMENT


def networkd_file_name(network: NetworkName) -> str:
    return f"{NETWORKD_DIR}/{NETWORKD_PREFIX}{NODE_INTERFACES[network]}.network"


def render_networkd(nic: PlannedNic, gateway: IPv4Address | None) -> str:
    lines = [
        "# Written by stacklab from the lab's plan.",
        "[Match]",
        f"Name={NODE_INTERFACES[nic.network]}",
        "",
        "[Link]",
        f"MTUBytes={nic.mtu}",
        "",
        "[Network]",
        f"Address={nic.with_prefix}",
        "LinkLocalAddressing=no",
        "IPv6AcceptRA=no",
    ]
    if gateway is not None:
        lines += ["", "[Route]", f"Gateway={gateway}"]
    return "\n".join(lines) + "\n"


def render_hosts(plan: Plan) -> str:
    """Every node of the lab by FQDN and short name at its management address.

    No 127.0.1.1 line for the node itself: RabbitMQ and Nova must resolve the node's name
    to the address the other nodes reach it at.
    """
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
        "",
        f"# The nodes of lab {plan.lab}, written by stacklab.",
    ]
    lines += [f"{node.management_address}\t{node.fqdn} {node.name}" for node in plan.nodes]
    return "\n".join(lines) + "\n"


def render_apt_proxy(proxy: str) -> str:
    return (
        "// The host's apt cache, shared by every lab (written by stacklab).\n"
        f'Acquire::http::Proxy "{proxy}";\n'
    )


def render_sources(release: str, apt: AptSettings) -> str:
    stanzas = [
        "Types: deb\n"
        f"URIs: {apt.mirror}\n"
        f"Suites: {release} {release}-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    ]
    if apt.security_mirror:
        stanzas.append(
            "Types: deb\n"
            f"URIs: {apt.security_mirror}\n"
            f"Suites: {release}-security\n"
            "Components: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
    return "\n".join(stanzas)


# On the host's hybrid cgroup hierarchy, systemd in a node never learns that a stopped unit's
# cgroup went empty and waits out the stop timeout: root's user manager, stopped 10 s after
# the last SSH session, held every new login for up to two minutes (ansible "unreachable" in
# a multinode lab). Lingering keeps it running from boot; a short stop timeout bounds the
# wait at shutdown.
USER_MANAGER_FILES = {
    "var/lib/systemd/linger/root": "",
    "etc/systemd/system/user@.service.d/stacklab.conf": (
        "# Written by stacklab: see providers/local/node_files.py.\n[Service]\nTimeoutStopSec=5s\n"
    ),
}


def apt_proxy_url(gateway: IPv4Address) -> str:
    return f"http://{gateway}:{APT_CACHE_PORT}/"


def node_files(plan: Plan, node: PlannedNode, apt: AptSettings, public_key: str) -> dict[str, str]:
    """Path inside the node's root (relative) -> content, for every file stacklab owns."""
    route_via = default_route_network(node)
    files = {
        "etc/hostname": f"{node.name}\n",
        "etc/hosts": render_hosts(plan),
        SOURCES_FILE: render_sources(plan.release, apt),
        "root/.ssh/authorized_keys": public_key.strip() + "\n",
        **USER_MANAGER_FILES,
    }
    for nic in node.nics:
        gateway = plan.network(nic.network).gateway if nic.network is route_via else None
        files[networkd_file_name(nic.network)] = render_networkd(nic, gateway)
    if apt.proxy:
        files[APT_PROXY_FILE] = render_apt_proxy(apt.proxy)
    return files


def stale_files(existing: list[str], wanted: dict[str, str]) -> list[str]:
    """Files stacklab wrote before that the plan no longer asks for (a network left, no cache)."""
    ours = [
        path
        for path in existing
        if path.startswith(f"{NETWORKD_DIR}/{NETWORKD_PREFIX}") or path == APT_PROXY_FILE
    ]
    return [path for path in ours if path not in wanted]


def known_hosts_lines(
    node: PlannedNode, host_public_key: str, public_names: tuple[str, ...] = ()
) -> str:
    """The node's SSH host key under every name the lab uses for it (public_names: the
    addresses it is reached at from outside the lab, if any)."""
    key_type, key = host_public_key.split()[:2]
    names = ",".join((str(node.management_address), node.name, node.fqdn, *public_names))
    return f"{names} {key_type} {key}\n"
