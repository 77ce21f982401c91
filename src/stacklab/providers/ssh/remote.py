"""Scripts run on a host over SSH (BatchMode, a short connect timeout), and what an SSH
failure means for the user: which host, what went wrong, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacklab.core.ssh import ssh_argv
from stacklab.errors import CommandError
from stacklab.providers.ssh.hosts import SshTarget
from stacklab.runner import Completed, Runner

SCRIPT_TIMEOUT_S = 60.0
SSH_FAILED = 255  # ssh's own exit code: it never reached the remote command
# No pinning for a look before anything is made; the lab's known_hosts records keys later.
UNPINNED = Path("/dev/null")


@dataclass(frozen=True)
class HostProblem:
    """One thing wrong with one host, said the way the user acts on it."""

    host: str
    why: str
    fix: str

    def render(self) -> str:
        return f"- {self.host}: {self.why}. Fix: {self.fix}."


def run_script(
    runner: Runner,
    target: SshTarget,
    script: str,
    known_hosts: Path = UNPINNED,
    *,
    timeout: float = SCRIPT_TIMEOUT_S,
) -> Completed:
    """`sh -s` on the host with the script on stdin; never raises for a failed command."""
    argv = ssh_argv(target.access(), known_hosts, ["sh", "-s"], strict=False)
    try:
        return runner.run(argv, check=False, input_text=script, timeout=timeout)
    except CommandError as error:  # timed out, or no ssh program here
        return Completed(tuple(argv), SSH_FAILED, "", error.output)


def ssh_problem(target: SshTarget, result: Completed) -> HostProblem | None:
    """What is wrong when ssh itself failed (exit 255); None when the remote command ran."""
    if result.returncode != SSH_FAILED:
        return None
    said = _last_line(result.output)
    output = result.output.lower()
    key = target.private_key
    if "permission denied" in output:
        why = f"does not accept the key {key} for {target.user} ({said})"
        fix = (
            f"put {key}.pub into ~{target.user}/.ssh/authorized_keys there "
            f"(ssh-copy-id -i {key}.pub -p {target.port} {target.user}@{target.address}), "
            f"or set {target.field}.private_key to a key it accepts"
        )
    elif "host key verification failed" in output or "remote host identification" in output:
        why = f"shows another SSH host key than it did when the lab was made ({said})"
        fix = (
            "if the host was reinstalled, remove its line from the lab's known_hosts "
            f"(ssh-keygen -R '[{target.address}]:{target.port}' -f <lab dir>/known_hosts)"
        )
    elif "could not resolve" in output:
        why = f"its name {target.address} does not resolve ({said})"
        fix = f"correct {target.field}.address"
    else:
        why = f"does not answer SSH ({said or 'no answer'})"
        fix = (
            f"check {target.field}.address and port, that sshd runs there and that a "
            f"firewall lets this machine in: ssh -p {target.port} {target.user}@{target.address}"
        )
    return HostProblem(target.label, why, fix)


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1].rstrip(".") if lines else ""
