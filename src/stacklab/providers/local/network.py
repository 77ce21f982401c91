"""Host side of a local lab's networks: bridges, per-node namespaces and veths, NAT.

One bridge per lab network holds the host's gateway address. Each node gets a network
namespace made before it boots, with one veth per network it joins: the host end on the
network's bridge, the node end inside the namespace, named after the network (`mgmt0`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any

from stacklab.errors import ProviderError
from stacklab.plan.models import PlannedNetwork, PlannedNode
from stacklab.providers.local.fabric import PublicEdge, edge_rules, separation_rules
from stacklab.providers.local.naming import (
    ALIAS_PREFIX,
    NODE_INTERFACES,
    bridge_name,
    link_alias,
    nft_table_name,
    veth_name,
)
from stacklab.runner import Runner

NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class HostLink:
    name: str
    kind: str | None
    alias: str | None
    master: str | None
    mtu: int
    up: bool


def _json(runner: Runner, command: list[str]) -> Any:
    output = runner.run(command).stdout.strip()
    return json.loads(output) if output else []


def host_links(runner: Runner) -> dict[str, HostLink]:
    links = {}
    for raw in _json(runner, ["ip", "-j", "-d", "link", "show"]):
        name = raw["ifname"]
        links[name] = HostLink(
            name=name,
            kind=raw.get("linkinfo", {}).get("info_kind"),
            alias=raw.get("ifalias"),
            master=raw.get("master"),
            mtu=int(raw.get("mtu", 0)),
            up="UP" in raw.get("flags", []),
        )
    return links


# Bridges


def ensure_bridge(runner: Runner, lab: str, network: PlannedNetwork) -> bool:
    """The network's bridge with the gateway address and MTU; True if it was created."""
    name = bridge_name(lab, network.name)
    created = name not in host_links(runner)
    if created:
        runner.run(["ip", "link", "add", name, "type", "bridge"])
    alias = link_alias(lab, network.name)
    runner.run(["ip", "link", "set", name, "alias", alias, "mtu", str(network.mtu), "up"])
    gateway = f"{network.gateway}/{network.cidr.prefixlen}"
    if gateway not in _addresses(runner, name):
        runner.run(["ip", "addr", "add", gateway, "dev", name])
    return created


def _addresses(runner: Runner, device: str) -> set[str]:
    found = set()
    for raw in _json(runner, ["ip", "-j", "-4", "addr", "show", "dev", device]):
        for info in raw.get("addr_info", []):
            found.add(f"{info['local']}/{info['prefixlen']}")
    return found


# Per-node namespace and veths


def namespace_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def namespaces() -> list[str]:
    return sorted(path.name for path in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []


def ensure_node_links(runner: Runner, lab: str, node: PlannedNode, namespace: str) -> list[str]:
    """The node's namespace and one veth per network it joins; returns what was created."""
    created = []
    if not namespace_exists(namespace):
        runner.run(["ip", "netns", "add", namespace])
        runner.run(["ip", "-n", namespace, "link", "set", "lo", "up"])
        created.append(namespace)
    links = host_links(runner)
    for nic in node.nics:
        host_end = veth_name(lab, node.name, nic.network)
        if host_end not in links:
            runner.run(
                [
                    "ip",
                    "link",
                    "add",
                    host_end,
                    "mtu",
                    str(nic.mtu),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    NODE_INTERFACES[nic.network],
                    "mtu",
                    str(nic.mtu),
                    "netns",
                    namespace,
                ]
            )
            created.append(host_end)
        alias = link_alias(lab, nic.network, node.name)
        bridge = bridge_name(lab, nic.network)
        runner.run(["ip", "link", "set", host_end, "alias", alias, "master", bridge, "up"])
    return created


def delete_link(runner: Runner, name: str) -> None:
    result = runner.run(["ip", "link", "del", name], check=False)
    if not result.ok and name in host_links(runner):
        raise ProviderError(f"Cannot delete the link {name}: {result.output}")


def delete_namespace(runner: Runner, name: str) -> None:
    if namespace_exists(name):
        runner.run(["ip", "netns", "del", name])


def namespace_pids(runner: Runner, name: str) -> list[int]:
    if not namespace_exists(name):
        return []
    result = runner.run(["ip", "netns", "pids", name], check=False)
    return [int(word) for word in result.stdout.split() if word.isdigit()]


# Outbound NAT and the fence around the lab


def default_uplink(runner: Runner) -> str | None:
    """The interface of this host's default route: where lab traffic leaves."""
    routes = _json(runner, ["ip", "-j", "-4", "route", "show", "default"])
    for route in routes:
        if route.get("dev"):
            return str(route["dev"])
    return None


def render_lab_table(
    lab: str,
    cidrs: list[IPv4Network],
    bridges: list[str],
    uplink: str,
    edge: PublicEdge | None = None,
    networks_routed: bool = True,
) -> str:
    """A table of the lab's own: masquerade its networks out of the host's uplink only, so
    traffic between lab networks and the host keeps its addresses; and fence the lab off:
    its bridges forward only among themselves and to and from the uplink, never to another
    lab's bridges (or any other interface of this host).

    edge: on an emulated cloud fabric, only the access node goes out, and comes in at its
    public address (stacklab.providers.local.fabric). networks_routed False: the host
    forwards between none of the lab's bridges (GCP's VPC network per NIC)."""
    sources = ", ".join(str(cidr) for cidr in sorted(cidrs))
    own = ", ".join(f'"{bridge}"' for bridge in sorted(bridges))
    fence = [
        f'iifname {{ {own} }} oifname != {{ {own}, "{uplink}" }} drop',
        f'oifname {{ {own} }} iifname != {{ {own}, "{uplink}" }} drop',
    ]
    if not networks_routed:
        fence += separation_rules(bridges)
    if edge is None:
        chains = {
            "postrouting": [f'ip saddr {{ {sources} }} oifname "{uplink}" masquerade'],
            "forward": fence,
        }
    else:
        chains = edge_rules(edge, uplink, bridges)
        chains["forward"] = fence + chains["forward"]
    body = "".join(_chain(name, HOOKS[name], chains[name]) for name in HOOKS if name in chains)
    name = nft_table_name(lab)
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    return f'table ip {name} {{\n\tcomment "{ALIAS_PREFIX}:{lab}:{digest}"\n{body}}}\n'


HOOKS = {
    "prerouting": "type nat hook prerouting priority dstnat",
    # -100 is dstnat, a name nft takes in prerouting only.
    "output": "type nat hook output priority -100",
    "postrouting": "type nat hook postrouting priority srcnat",
    "forward": "type filter hook forward priority filter",
    "refuse": "type filter hook output priority filter",
}


def _chain(name: str, hook: str, rules: list[str]) -> str:
    lines = "".join(f"\t\t{rule}\n" for rule in rules)
    return f"\tchain {name} {{\n\t\t{hook}; policy accept;\n{lines}\t}}\n"


def ensure_lab_table(
    runner: Runner,
    lab: str,
    cidrs: list[IPv4Network],
    bridges: list[str],
    uplink: str,
    edge: PublicEdge | None = None,
    networks_routed: bool = True,
) -> bool:
    """The lab's nft table as rendered; True if it was (re)written."""
    wanted = render_lab_table(lab, cidrs, bridges, uplink, edge, networks_routed)
    return ensure_table(runner, "ip", lab, wanted)


def ensure_table(runner: Runner, family: str, lab: str, wanted: str) -> bool:
    """A table of the lab's as rendered (its comment carries a digest of its rules); True
    if it was (re)written."""
    name = nft_table_name(lab)
    comment = next(line.strip() for line in wanted.splitlines() if "comment" in line)
    current = runner.run(["nft", "list", "table", family, name], check=False)
    if current.ok and comment in current.stdout:
        return False
    # Declare, delete and declare again in one transaction: replaces an outdated table atomically.
    script = f"table {family} {name} {{}}\ndelete table {family} {name}\n{wanted}"
    runner.run(["nft", "-f", "-"], input_text=script, fix="check that nftables works here")
    return True


def nft_tables(runner: Runner, family: str = "ip") -> list[str]:
    result = runner.run(["nft", "-j", "list", "tables", family], check=False)
    if not result.ok or not result.stdout.strip():
        return []
    items = json.loads(result.stdout).get("nftables", [])
    return [item["table"]["name"] for item in items if "table" in item]


def delete_lab_table(runner: Runner, lab: str, family: str = "ip") -> None:
    name = nft_table_name(lab)
    if name in nft_tables(runner, family):
        runner.run(["nft", "delete", "table", family, name])


# Address conflicts


def conflicting_routes(
    runner: Runner, cidrs: list[IPv4Network], own_devices: set[str]
) -> list[tuple[str, str]]:
    """Routes of this host (any table) inside a lab CIDR that are not on the lab's own bridges.

    Returns (destination, device) pairs; the default route is not a conflict.
    """
    conflicts = []
    for route in _json(runner, ["ip", "-j", "-4", "route", "show", "table", "all"]):
        destination = route.get("dst", "")
        if destination in ("", "default"):
            continue
        device = route.get("dev", "")
        if device in own_devices:
            continue
        try:
            network = ip_network(destination, strict=False)
        except ValueError:
            continue
        if any(network.overlaps(cidr) for cidr in cidrs):
            conflicts.append((destination, device or route.get("type", "?")))
    return conflicts
