"""`ssh` command lines to a lab's nodes, the same for every provider."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from stacklab.core.nodes import NodeAccess

KNOWN_HOSTS = "known_hosts"


def known_hosts_path(lab_directory: Path) -> Path:
    return lab_directory / KNOWN_HOSTS


def ssh_options(private_key: Path, known_hosts: Path | None, *, strict: bool) -> list[str]:
    """strict: the lab's host keys are known in advance (stacklab made them); otherwise the
    first key seen is recorded in the lab's own known_hosts, never the user's."""
    if known_hosts is None:
        checking = ["-o", "StrictHostKeyChecking=accept-new"]
    else:
        policy = "yes" if strict else "accept-new"
        checking = [
            "-o",
            f"StrictHostKeyChecking={policy}",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
        ]
    return [
        "-i", str(private_key),
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-o", "LogLevel=ERROR",
        "-o", "ServerAliveInterval=30",
        *checking,
    ]  # fmt: skip


def ssh_client(
    access: NodeAccess, known_hosts: Path | None = None, *, strict: bool = True
) -> list[str]:
    """`ssh` and its options for the node, without the destination: through its jump host
    when it has one. The jump goes through a ProxyCommand with the same key and known_hosts
    (-J would not pass -i and -o on)."""
    options = ssh_options(access.private_key, known_hosts, strict=strict)
    if access.jump_host:
        jump = ["ssh", *options, "-W", "%h:%p", access.jump_host]
        options += ["-o", "ProxyCommand=" + shlex.join(jump)]
    return ["ssh", *options]


def ssh_argv(
    access: NodeAccess,
    known_hosts: Path | None = None,
    command: Sequence[str] = (),
    *,
    strict: bool = True,
) -> list[str]:
    """`ssh` to the node (see `ssh_client`), running command there if given."""
    client = ssh_client(access, known_hosts, strict=strict)
    return [*client, "-p", str(access.port), f"{access.user}@{access.host}", *command]
