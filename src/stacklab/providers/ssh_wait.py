"""SSH to a cloud lab: the access node by its public address, every other node through it.

Host keys are learnt on first contact into the lab's own known_hosts (a new lab has new
keys; nothing else on this machine trusts them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.core.ssh import ssh_argv
from stacklab.errors import ProviderError
from stacklab.runner import Runner

SSH_TIMEOUT_S = 600.0
ANEW_FIX = (
    "check that access.admin_cidr contains this machine's public address, and read the "
    "instance's serial console output in the cloud's console; `stacklab up` again waits anew"
)


def wait_for_ssh(
    runner: Runner,
    accesses: Sequence[NodeAccess],
    known_hosts: Path,
    progress: ProgressCallback,
    *,
    timeout: float = SSH_TIMEOUT_S,
    fix: str = ANEW_FIX,
    timeout_error: type[ProviderError] = ProviderError,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Until `ssh node true` works on every node, the access node first."""
    deadline = time.monotonic() + timeout
    for access in sorted(accesses, key=lambda a: a.jump_host is not None):
        progress(f"waiting for SSH on {access.name} ({access.host})")
        last = ""
        while True:
            result = runner.run(
                ssh_argv(access, known_hosts, ["true"], strict=False), check=False, timeout=60
            )
            if result.ok:
                break
            last = result.output
            if time.monotonic() >= deadline:
                raise timeout_error(
                    f"{access.name} did not answer SSH within {timeout:.0f} s"
                    + (f"; ssh said: {last}" if last else ""),
                    fix=fix,
                )
            sleep(5.0)
