"""The access node's TLS proxy on the session's real local AIO lab (conftest.py): Horizon's
login page through it in headless Chromium (the screenshot is kept), a Horizon login over
it, the Keystone catalog's URLs pointing at it and not at the internal API address, and the
openstack CLI working through it. Root, nspawn, Debian's chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import urllib.parse
import urllib.request
import zlib
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from conftest import AioLab

from stacklab.bootstrap.resources import TENANT_NETWORK, TEST_IMAGE, VERIFY_FLAVOR
from stacklab.installer.inventory import api_address
from stacklab.installer.proxy import ProxyRecord, read_record
from stacklab.labcloud.credentials import lab_credentials

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPENSTACK = str(Path(sys.executable).with_name("openstack"))
WINDOW = (1280, 900)
# Horizon's login page shows the OpenStack logo (a static file, through the proxy too)
# near its top: some thousand red pixels in the first rows.
LOGO_ROWS = 300
MIN_LOGO_PIXELS = 500


@pytest.fixture
def proxy(lab: AioLab) -> ProxyRecord:
    record = read_record(lab.directory)
    assert record is not None, "the proxy phase recorded no proxy"
    assert record.certificate.exists(), "the proxy's certificate is not in the lab's directory"
    return record


def artifact_dir(lab: AioLab) -> Path:
    """Kept with the lab's home (a pytest temporary directory, kept after the run)."""
    path = lab.home / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium(url: str, profile: Path, *options: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary is not None, "Debian's chromium is missing: `./dev.sh test` installs it"
    argv = [
        binary,
        "--headless",
        "--no-sandbox",  # root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={profile}",
        # The lab's certificate is self-signed; the API tests below verify it properly.
        "--ignore-certificate-errors",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=15000",  # let the page's scripts and styles settle
        *options,
        url,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)


def png_rows(path: Path, count: int) -> tuple[tuple[int, int], list[bytes]]:
    """The PNG's size and its first `count` rows of pixels (8-bit RGB or RGBA), unfiltered."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
    pixel = 3 if colour == 2 else 4
    compressed, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            compressed += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(compressed)
    stride = width * pixel
    rows: list[bytes] = []
    previous = bytearray(stride)
    for index in range(min(count, height)):
        start = index * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - pixel] if i >= pixel else 0
            up, corner = previous[i], previous[i - pixel] if i >= pixel else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                nearest = min(
                    (abs(estimate - left), 0, left),
                    (abs(estimate - up), 1, up),
                    (abs(estimate - corner), 2, corner),
                )[2]
                line[i] = (line[i] + nearest) & 0xFF
        rows.append(bytes(line))
        previous = line
    return (width, height), [row[: width * pixel] for row in rows]


def logo_red_pixels(rows: list[bytes], pixel: int) -> int:
    """Pixels of the OpenStack logo's red, which Horizon's login page shows at its top."""
    return sum(
        1
        for row in rows
        for i in range(0, len(row), pixel)
        if row[i] > 200 and row[i + 1] < 80 and row[i + 2] < 120
    )


def test_horizon_login_page_through_the_proxy_in_headless_chromium(
    lab: AioLab, proxy: ProxyRecord, tmp_path: Path
) -> None:
    login = f"{proxy.horizon_url}auth/login/"
    dom = chromium(login, tmp_path / "dom-profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert 'name="username"' in page and 'name="password"' in page, page[:2000]
    assert 'action="/horizon/auth/login/"' in page
    assert api_address(lab.plan) not in page

    screenshot = artifact_dir(lab) / "horizon-login.png"
    screenshot.unlink(missing_ok=True)
    shot = chromium(login, tmp_path / "shot-profile", f"--screenshot={screenshot}")
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    print(f"\nHorizon's login page through {proxy.url}: {screenshot}")
    size, rows = png_rows(screenshot, LOGO_ROWS)
    assert size == WINDOW
    pixel = len(rows[0]) // WINDOW[0]
    assert logo_red_pixels(rows, pixel) > MIN_LOGO_PIXELS, "no OpenStack logo: a bare page?"


def tls_context(proxy: ProxyRecord) -> ssl.SSLContext:
    """Trusts the lab's self-signed certificate only, host name checked."""
    return ssl.create_default_context(cafile=str(proxy.certificate))


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="hidden"' in tag and name:
            fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def test_horizon_login_over_the_proxy_lands_on_the_dashboard(
    lab: AioLab, proxy: ProxyRecord
) -> None:
    jar = CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=tls_context(proxy)),
        urllib.request.HTTPCookieProcessor(jar),
    )
    login = f"{proxy.horizon_url}auth/login/"
    with opener.open(login, timeout=60) as answer:
        form = hidden_fields(answer.read().decode())
    password = str(lab_credentials(lab.name, lab.directory).admin.password)
    fields = {**form, "username": "admin", "password": password}
    request = urllib.request.Request(
        login,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Referer": login, "Origin": proxy.url.rstrip("/")},
    )
    with opener.open(request, timeout=120) as answer:
        landed = answer.geturl()
        body = answer.read().decode()
    assert "/horizon/auth/login/" not in landed, "the login form came back: login refused"
    assert landed.startswith(proxy.url), landed
    assert "Sign Out" in body or "logout" in body


def openstack_through_proxy(
    lab: AioLab, proxy: ProxyRecord, *args: str, demo: bool = False
) -> subprocess.CompletedProcess[str]:
    """The openstack CLI as the lab's admin (or demo user), through the proxy only."""
    credentials = lab_credentials(lab.name, lab.directory)
    user = credentials.demo if demo else credentials.admin
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environment.update(
        OS_AUTH_URL=proxy.auth_url,
        OS_CACERT=str(proxy.certificate),
        OS_USERNAME=user.username,
        OS_PASSWORD=str(user.password),
        OS_PROJECT_NAME=user.project_name,
        OS_USER_DOMAIN_NAME=user.domain,
        OS_PROJECT_DOMAIN_NAME=user.domain,
        OS_IDENTITY_API_VERSION="3",
        OS_INTERFACE="public",
        OS_REGION_NAME=user.region_name,
    )
    return subprocess.run(
        [OPENSTACK, *args], env=environment, capture_output=True, text=True, timeout=300
    )


def test_catalog_through_the_proxy_names_the_proxy_not_the_internal_address(
    lab: AioLab, proxy: ProxyRecord
) -> None:
    listed = openstack_through_proxy(lab, proxy, "catalog", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    urls = [
        endpoint["url"]
        for service in json.loads(listed.stdout)
        for endpoint in service["Endpoints"]
    ]
    assert {"identity", "compute", "network", "image", "placement"} <= {
        service["Type"] for service in json.loads(listed.stdout)
    }
    internal = api_address(lab.plan)
    assert urls and all(url.startswith(proxy.url) for url in urls), urls
    assert not [url for url in urls if internal in url]


def test_token_and_server_list_work_through_the_proxy(lab: AioLab, proxy: ProxyRecord) -> None:
    token = openstack_through_proxy(lab, proxy, "token", "issue", "-f", "value", "-c", "expires")
    assert token.returncode == 0, token.stderr[-2000:]
    servers = openstack_through_proxy(lab, proxy, "server", "list", "--all-projects", "-f", "json")
    assert servers.returncode == 0, servers.stderr[-2000:]
    assert isinstance(json.loads(servers.stdout), list)
    networks = openstack_through_proxy(lab, proxy, "network", "list", "-f", "json")
    assert networks.returncode == 0, networks.stderr[-2000:]
    assert json.loads(networks.stdout), "bootstrap's networks are not listed"


def websocket_greeting(proxy: ProxyRecord, path: str) -> tuple[str, bytes]:
    """Open a websocket through the proxy as a browser on the proxy's page would (its
    Origin); the status line and the first bytes the server sends."""
    host = urllib.parse.urlsplit(proxy.url).hostname or ""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: https://{host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: c3RhY2tsYWItcHJveHktMQ==\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
    )
    raw = socket.create_connection((host, 443), timeout=30)
    with tls_context(proxy).wrap_socket(raw, server_hostname=host) as connection:
        connection.sendall(request.encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(4096)
        head, _, rest = received.partition(b"\r\n\r\n")
        while len(rest) < 14:  # a frame header and "RFB 003.00x"
            rest += connection.recv(4096)
    return head.decode().splitlines()[0], rest


def test_novnc_console_of_a_server_opens_through_the_proxy(lab: AioLab, proxy: ProxyRecord) -> None:
    name = "proxy-console"
    created = openstack_through_proxy(
        lab, proxy, "server", "create", "--image", TEST_IMAGE, "--flavor", VERIFY_FLAVOR,
        "--network", TENANT_NETWORK, "--wait", "-f", "value", "-c", "id", name, demo=True,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr[-2000:]
    server = created.stdout.strip()
    try:
        shown = openstack_through_proxy(
            lab, proxy, "console", "url", "show", "--novnc", "-f", "value", "-c", "url", server,
            demo=True,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr[-2000:]
        console = shown.stdout.strip()
        assert console.startswith(f"{proxy.url}novnc/vnc_auto.html?"), "not the proxy's URL"
        with urllib.request.urlopen(console, context=tls_context(proxy), timeout=30) as page:
            assert "noVNC" in page.read().decode()
        # What noVNC opens: wss://<proxy>/<path parameter>.
        socket_path = urllib.parse.parse_qs(urllib.parse.urlsplit(console).query)["path"][0]
        status, greeting = websocket_greeting(proxy, f"/{socket_path}")
        assert " 101 " in status, status
        assert b"RFB 003." in greeting, "no VNC server behind the websocket"
    finally:
        openstack_through_proxy(lab, proxy, "server", "delete", "--wait", server, demo=True)
