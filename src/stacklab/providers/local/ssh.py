"""SSH from the host to a local lab's nodes, with host keys known in advance.

stacklab makes each node's SSH host keys itself, so `<lab dir>/known_hosts` lists them and
SSH checks them strictly: no trust-on-first-use.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import ssh_argv
from stacklab.errors import CommandError, ProviderError
from stacklab.runner import Runner

SSH_TIMEOUT_S = 120.0
# One `ssh node true`; a node busy with apt (or an earlier run's leftovers) on a loaded host
# can take longer, and that is one more attempt, not a failed step.
ATTEMPT_TIMEOUT_S = 30.0


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_for_ssh(
    runner: Runner,
    access: NodeAccess,
    known_hosts: Path,
    *,
    still_running: Callable[[], bool],
    log: Path,
    timeout: float = SSH_TIMEOUT_S,
    attempt_timeout: float = ATTEMPT_TIMEOUT_S,
) -> None:
    """Until `ssh node true` works; a clear error naming the node and its log otherwise."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if _port_open(access.host, access.port):
            command = ssh_argv(access, known_hosts, ["true"])
            try:
                result = runner.run(command, check=False, timeout=attempt_timeout)
            except CommandError as slow:  # timed out
                last = slow.output.strip()
            else:
                if result.ok:
                    return
                last = result.output
        if not still_running():
            raise ProviderError(
                f"Node {access.name} stopped while it booted.",
                details=_log_tail(log),
                fix=f"read its console log {log}",
            )
        time.sleep(0.2)
    raise ProviderError(
        f"Node {access.name} did not answer SSH at {access.host}:{access.port} "
        f"within {timeout:.0f} s.",
        details=(f"Last SSH error: {last}\n" if last else "") + _log_tail(log),
        fix=f"read its console log {log}",
    )


def _log_tail(log: Path, lines: int = 20) -> str:
    if not log.exists():
        return f"(no console log at {log})"
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"Last lines of {log}:\n" + "\n".join(tail)
