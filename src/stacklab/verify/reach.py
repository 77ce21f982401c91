"""Where verify pings and SSHes from. On the local provider's plain bridges this host has an
address on the provider bridge, so floating IPs answer it directly; elsewhere (a cloud, or the
emulated one) the lab's access node holds the external network, pings from there, and SSH
to instances goes from this host through it, as the user's would."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from stacklab.config.models import NetworkName
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import known_hosts_path, ssh_argv
from stacklab.plan.models import Plan
from stacklab.providers.registry import traits_of
from stacklab.runner import Completed, LocalRunner, Runner


class NodeRunner:
    """Runs commands on a lab node over SSH, through a runner on this host."""

    def __init__(self, access: NodeAccess, known_hosts: Path, host: Runner) -> None:
        self.access = access
        self.known_hosts = known_hosts
        self.host = host
        self.where = access.name

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed:
        argv = ssh_argv(self.access, self.known_hosts, [shlex.join(command)])
        return self.host.run(argv, check=check, input_text=input_text, timeout=timeout, fix=fix)


def floating_ips_answer_here(plan: Plan) -> bool:
    """Whether this host is on the lab's external network itself: not where a node holds it
    (a cloud's router node) or where the provider's networks do not reach this host."""
    external = plan.network(NetworkName.PROVIDER)
    return external.on_node is None and traits_of(plan.provider).host_on_lab_networks


@dataclass(frozen=True)
class Vantage:
    """Where ping runs, and the jump host (`user@host`) for SSH to instances, if any."""

    runner: Runner
    jump_host: str | None


def vantage(lab_directory: Path, access_node: NodeAccess | None) -> Vantage:
    """This host when access_node is None (local provider), else the access node."""
    host = LocalRunner()
    if access_node is None:
        return Vantage(host, None)
    runner = NodeRunner(access_node, known_hosts_path(lab_directory), host)
    return Vantage(runner, f"{access_node.user}@{access_node.host}")
