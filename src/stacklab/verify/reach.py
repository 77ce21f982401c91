"""Where verify pings and SSHes from. On the local provider this host has an address on the
provider bridge, so floating IPs answer it directly; elsewhere the lab's access node (a
network node, on the provider network) does, and SSH to instances jumps through it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import known_hosts_path, ssh_argv
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
