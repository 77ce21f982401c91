"""The access node's TLS proxy: its routes, the URL rewrites, the nginx site, the
certificate's names and what clients are told about it. Pure: no nginx here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from stacklab.access.cloud_files import environment_text, lab_environment
from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.core.nodes import NodeAccess
from stacklab.installer.inventory import api_address, build_inventory
from stacklab.installer.proxy import (
    CERTIFICATE_FILE,
    CLIENT_HOST,
    proxy_host,
    proxy_vars,
    read_record,
    rewrites,
    routes_for,
    site_config,
    subject_alt_names,
    write_record,
)
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan

CATALOG = load_catalog(with_host=False)
API = "10.1.0.9"
ALL_SERVICES = ("keystone", "glance", "placement", "nova", "neutron", "horizon")


def plan_for(**fields: Any) -> Plan:
    return plan(Spec.model_validate({"name": "lab", **fields}), CATALOG)


def accesses(lab: Plan) -> tuple[NodeAccess, ...]:
    return tuple(
        NodeAccess(node.name, str(node.management_address), "root", 22, Path("/keys/id"))
        for node in lab.nodes
    )


def sub_filter(text: str, pairs: list[tuple[str, str]], client_host: str) -> str:
    """What nginx's sub_filter does with these pairs: one scan, case-insensitive."""
    table = {old.lower(): new.replace(CLIENT_HOST, client_host) for old, new in pairs}
    pattern = re.compile("|".join(re.escape(old) for old, _ in pairs), re.IGNORECASE)
    return pattern.sub(lambda match: table[match.group(0).lower()], text)


def catalog_answer(api: str) -> str:
    """A token's catalog as Keystone answers, with the endpoints the installer registers."""
    urls = {
        "identity": f"http://{api}:5000/v3",
        "image": f"http://{api}:9292",
        "placement": f"http://{api}:8778",
        "compute": f"http://{api}:8774/v2.1",
        "network": f"http://{api}:9696",
    }
    catalog = [
        {"type": kind, "endpoints": [{"interface": "public", "url": url}]}
        for kind, url in urls.items()
    ]
    return json.dumps({"token": {"catalog": catalog}, "links": {"self": urls["identity"]}})


def test_every_catalog_url_points_at_the_proxy_and_none_at_the_api_address() -> None:
    pairs = rewrites(API, routes_for(ALL_SERVICES))
    rewritten = json.loads(sub_filter(catalog_answer(API), pairs, "203.0.113.5:8443"))
    urls = {entry["type"]: entry["endpoints"][0]["url"] for entry in rewritten["token"]["catalog"]}
    assert urls == {
        "identity": "https://203.0.113.5:8443/identity/v3",
        "image": "https://203.0.113.5:8443/image",
        "placement": "https://203.0.113.5:8443/placement",
        "compute": "https://203.0.113.5:8443/compute/v2.1",
        "network": "https://203.0.113.5:8443/networking",
    }
    assert API not in json.dumps(rewritten)


def test_horizon_rewrite_does_not_swallow_the_apis_ports() -> None:
    pairs = rewrites(API, routes_for(ALL_SERVICES))
    text = f'<a href="http://{API}/horizon/">x</a> <iframe src="http://{API}:6080/vnc_auto.html">'
    assert sub_filter(text, pairs, "h") == (
        '<a href="https://h/horizon/">x</a> <iframe src="https://h/novnc/vnc_auto.html">'
    )


def test_novnc_console_url_opens_its_websocket_under_the_proxys_novnc_path() -> None:
    pairs = rewrites(API, routes_for(ALL_SERVICES))
    console = f"http://{API}:6080/vnc_auto.html?path=%3Ftoken%3Dabc"
    assert sub_filter(console, pairs, "h") == (
        "https://h/novnc/vnc_auto.html?path=novnc%2F%3Ftoken%3Dabc"
    )


def test_routes_follow_the_services_of_the_plan() -> None:
    prefixes = [route.prefix for route in routes_for(("keystone", "nova", "cinder"))]
    assert prefixes == ["/identity/", "/compute/", "/novnc/", "/volume/"]


def server_level(config: str) -> list[str]:
    """Lines of the server block outside its locations."""
    server = config[config.index("server {") :]
    return re.sub(r"\n    location [^{]*\{.*?\n    \}", "", server, flags=re.S).splitlines()


def test_site_has_a_location_per_route_and_every_rewrite_at_server_level() -> None:
    config = site_config("lab", API, routes_for(ALL_SERVICES))
    assert config.count("{") == config.count("}")
    # nginx inherits sub_filter into a location only if it has none of its own.
    rewrite_lines = [line for line in config.splitlines() if "sub_filter '" in line]
    assert rewrite_lines == [line for line in server_level(config) if "sub_filter '" in line]
    assert len(rewrite_lines) == len(rewrites(API, routes_for(ALL_SERVICES)))
    for route in routes_for(ALL_SERVICES):
        assert f"location {route.prefix} {{" in config
        assert f"proxy_pass {route.upstream(API)}/;" in config
    # Every location sets its own headers (proxy_set_header is not inherited then).
    assert config.count('proxy_set_header Accept-Encoding "";') == len(routes_for(ALL_SERVICES))
    assert "location = / {\n        return 302 /horizon/;" in config
    assert "listen 443 ssl;" in config


def test_a_services_bare_path_is_served_without_a_redirect() -> None:
    config = site_config("lab", API, routes_for(ALL_SERVICES))
    assert "    rewrite ^/image$ /image/ last;" in config
    assert "rewrite ^$" not in config  # not for Horizon's /


def test_only_horizon_and_novnc_see_the_clients_host() -> None:
    config = site_config("lab", API, routes_for(ALL_SERVICES))
    locations = dict(re.findall(r"location (/\S*) \{(.*?)\n    \}", config, flags=re.S))
    keeps_host = {prefix for prefix, body in locations.items() if "Host $http_host;" in body}
    assert keeps_host == {"/", "/novnc/"}
    assert "Upgrade $http_upgrade" in locations["/novnc/"]
    assert "X-Forwarded-Proto https" in locations["/"]


def test_without_horizon_the_root_is_not_proxied() -> None:
    config = site_config("lab", API, routes_for(("keystone", "nova")))
    assert "location / {" not in config and "return 302" not in config


def test_subject_alt_names_tell_addresses_from_names_once_each() -> None:
    names = ["10.1.0.10", "aio", "10.1.0.10", "localhost", "127.0.0.1"]
    assert subject_alt_names(names) == "IP:10.1.0.10,DNS:aio,DNS:localhost,IP:127.0.0.1"


def test_proxy_runs_on_the_access_node_of_a_multinode_lab(tmp_path: Path) -> None:
    lab = plan_for(topology={"preset": "multinode"})
    variables = proxy_vars(lab, accesses(lab), tmp_path)
    network = lab.node("network")
    assert variables["access_node"] == "network"
    assert f"IP:{network.management_address}" in variables["proxy_subject_alt_names"]
    assert f"proxy_pass http://{api_address(lab)}:5000/;" in variables["proxy_site_config"]
    assert variables["proxy_certificate_file"] == str(tmp_path / CERTIFICATE_FILE)
    hosts = build_inventory(lab, accesses(lab))["all"]["hosts"]
    with_nginx = {name for name, host in hosts.items() if "nginx" in host["node_packages"]}
    assert with_nginx == {"network"}


def test_proxy_host_is_the_public_address_of_a_cloud_access_node() -> None:
    lab = plan_for(topology={"preset": "multinode"})
    nodes = [
        NodeAccess(n.name, "10.0.0.5", "admin", 22, Path("/k"), "admin@198.51.100.7")
        for n in lab.nodes
        if n.name != "network"
    ]
    nodes.append(NodeAccess("network", "198.51.100.7", "admin", 22, Path("/k")))
    assert proxy_host(lab, nodes) == "198.51.100.7"
    san = proxy_vars(lab, nodes, Path("/lab"))["proxy_subject_alt_names"]
    assert san.startswith("IP:198.51.100.7,")


def test_env_names_the_proxy_once_the_proxy_phase_recorded_it(tmp_path: Path) -> None:
    assert "Horizon" not in lab_environment("v1", tmp_path)
    record = write_record(tmp_path, "10.1.0.10")
    assert read_record(tmp_path) == record
    text = environment_text("v1", tmp_path, (), record)
    assert "https://10.1.0.10/horizon/" in text
    assert f"OS_AUTH_URL=https://10.1.0.10/identity/v3 OS_CACERT={record.certificate}" in text
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)
