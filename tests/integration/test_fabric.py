"""A local lab on the emulated VPC (`provider: {kind: local, fabric: aws}`, issue 13 items 1
and 4), up to the packages step, on real nspawn nodes: the host reaches the access node only
at its public address and only on the opened ports; a node cannot send from an address it
does not own; a node that is not the router reaches the outside through the router node and
not by itself; `down` leaves nothing. Root, nspawn; the module makes its own lab."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address
from urllib.parse import urlsplit

import pytest
from conftest import in_lab_home
from traces import host_traces

from stacklab import api
from stacklab.cli.main import run
from stacklab.config.models import NetworkName
from stacklab.plan.models import Plan
from stacklab.plan.planner import EMULATED_PUBLIC_RANGE
from stacklab.providers.local.apt_cache import debian_mirror
from stacklab.providers.local.naming import namespace_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LAB = "vpc2"


def _host_address() -> str:
    """This host's source address towards the emulated public range: its admin_cidr."""
    words = subprocess.run(
        ["ip", "-4", "route", "get", str(EMULATED_PUBLIC_RANGE[1])],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return words[words.index("src") + 1]


def _spec() -> str:
    return f"""\
name: {LAB}
provider: {{kind: local, fabric: aws}}
topology:
  nodes:
    - {{name: controller, roles: [controller]}}
    - {{name: network, roles: [network]}}
    - {{name: compute1, roles: [compute]}}
services:
  horizon: false
access:
  admin_cidr: {_host_address()}/32
"""


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plan]:
    if os.geteuid() != 0:
        pytest.skip("the local provider needs root")
    home = tmp_path_factory.mktemp("fabric")
    (home / "stacklab.yaml").write_text(_spec())
    try:
        with in_lab_home(home):
            assert run(["up", "--until", "packages"]) == 0
            yield api.plan_file()
    finally:
        with in_lab_home(home):
            run(["down", LAB])
        assert host_traces(LAB) == []


def _connect(address: str, port: int, namespace: str | None = None, *, read: bool = True) -> str:
    """The first line the server sends (read) or "open", else why it failed."""
    script = f"exec 3<>/dev/tcp/{address}/{port} && " + ("head -1 <&3" if read else "echo open")
    command = ["timeout", "8", "bash", "-c", script]
    if namespace is not None:
        command = ["ip", "netns", "exec", namespace, *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else f"failed: {done.stderr.strip()}"


def _in(namespace: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *command], capture_output=True, text=True, check=False
    )


def test_the_host_reaches_the_access_node_at_its_public_address_on_opened_ports_only(
    plan: Plan,
) -> None:
    assert plan.public_address is not None
    assert plan.router is not None and plan.router.node == plan.access_node == "network"
    assert _connect(str(plan.public_address), 22).startswith("SSH-2.0-")
    assert "refused" in _connect(str(plan.public_address), 80)


def test_a_node_cannot_send_from_an_address_it_does_not_own(plan: Plan) -> None:
    compute = namespace_name(LAB, "compute1")
    controller = str(plan.node("controller").management_address)
    management = plan.network(NetworkName.MANAGEMENT)
    foreign = str(IPv4Address(int(management.cidr[-1]) - 1))  # in the subnet, nobody's
    assert _in(compute, "ping", "-c", "2", "-W", "2", controller).returncode == 0
    added = _in(compute, "ip", "addr", "add", f"{foreign}/32", "dev", "mgmt0")
    assert added.returncode == 0, added.stderr
    try:
        spoofed = _in(compute, "ping", "-c", "2", "-W", "2", "-I", foreign, controller)
        assert spoofed.returncode != 0, spoofed.stdout
    finally:
        _in(compute, "ip", "addr", "del", f"{foreign}/32", "dev", "mgmt0")


def test_a_node_goes_out_through_the_router_node_and_not_by_itself(plan: Plan) -> None:
    assert plan.router is not None
    compute = namespace_name(LAB, "compute1")
    mirror = urlsplit(debian_mirror(None))
    outside = str(socket.getaddrinfo(mirror.hostname, None, socket.AF_INET)[0][4][0])
    route = _in(compute, "ip", "-4", "route", "get", outside).stdout
    assert f"via {plan.router.gateway} " in route
    port = mirror.port or (443 if mirror.scheme == "https" else 80)
    assert _connect(outside, port, compute, read=False) == "open"
    host_gateway = str(plan.network(NetworkName.MANAGEMENT).gateway)
    direct = _in(compute, "ip", "route", "add", f"{outside}/32", "via", host_gateway)
    assert direct.returncode == 0, direct.stderr
    try:  # a VPC has no NAT for a node without a public address
        assert _connect(outside, port, compute, read=False).startswith("failed")
    finally:
        _in(compute, "ip", "route", "del", f"{outside}/32", "via", host_gateway)
