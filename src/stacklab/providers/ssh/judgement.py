"""Whether the hosts can carry the plan, judged from what was read from them. Pure.

Every problem names the host, what is wrong and the fix, and all are reported together.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Interface

from stacklab.catalog.releases import releases
from stacklab.config.models import OperatingSystem
from stacklab.plan.models import Plan, PlannedNic, PlannedNode
from stacklab.providers.ssh.facts import HostFacts
from stacklab.providers.ssh.hosts import SshTarget
from stacklab.providers.ssh.marker import MARKER_FILE, AddedAddress
from stacklab.providers.ssh.remote import HostProblem


def key_problem(target: SshTarget) -> HostProblem | None:
    """A key that is not there: said before any connection is tried."""
    if target.private_key is None:
        return HostProblem(
            target.label,
            "no private key is named and ~/.ssh holds none of id_ed25519, id_ecdsa, id_rsa",
            f"set {target.field}.private_key to the key that logs in there",
        )
    if not target.private_key.is_file():
        return HostProblem(
            target.label,
            f"the private key {target.private_key} does not exist",
            f"set {target.field}.private_key to an existing key file",
        )
    return None


def host_problems(plan: Plan, target: SshTarget, facts: HostFacts) -> list[HostProblem]:
    """What keeps this host from being the plan's node of the same name."""
    node = plan.node(target.name)
    problems = [
        *_login_problems(target, facts),
        *_system_problems(plan, target, facts),
        *_marker_problems(plan.lab, target, facts),
    ]
    if facts.ip_tool:
        problems += [p for nic in node.nics for p in _nic_problems(target, nic, facts)]
    return [HostProblem(target.label, why, fix) for why, fix in problems]


def _login_problems(target: SshTarget, facts: HostFacts) -> list[tuple[str, str]]:
    if facts.uid == 0:
        return []
    return [
        (
            f"stacklab logs in as {target.user} (uid {facts.uid}), and the installer runs as root",
            f"set {target.field}.user: root and let root log in with the key "
            f"(copy ~{target.user}/.ssh/authorized_keys to /root/.ssh/ there)",
        )
    ]


def _system_problems(plan: Plan, target: SshTarget, facts: HostFacts) -> list[tuple[str, str]]:
    problems = []
    distribution = facts.os_release.get("ID", "unknown")
    codename = facts.os_release.get("VERSION_CODENAME", "unknown")
    if distribution != "debian" or codename != plan.release:
        runs = facts.os_release.get("PRETTY_NAME") or f"{distribution} {codename}"
        other = next(
            (
                r.os
                for r in releases().values()
                if r.codename == codename and r.os is not OperatingSystem.DEBIAN_12
            ),
            None,
        )
        fix = f"use a host with Debian {plan.release}"
        if distribution == "debian" and other is not None:
            fix = f"set os: {other.value} in the spec, or {fix}"
        problems.append((f"it runs {runs}, and the spec's os is {plan.os} ({plan.release})", fix))
    if not facts.python:
        problems.append(
            ("it has no /usr/bin/python3, which Ansible needs", "apt-get install python3")
        )
    if not facts.ip_tool:
        problems.append(("`ip` did not answer there", "apt-get install iproute2"))
    return problems


def _marker_problems(lab: str, target: SshTarget, facts: HostFacts) -> list[tuple[str, str]]:
    marker = facts.marker
    if marker is None:
        return []
    if marker.lab != lab:
        return [
            (
                f"it belongs to the lab {marker.lab} ({MARKER_FILE})",
                f"use another host, or `stacklab down {marker.lab}` on the machine that made "
                f"that lab; if {marker.lab} is gone, remove {MARKER_FILE} on the host",
            )
        ]
    if marker.node and marker.node != target.name:
        return [
            (
                f"it is node {marker.node} of this lab already",
                f"name it {marker.node} again in {target.field}, or `stacklab down {lab}` first",
            )
        ]
    return []


def _nic_problems(target: SshTarget, nic: PlannedNic, facts: HostFacts) -> list[tuple[str, str]]:
    network = nic.network.value
    interface = nic.interface
    if interface is None:  # the spec's rules ask for a name for every network of the node
        return []
    link = facts.links.get(interface)
    if link is None:
        present = ", ".join(sorted(facts.links)) or "none"
        return [
            (
                f"it has no interface {interface} for the {network} network (it has: {present})",
                f"set {target.field}.interfaces.{network} to one of its interfaces",
            )
        ]
    problems = []
    if link.mtu and link.mtu < nic.mtu:
        problems.append(
            (
                f"interface {interface} has MTU {link.mtu}, and the {network} network "
                f"is planned with {nic.mtu}",
                f"set networks.{network}.mtu: {link.mtu}, or raise the interface's MTU",
            )
        )
    holder = facts.interface_of(IPv4Interface(nic.with_prefix))
    if holder is not None and holder != interface:
        problems.append(
            (
                f"the planned {network} address {nic.address} is on {holder}, not on {interface}",
                f"set {target.field}.interfaces.{network}: {holder}, or networks.{network}.cidr "
                "to a range whose addresses are free",
            )
        )
    return problems


def address_conflicts(
    plan: Plan, targets: Mapping[str, SshTarget], facts: Mapping[str, HostFacts]
) -> list[HostProblem]:
    """A planned address that another of the lab's hosts holds already."""
    problems = []
    for node in plan.nodes:
        if node.name not in targets:
            continue
        for nic in node.nics:
            for other, other_facts in facts.items():
                holder = other_facts.interface_of(IPv4Interface(nic.with_prefix))
                if other == node.name or holder is None:
                    continue
                problems.append(
                    HostProblem(
                        targets[node.name].label,
                        f"its planned {nic.network.value} address {nic.address} is held by "
                        f"host {other} (on {holder})",
                        f"set networks.{nic.network.value}.cidr to a range these hosts do not use",
                    )
                )
    return problems


def missing_addresses(node: PlannedNode, facts: HostFacts) -> tuple[AddedAddress, ...]:
    """The planned addresses not yet on their interfaces: the nodes step adds them."""
    return tuple(
        AddedAddress(IPv4Interface(nic.with_prefix), nic.interface)
        for nic in node.nics
        if nic.interface is not None
        and facts.interface_of(IPv4Interface(nic.with_prefix)) != nic.interface
    )
