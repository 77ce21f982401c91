"""Kernel networking, tried for real in throw-away network namespaces.

Each capability the local provider needs is exercised the way the provider uses it:
a bridge, a veth pair with one end moved into another namespace (as nspawn does with
host0), a VXLAN device on the bridge, and an nftables masquerade rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from stacklab.doctor.models import CheckResult, Status
from stacklab.errors import CommandError
from stacklab.runner import Runner

NAMESPACE_PREFIX = "stacklab-doctor-"
NAT_RULESET = """\
table ip stacklab_doctor {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 10.255.255.0/24 oifname != "br0" masquerade
    }
}
"""
FIX_KERNEL = "use a kernel with {what} (built in or as a module) and run as root"


def namespace_names(pid: int | None = None) -> tuple[str, str]:
    """Names unique to this process: a namespace with them is a leftover of a dead doctor."""
    base = f"{NAMESPACE_PREFIX}{os.getpid() if pid is None else pid}"
    return base, f"{base}-peer"


def check_kernel_networking(runner: Runner) -> list[CheckResult]:
    trial = _NetworkTrial(runner, *namespace_names())
    # (name, what it is, how to try it, what it is tried on top of)
    capabilities: list[tuple[str, str, Callable[[], None], tuple[str, ...]]] = [
        ("netns", "network namespaces", trial.namespaces, ()),
        ("bridge", "Linux bridges", trial.bridge, ("netns",)),
        ("veth", "veth pairs", trial.veth, ("netns", "bridge")),
        ("vxlan", "VXLAN devices", trial.vxlan, ("netns", "bridge")),
        ("nat", "nftables NAT (masquerade)", trial.nat, ("netns",)),
    ]
    failed: set[str] = set()
    results: list[CheckResult] = []
    try:
        for name, what, attempt, needs in capabilities:
            blocker = next((need for need in needs if need in failed), None)
            result = _try(f"network: {name}", what, attempt, blocker=blocker)
            if result.status is Status.FAIL:
                failed.add(name)
            results.append(result)
    finally:
        trial.clean_up()
    return results


class _NetworkTrial:
    def __init__(self, runner: Runner, lab: str, peer: str) -> None:
        self._runner = runner
        self.lab = lab
        self.peer = peer

    def namespaces(self) -> None:
        for name in (self.lab, self.peer):
            self._runner.run(["ip", "netns", "delete", name], check=False, timeout=30.0)
            self._runner.run(["ip", "netns", "add", name], timeout=30.0)

    def bridge(self) -> None:
        self._ip("link add br0 type bridge")
        self._ip("link set br0 up")

    def veth(self) -> None:
        self._ip("link add ve0 type veth peer name ve1")
        self._ip("link set ve0 master br0 up")
        self._ip(f"link set ve1 netns {self.peer}")

    def vxlan(self) -> None:
        self._ip("link set lo up")
        self._ip("link add vx0 type vxlan id 42 dstport 4789 local 127.0.0.1")
        self._ip("link set vx0 master br0 up")

    def nat(self) -> None:
        command = ["ip", "netns", "exec", self.lab, "nft", "-f", "-"]
        self._runner.run(command, input_text=NAT_RULESET, timeout=30.0)

    def clean_up(self) -> None:
        for name in (self.peer, self.lab):
            self._runner.run(["ip", "netns", "delete", name], check=False, timeout=30.0)

    def _ip(self, arguments: str) -> None:
        self._runner.run(["ip", "-n", self.lab, *arguments.split()], timeout=30.0)


def _try(name: str, what: str, attempt: Callable[[], None], *, blocker: str | None) -> CheckResult:
    if blocker is not None:
        return CheckResult(
            name, Status.FAIL, f"not tried: network: {blocker} failed", f"fix network: {blocker}"
        )
    try:
        attempt()
    except CommandError as error:
        last_line = error.output.strip().splitlines()[-1:] or [f"exit code {error.returncode}"]
        return CheckResult(
            name,
            Status.FAIL,
            f"{what}: `{' '.join(error.command)}` failed: {last_line[0]}",
            FIX_KERNEL.format(what=what),
        )
    return CheckResult(name, Status.PASS, f"{what}: tried in a scratch namespace, OK")
