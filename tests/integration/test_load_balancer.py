"""Octavia with OVN's provider driver on the session's real local AIO lab (conftest.py,
octavia on): a TCP load balancer with a floating IP in front of two test-image servers
(each answers GET / on port 80 with its hostname) answers from the host and spreads the
connections over both. Root, nspawn."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import AioLab, demo_connection
from openstack.connection import Connection
from volumes import wait_for

from stacklab.bootstrap.resources import (
    EXTERNAL_NETWORK,
    TENANT_NETWORK,
    TENANT_SUBNET,
    TEST_IMAGE,
    VERIFY_FLAVOR,
    keypair_name,
)
from stacklab.images.console_markers import read_markers
from stacklab.images.guest_init import HTTP_PORT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONNECTIONS = 40


def get_page(address: str, timeout: float = 5) -> str | None:
    """The body of GET / on port 80, None when nothing answers."""
    try:
        with socket.create_connection((address, HTTP_PORT), timeout=timeout) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\nHost: lb\r\n\r\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
    except OSError:
        return None
    head, _, body = answer.decode(errors="replace").partition("\r\n\r\n")
    return body.strip() if head.startswith("HTTP/1.") and " 200 " in head else None


def serving(conn: Connection, server_id: str) -> bool | None:
    console = conn.compute.get_server_console_output(server_id)["output"]
    return read_markers(console).http_ready or None


def lb_active(conn: Connection, lb_id: str) -> Any:
    found = conn.load_balancer.get_load_balancer(lb_id)
    assert found.provisioning_status != "ERROR", found
    return found if found.provisioning_status == "ACTIVE" else None


@dataclass
class Made:
    """What the test made, deleted afterwards whatever happened (other tests' servers stay)."""

    balancers: list[str] = field(default_factory=list)
    floating_ips: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)


@pytest.fixture
def demo(lab: AioLab) -> Iterator[tuple[Connection, Made]]:
    """The demo user's connection and the record of what the test made."""
    if "octavia" not in lab.plan.services:
        pytest.skip("the shared lab has services.octavia off")
    conn = demo_connection(lab)
    made = Made()
    yield conn, made
    for balancer in made.balancers:
        conn.load_balancer.delete_load_balancer(balancer, cascade=True, ignore_missing=True)
    for address in made.floating_ips:
        conn.network.delete_ip(address, ignore_missing=True)
    for server in made.servers:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in made.servers:
        conn.compute.wait_for_delete(conn.compute.get_server(server), wait=300)
    for balancer in made.balancers:
        wait_for("load balancer deleted", lambda: conn.load_balancer.find_load_balancer(
            balancer, ignore_missing=True) is None or None, timeout=300)  # noqa: B023 # fmt: skip
    for group in made.security_groups:
        conn.network.delete_security_group(group, ignore_missing=True)
    conn.close()


def test_a_tcp_load_balancer_spreads_connections_over_two_servers(
    lab: AioLab, demo: tuple[Connection, Made]
) -> None:
    conn, made = demo
    web = conn.network.create_security_group(name="lb-web")
    made.security_groups.append(web.id)
    conn.network.create_security_group_rule(
        security_group_id=web.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=HTTP_PORT, port_range_max=HTTP_PORT, remote_ip_prefix="0.0.0.0/0",
    )  # fmt: skip
    image = conn.image.find_image(TEST_IMAGE)
    flavor = conn.compute.find_flavor(VERIFY_FLAVOR)
    network = conn.network.find_network(TENANT_NETWORK)
    subnet = conn.network.find_subnet(TENANT_SUBNET)
    for number in (1, 2):
        made.servers.append(conn.compute.create_server(
            name=f"lb-web-{number}", image_id=image.id, flavor_id=flavor.id,
            networks=[{"uuid": network.id}], key_name=keypair_name(lab.name),
            security_groups=[{"name": "default"}, {"name": web.name}],
        ).id)  # fmt: skip
    addresses = {}
    for server in made.servers:
        active = conn.compute.wait_for_server(
            conn.compute.get_server(server), status="ACTIVE", wait=600
        )
        wait_for(f"{active.name} serves HTTP", lambda: serving(conn, server))  # noqa: B023
        addresses[active.name] = next(
            entry["addr"] for entry in active.addresses[TENANT_NETWORK]
            if entry["OS-EXT-IPS:type"] == "fixed"
        )  # fmt: skip

    started = time.monotonic()
    balancer = conn.load_balancer.create_load_balancer(
        name="lb-1", vip_subnet_id=subnet.id, provider="ovn"
    )
    made.balancers.append(balancer.id)
    wait_for("load balancer ACTIVE", lambda: lb_active(conn, balancer.id))
    listener = conn.load_balancer.create_listener(
        name="lb-1-tcp", protocol="TCP", protocol_port=HTTP_PORT, load_balancer_id=balancer.id
    )
    wait_for("listener made", lambda: lb_active(conn, balancer.id))
    # OVN balances by a hash of the connection's addresses and ports (its only algorithm).
    pool = conn.load_balancer.create_pool(
        name="lb-1-pool", protocol="TCP", lb_algorithm="SOURCE_IP_PORT", listener_id=listener.id
    )
    wait_for("pool made", lambda: lb_active(conn, balancer.id))
    for address in addresses.values():
        conn.load_balancer.create_member(
            pool, address=address, protocol_port=HTTP_PORT, subnet_id=subnet.id
        )
        wait_for("member added", lambda: lb_active(conn, balancer.id))
    external = conn.network.find_network(EXTERNAL_NETWORK)
    floating = conn.network.create_ip(
        floating_network_id=external.id, port_id=balancer.vip_port_id, description="lb-test"
    )
    made.floating_ips.append(floating.id)
    address = floating.floating_ip_address
    wait_for(f"the load balancer answers on {address}", lambda: get_page(address))
    print(f"\nload balancer: answering {time.monotonic() - started:.0f} s after its create")

    served = Counter(get_page(address) for _ in range(CONNECTIONS))
    print(f"connections served: {dict(served)}")
    assert set(served) == set(addresses), served  # every answer came from a member
    assert min(served.values()) >= CONNECTIONS // 10, served
