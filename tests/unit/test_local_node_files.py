"""The files that turn the shared base image into a node of the plan."""

from ipaddress import IPv4Address

import pytest

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import NetworkName, Spec
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan
from stacklab.providers.local.node_files import (
    APT_PROXY_FILE,
    SOURCES_FILE,
    AptSettings,
    apt_proxy_url,
    default_route_network,
    known_hosts_lines,
    networkd_file_name,
    node_files,
    render_hosts,
    stale_files,
)

MIRROR = "http://mirror.invalid/debian"
APT = AptSettings(MIRROR, "http://mirror.invalid/debian-security", "http://10.1.0.1:3142/")


@pytest.fixture(scope="module")
def two_nodes() -> Plan:
    spec = Spec.model_validate(
        {
            "name": "t1",
            "topology": {
                "nodes": [
                    {"name": "n1", "roles": ["controller", "network"]},
                    {"name": "n2", "roles": ["compute"]},
                ]
            },
            "networks": {"overlay": {"mtu": 1450}},
        }
    )
    return plan(spec, load_catalog(with_host=False))


def _sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = {}
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            sections[current][key] = value
    return sections


def test_networkd_files_sort_before_nspawns_own(two_nodes: Plan) -> None:
    for network in NetworkName:
        name = networkd_file_name(network).rpartition("/")[2]
        assert name < "80-container-host0.network"
        assert name.endswith(".network")


def test_every_nic_gets_its_address_prefix_and_mtu(two_nodes: Plan) -> None:
    for node in two_nodes.nodes:
        files = node_files(two_nodes, node, APT, "ssh-ed25519 AAAA lab")
        networkd = {path: text for path, text in files.items() if path.endswith(".network")}
        assert len(networkd) == len(node.nics)
        for nic in node.nics:
            sections = _sections(networkd[networkd_file_name(nic.network)])
            assert sections["Network"]["Address"] == nic.with_prefix
            assert sections["Link"]["MTUBytes"] == str(nic.mtu)
    n1 = two_nodes.node("n1")
    overlay = n1.nic(NetworkName.OVERLAY)
    assert overlay is not None and overlay.mtu == 1450


def test_default_route_via_uplink_else_management(two_nodes: Plan) -> None:
    expected = {"n1": NetworkName.UPLINK, "n2": NetworkName.MANAGEMENT}
    for node in two_nodes.nodes:
        assert default_route_network(node) is expected[node.name]
        files = node_files(two_nodes, node, APT, "key")
        gateways = {
            path: _sections(text).get("Route", {}).get("Gateway")
            for path, text in files.items()
            if path.endswith(".network")
        }
        route_file = networkd_file_name(expected[node.name])
        assert gateways.pop(route_file) == str(two_nodes.network(expected[node.name]).gateway)
        assert set(gateways.values()) == {None}  # exactly one default route


def test_hosts_name_every_node_at_its_management_address(two_nodes: Plan) -> None:
    hosts = render_hosts(two_nodes)
    for node in two_nodes.nodes:
        assert f"{node.management_address}\t{node.fqdn} {node.name}" in hosts.splitlines()
    assert "127.0.1.1" not in hosts


def test_identity_sources_and_cache(two_nodes: Plan) -> None:
    node = two_nodes.node("n2")
    files = node_files(two_nodes, node, APT, "ssh-ed25519 AAAA lab\nssh-rsa BBBB extra")
    assert files["etc/hostname"] == "n2\n"
    assert files["root/.ssh/authorized_keys"].splitlines() == [
        "ssh-ed25519 AAAA lab",
        "ssh-rsa BBBB extra",
    ]
    assert f"URIs: {MIRROR}" in files[SOURCES_FILE]
    assert f"Suites: {two_nodes.release} {two_nodes.release}-updates" in files[SOURCES_FILE]
    assert f"Suites: {two_nodes.release}-security" in files[SOURCES_FILE]
    assert '"http://10.1.0.1:3142/"' in files[APT_PROXY_FILE]
    without_cache = AptSettings(MIRROR, None, None)
    plain = node_files(two_nodes, node, without_cache, "key")
    assert APT_PROXY_FILE not in plain
    assert "security" not in plain[SOURCES_FILE]


def test_stale_files_are_only_ours_that_the_plan_dropped(two_nodes: Plan) -> None:
    wanted = node_files(two_nodes, two_nodes.node("n2"), AptSettings(MIRROR, None, None), "k")
    existing = [
        networkd_file_name(NetworkName.MANAGEMENT),
        networkd_file_name(NetworkName.PROVIDER),  # n2 left the provider network
        APT_PROXY_FILE,  # the cache was switched off
        "etc/systemd/network/99-someone-else.network",
        "etc/apt/apt.conf.d/70debconf",
    ]
    assert sorted(stale_files(existing, wanted)) == sorted(
        [networkd_file_name(NetworkName.PROVIDER), APT_PROXY_FILE]
    )


def test_known_hosts_lists_every_name_of_the_node(two_nodes: Plan) -> None:
    node = two_nodes.node("n1")
    line = known_hosts_lines(node, "ssh-ed25519 AAAAC3Nza root@build\n")
    assert line == f"{node.management_address},n1,n1.t1.internal ssh-ed25519 AAAAC3Nza\n"


def test_proxy_url() -> None:
    assert apt_proxy_url(IPv4Address("10.1.0.1")) == "http://10.1.0.1:3142/"


def test_root_user_manager_lingers_so_logins_never_wait_for_its_stop(two_nodes: Plan) -> None:
    files = node_files(two_nodes, two_nodes.node("n1"), APT, "key")
    assert files["var/lib/systemd/linger/root"] == ""
    drop_in = _sections(files["etc/systemd/system/user@.service.d/stacklab.conf"])
    assert drop_in["Service"]["TimeoutStopSec"] == "5s"
