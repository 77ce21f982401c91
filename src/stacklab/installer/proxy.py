"""The TLS reverse proxy (nginx) on the lab's access node: Horizon, the OpenStack APIs and
noVNC under one HTTPS port, each API under a path of its own.

The Keystone catalog, the APIs' version documents and Nova's console URLs name the internal
API address (http://<api address>:<port>), which only the lab's networks reach. The proxy
rewrites those URLs in every answer to its own (https://<the host the client asked>/<path>),
as the nginx of seed 001 does, so the catalog works from wherever the proxy is reached: the
node's address, a public address or an SSH tunnel. Rendering is pure; the `access_proxy`
role writes it on the node.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacklab.core.nodes import NodeAccess
from stacklab.installer.inventory import api_address
from stacklab.plan.models import Plan

# On the node: the private key stays there (0600 in a 0700 directory); only the
# certificate comes back to the lab's directory, for clients to trust.
NODE_TLS_DIR = "/etc/nginx/stacklab"
CERTIFICATE_FILE = "proxy-certificate.pem"
RECORD_FILE = "proxy.json"
# Where the client's own host goes in a rewritten URL: its Host header, port included.
CLIENT_HOST = "$http_host"
# Content types whose bodies carry URLs (text/html always is rewritten). Not image data:
# a rewrite could corrupt a download.
REWRITTEN_TYPES = ("application/json", "text/plain", "text/javascript", "application/javascript")
# Nova's console URL says where noVNC opens its websocket: `path=?token=...`, relative to
# the proxy's root. It must be under /novnc/ instead.
NOVNC_PATH_PARAMETER = "vnc_auto.html?path=%3Ftoken%3D"


@dataclass(frozen=True)
class ProxyRoute:
    """A path of the proxy and the service port behind it on the API address."""

    service: str  # the plan's service the route belongs to
    prefix: str  # "/identity/"; "/" for Horizon
    port: int
    # Horizon (Django) and noVNC (nova's origin check) compare the browser's origin with
    # the Host they are asked for, so they get the client's; the APIs get their own, and
    # the URLs they build from it are rewritten.
    client_host: bool = False
    websocket: bool = False

    def upstream(self, api: str) -> str:
        return f"http://{api}" if self.port == 80 else f"http://{api}:{self.port}"


ROUTES: tuple[ProxyRoute, ...] = (
    ProxyRoute("keystone", "/identity/", 5000),
    ProxyRoute("glance", "/image/", 9292),
    ProxyRoute("placement", "/placement/", 8778),
    ProxyRoute("nova", "/compute/", 8774),
    ProxyRoute("nova", "/novnc/", 6080, client_host=True, websocket=True),
    ProxyRoute("neutron", "/networking/", 9696),
    ProxyRoute("cinder", "/volume/", 8776),
    ProxyRoute("octavia", "/load-balancer/", 9876),
    ProxyRoute("horizon", "/", 80, client_host=True),
)


def routes_for(services: Iterable[str]) -> tuple[ProxyRoute, ...]:
    enabled = set(services)
    return tuple(route for route in ROUTES if route.service in enabled)


def rewrites(api: str, routes: Sequence[ProxyRoute]) -> list[tuple[str, str]]:
    """(internal, public) string pairs, in the order nginx should try them."""
    pairs = []
    for route in routes:
        if route.prefix == "/":
            # With its slash, so that it never matches the start of http://api:PORT.
            pairs.append((f"{route.upstream(api)}/", f"https://{CLIENT_HOST}/"))
        else:
            pairs.append((route.upstream(api), f"https://{CLIENT_HOST}{route.prefix[:-1]}"))
    novnc = next((route for route in routes if route.websocket), None)
    if novnc is not None:
        under_prefix = f"path={novnc.prefix[1:-1]}%2F"  # novnc/, URL-encoded as nova does
        pairs.append((NOVNC_PATH_PARAMETER, NOVNC_PATH_PARAMETER.replace("path=", under_prefix)))
    return pairs


def _location(api: str, route: ProxyRoute) -> list[str]:
    upstream = route.upstream(api)
    host = CLIENT_HOST if route.client_host else "$proxy_host"
    lines = [
        f"    location {route.prefix} {{",
        f"        proxy_pass {upstream}/;",
        f"        proxy_redirect {upstream}/ https://{CLIENT_HOST}{route.prefix};",
        f"        proxy_set_header Host {host};",
        # Uncompressed answers: sub_filter cannot rewrite gzip.
        '        proxy_set_header Accept-Encoding "";',
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    ]
    if route.client_host:
        lines.append(f"        proxy_redirect http://{CLIENT_HOST}/ https://{CLIENT_HOST}/;")
    if route.websocket:
        lines += [
            "        proxy_set_header Upgrade $http_upgrade;",
            "        proxy_set_header Connection $stacklab_connection;",
            # nova checks the origin's scheme against its console base URL, which is
            # plain http inside the lab; the browser's https ends at this proxy.
            "        proxy_set_header X-Forwarded-Proto http;",
            "        proxy_read_timeout 1h;",
        ]
    elif route.client_host:
        lines.append("        proxy_set_header X-Forwarded-Proto https;")
    lines.append("    }")
    return lines


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def site_config(lab: str, api: str, routes: Sequence[ProxyRoute]) -> str:
    """The nginx site: one TLS server, a location per route, the rewrites for all."""
    lines = [
        f"# Written by stacklab: Horizon, the APIs and noVNC of lab {lab} over TLS; the",
        f"# internal URLs (http://{api}:PORT) in answers become this proxy's.",
        "map $http_upgrade $stacklab_connection {",
        "    default upgrade;",
        "    '' close;",
        "}",
        "",
        "server {",
        "    listen 443 ssl;",
        "    server_name _;",
        f"    ssl_certificate {NODE_TLS_DIR}/proxy.crt;",
        f"    ssl_certificate_key {NODE_TLS_DIR}/proxy.key;",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        # Relative redirects keep the client's host and port (a tunnel's, say).
        "    absolute_redirect off;",
        "    client_max_body_size 0;  # image uploads",
        "    proxy_request_buffering off;",
        "    proxy_http_version 1.1;",
        "    proxy_read_timeout 300s;",
        "    sub_filter_once off;",
        f"    sub_filter_types {' '.join(REWRITTEN_TYPES)};",
    ]
    for old, new in rewrites(api, routes):
        lines.append(f"    sub_filter {_quoted(old)} {_quoted(new)};")
    # A service's bare path (its catalog URL, e.g. /image) is served, not redirected:
    # keystoneauth's version discovery does not follow a relative redirect.
    lines.append("")
    for route in routes:
        if route.prefix != "/":
            lines.append(f"    rewrite ^{route.prefix[:-1]}$ {route.prefix} last;")
    if any(route.prefix == "/" for route in routes):
        lines += ["", "    location = / {", "        return 302 /horizon/;", "    }"]
    for route in routes:
        lines += ["", *_location(api, route)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def subject_alt_names(names: Iterable[str]) -> str:
    """openssl's subjectAltName value: IP: for addresses, DNS: for names; no repeats."""
    entries: list[str] = []
    for name in names:
        try:
            entry = f"IP:{ipaddress.ip_address(name)}"
        except ValueError:
            entry = f"DNS:{name}"
        if entry not in entries:
            entries.append(entry)
    return ",".join(entries)


def proxy_host(plan: Plan, nodes: Sequence[NodeAccess]) -> str:
    """Where this host reaches the proxy: the access node's SSH address (its public one
    on a cloud, its management address on the local provider)."""
    access = next((node for node in nodes if node.name == plan.access_node), None)
    if access is None or access.jump_host is not None:
        return str(plan.node(plan.access_node).management_address)
    return access.host


def reached_through_proxy(plan: Plan) -> bool:
    """Whether this host reaches the lab's APIs through the proxy alone: on a cloud's network,
    or its rehearsal on the emulated fabric, the API address is the lab's private one and only
    the access node's public address answers (on 22 and 443)."""
    return plan.fabric is not None


def proxy_url(host: str) -> str:
    return f"https://{host}/"


def proxy_vars(plan: Plan, nodes: Sequence[NodeAccess], lab_directory: Path) -> dict[str, Any]:
    """The playbook's variables of the proxy (none secret)."""
    node = plan.node(plan.access_node)
    names = [proxy_host(plan, nodes), *(str(nic.address) for nic in node.nics)]
    names += [node.name, node.fqdn, "localhost", "127.0.0.1"]
    return {
        "access_node": plan.access_node,
        "proxy_site_config": site_config(plan.lab, api_address(plan), routes_for(plan.services)),
        "proxy_subject_alt_names": subject_alt_names(names),
        "proxy_tls_dir": NODE_TLS_DIR,
        "proxy_certificate_file": str(lab_directory / CERTIFICATE_FILE),
    }


@dataclass(frozen=True)
class ProxyRecord:
    """What a client needs: the proxy's URL and the certificate to trust."""

    url: str
    certificate: Path

    @property
    def auth_url(self) -> str:
        return f"{self.url}identity/v3"

    @property
    def horizon_url(self) -> str:
        return f"{self.url}horizon/"


def write_record(lab_directory: Path, host: str) -> ProxyRecord:
    record = ProxyRecord(proxy_url(host), lab_directory / CERTIFICATE_FILE)
    document = {"url": record.url, "certificate": str(record.certificate)}
    (lab_directory / RECORD_FILE).write_text(json.dumps(document, indent=2) + "\n")
    return record


def read_record(lab_directory: Path) -> ProxyRecord | None:
    """The lab's proxy, once the proxy phase has set it up."""
    path = lab_directory / RECORD_FILE
    if not path.exists():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    return ProxyRecord(str(document["url"]), Path(document["certificate"]))
