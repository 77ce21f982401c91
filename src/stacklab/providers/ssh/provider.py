"""The ssh provider: a lab on hosts that already exist, reached over SSH.

stacklab makes no infrastructure here. It checks the hosts, marks each as a node of the lab
(a marker file, and the planned addresses put on the named interfaces where missing), and
`down` takes back exactly that: OpenStack stays installed on hosts stacklab did not make.
The key that logs in is the spec's per host, else the user's default key, for everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from stacklab.config.models import SshProvider as SshSettings
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.core.ssh import known_hosts_path
from stacklab.doctor.ovs_datapath import decide_datapath, save_datapath, ssh_host_key
from stacklab.errors import HostError, ProviderError
from stacklab.plan.models import Plan
from stacklab.providers.base import FoundResource
from stacklab.providers.ssh.facts import PROBE, HostFacts, ProbeOutputError, parse_facts
from stacklab.providers.ssh.hosts import (
    HOST_RESOURCE,
    KIND,
    SshTarget,
    merged,
    recorded_target,
    targets_of,
)
from stacklab.providers.ssh.judgement import (
    address_conflicts,
    host_problems,
    key_problem,
    missing_addresses,
)
from stacklab.providers.ssh.marker import (
    FOREIGN_EXIT,
    MARKER_FILE,
    AddedAddress,
    Marker,
    claim_script,
    foreign_owner,
    parse_marker,
    release_script,
)
from stacklab.providers.ssh.remote import UNPINNED, HostProblem, run_script, ssh_problem
from stacklab.runner import LocalRunner, Runner
from stacklab.state.db import StateDB
from stacklab.state.paths import lab_dir

PARALLEL_HOSTS = 8
READ_MARKER = f"cat {MARKER_FILE} 2>/dev/null; true\n"
STAYS_INSTALLED = (
    "OpenStack stays installed on the hosts of {lab}: stacklab did not make them, so `down` "
    "removed only its marker and the addresses it had added. Reinstall them to start clean."
)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class _Marked:
    target: SshTarget
    marker: Marker


class SshProvider:
    """Implements the Provider contract on existing hosts, and OwnNodeAddresses."""

    kind = KIND

    def __init__(
        self,
        targets: Sequence[SshTarget] = (),
        *,
        runner: Runner | None = None,
        recorded: Callable[[str], tuple[SshTarget, ...]] | None = None,
    ):
        """targets: the spec's hosts; recorded: the hosts a lab's nodes step recorded
        (default: from the state database)."""
        self.targets = tuple(targets)
        self.runner: Runner = runner or LocalRunner()
        self._recorded = recorded or recorded_hosts

    @classmethod
    def from_settings(cls, settings: SshSettings) -> SshProvider:
        return cls(targets_of(settings.hosts))

    # check

    def check(self, plan: Plan) -> None:
        if plan.provider != KIND:
            raise ProviderError(f"The ssh provider cannot run a {plan.provider} plan.")
        self._survey(plan, UNPINNED)

    def _survey(self, plan: Plan, known_hosts: Path) -> dict[str, HostFacts]:
        """Read every host once and judge it; HostError listing every problem if any."""
        targets = {node.name: self._target(node.name) for node in plan.nodes}
        problems: list[HostProblem] = []
        reachable = []
        for target in targets.values():
            missing_key = key_problem(target)
            if missing_key is None:
                reachable.append(target)
            else:
                problems.append(missing_key)
        facts: dict[str, HostFacts] = {}
        for target, outcome in zip(
            reachable, _each(reachable, lambda t: self._probe(t, known_hosts)), strict=True
        ):
            if isinstance(outcome, HostProblem):
                problems.append(outcome)
            else:
                facts[target.name] = outcome
                _record_datapath(target, outcome)
                problems += host_problems(plan, target, outcome)
        problems += address_conflicts(plan, targets, facts)
        if problems:
            count = len(problems)
            raise HostError(
                f"The hosts of lab {plan.lab} are not ready ({count} problem"
                f"{'s' if count > 1 else ''}); nothing was changed on them.",
                details="\n".join(problem.render() for problem in problems),
                fix="fix each problem as said, then run the same command again",
            )
        return facts

    def _probe(self, target: SshTarget, known_hosts: Path) -> HostFacts | HostProblem:
        result = run_script(self.runner, target, PROBE, known_hosts)
        problem = ssh_problem(target, result)
        if problem is not None:
            return problem
        try:
            return parse_facts(result.stdout)
        except ProbeOutputError:
            return HostProblem(
                target.label,
                f"its shell did not run stacklab's probe (exit {result.returncode}: "
                f"{result.output[-200:] or 'no output'})",
                "make `sh` the way in for this user: no forced command in authorized_keys",
            )

    def _target(self, node: str) -> SshTarget:
        target = next((t for t in self.targets if t.name == node), None)
        if target is None:
            raise ProviderError(
                f"The spec names no host for node {node}.",
                fix=f"add a host named {node} to provider.hosts",
            )
        return target

    # create

    def create_networks(self, plan: Plan, context: LabContext) -> None:
        context.progress("ssh provider: the hosts' own networks carry the lab; nothing to make")

    def create_nodes(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]:
        known_hosts = known_hosts_path(context.directory)
        facts = self._survey(plan, known_hosts)  # and records each host key on first contact
        for node in plan.nodes:
            target = self._target(node.name)
            context.record(KIND, HOST_RESOURCE, node.name, **target.record())
            current = facts[node.name].marker
            marker = current if current is not None else Marker(plan.lab, node.name)
            to_add = missing_addresses(node, facts[node.name])
            self._claim(target, marker.with_added(to_add), to_add, known_hosts)
            context.progress(f"host {target.label}: node {node.name} of lab {plan.lab}")
            for added in to_add:
                context.progress(
                    f"host {target.name}: added {added.address} to {added.interface} (until it "
                    "reboots; `stacklab up` adds it again)"
                )
        return tuple(self._target(node.name).access() for node in plan.nodes)

    def _claim(
        self,
        target: SshTarget,
        marker: Marker,
        to_add: tuple[AddedAddress, ...],
        known_hosts: Path,
    ) -> None:
        result = run_script(self.runner, target, claim_script(marker, to_add), known_hosts)
        problem = ssh_problem(target, result)
        if problem is not None:
            raise HostError(f"Host {problem.host} {problem.why}.", fix=problem.fix)
        owner = foreign_owner(result.stdout)
        if result.returncode == FOREIGN_EXIT and owner is not None:
            raise ProviderError(
                f"Host {target.label} belongs to the lab {owner} ({MARKER_FILE}).",
                fix=f"use another host, or `stacklab down {owner}` first",
            )
        if not result.ok:
            raise ProviderError(
                f"Marking host {target.label} as node {marker.node} failed "
                f"(exit {result.returncode}).",
                details=result.output[-2000:],
                fix="read the output above; the same `stacklab up` tries again",
            )

    # node access

    def node_access(self, lab: str, node: str) -> NodeAccess | None:
        """The host's own address, user, port and key: the spec's, else as recorded."""
        target = next((t for t in self._hosts(lab) if t.name == node), None)
        if target is None:
            return None
        problem = key_problem(target)
        if problem is not None:
            raise HostError(f"Host {problem.host}: {problem.why}.", fix=problem.fix)
        return target.access()

    # find, remove

    def _hosts(self, lab: str) -> tuple[SshTarget, ...]:
        return merged(self.targets, self._recorded(lab))

    def _marked(self, lab: str) -> tuple[list[_Marked], list[tuple[SshTarget, HostProblem]]]:
        """The hosts that carry the lab's marker, and those that could not be read."""
        known_hosts = known_hosts_path(lab_dir(lab))
        pinned = known_hosts if known_hosts.exists() else UNPINNED
        hosts = [t for t in self._hosts(lab) if key_problem(t) is None]
        results = _each(hosts, lambda t: run_script(self.runner, t, READ_MARKER, pinned))
        marked, unreachable = [], []
        for target, result in zip(hosts, results, strict=True):
            problem = ssh_problem(target, result)
            if problem is not None:
                unreachable.append((target, problem))
                continue
            marker = parse_marker(result.stdout)
            if marker is not None and marker.lab == lab:
                marked.append(_Marked(target, marker))
        return marked, unreachable

    def discover(self, lab: str) -> list[FoundResource]:
        marked, unreachable = self._marked(lab)
        return [_resource(m.target, "marked", node=m.marker.node) for m in marked] + [
            _resource(target, "unreachable", error=problem.why) for target, problem in unreachable
        ]

    def destroy(self, lab: str, progress: ProgressCallback) -> list[FoundResource]:
        marked, unreachable = self._marked(lab)
        known_hosts = known_hosts_path(lab_dir(lab))
        pinned = known_hosts if known_hosts.exists() else UNPINNED
        removed = []
        for item in marked:
            script = release_script(lab, item.marker.added)
            result = run_script(self.runner, item.target, script, pinned)
            if not result.ok:
                raise ProviderError(
                    f"Removing the marker of lab {lab} from host {item.target.label} failed.",
                    details=result.output[-2000:],
                    fix=f"remove {MARKER_FILE} there by hand, then `stacklab down {lab}` again",
                )
            progress(f"host {item.target.label}: marker of {lab} removed")
            removed.append(
                _resource(
                    item.target,
                    "unmarked",
                    node=item.marker.node,
                    note=STAYS_INSTALLED.format(lab=lab),
                )
            )
        for target, problem in unreachable:
            progress(
                f"host {target.label} {problem.why}: remove {MARKER_FILE} there by hand "
                "once it answers"
            )
        return removed


def recorded_hosts(lab: str) -> tuple[SshTarget, ...]:
    """The hosts the lab's nodes step recorded in the state database."""
    with StateDB() as db:
        rows = db.resources(lab)
    return tuple(
        recorded_target(row.ident, row.data)
        for row in rows
        if row.provider == KIND and row.kind == HOST_RESOURCE
    )


def _resource(target: SshTarget, state: str, **details: object) -> FoundResource:
    return FoundResource(
        kind="host", ident=target.name, state=state, details={"address": target.login, **details}
    )


def _each(items: Sequence[T], work: Callable[[T], R]) -> list[R]:
    """work on every item at once (each is mostly waiting on a remote host), in order."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_HOSTS, len(items))) as pool:
        return list(pool.map(work, items))


def _record_datapath(target: SshTarget, facts: HostFacts) -> None:
    """Open vSwitch's datapath on this host, as its kernel answered, for the next plan."""
    choice = decide_datapath(facts.kernel, where=f"host {target.name}", loads_module_at_start=True)
    kernel = facts.kernel.kernel if facts.kernel else "unknown"
    save_datapath(ssh_host_key(target.address, target.port), choice, kernel)
