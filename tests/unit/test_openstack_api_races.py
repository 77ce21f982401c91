"""The openstacksdk adapter against a small Keystone and Nova over HTTP: a server deleted
between the adapter's find and its read is gone (None), not a failed call. Nova deletes a
server while verify's cleanup polls it, so the race is an ordinary moment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from stacklab.openstack_api import connect
from stacklab.openstack_records import Credentials
from stacklab.state.secrets import Secret

SERVER_ID = "77025a8f-302b-4561-bfcc-b432b8267cc6"


class CloudStandIn(BaseHTTPRequestHandler):
    """Keystone's token call with a one-service catalog, Nova's version document, and one
    server that a GET finds `server_reads` times before it is gone."""

    server_reads = 1

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def do_POST(self) -> None:
        assert self.path == "/v3/auth/tokens"
        self.rfile.read(int(self.headers["Content-Length"]))
        compute = {"interface": "public", "region": "RegionOne", "region_id": "RegionOne",
                   "url": f"{self._base()}/compute/v2.1", "id": "e1"}  # fmt: skip
        default = {"id": "default", "name": "Default"}
        token = {
            "token": {
                "expires_at": "2999-01-01T00:00:00.000000Z",
                "issued_at": "2026-01-01T00:00:00.000000Z",
                "methods": ["password"],
                "user": {"id": "u1", "name": "admin", "domain": default},
                "project": {"id": "p1", "name": "admin", "domain": default},
                "roles": [{"id": "r1", "name": "admin"}],
                "catalog": [
                    {"type": "compute", "name": "nova", "id": "s1", "endpoints": [compute]}
                ],
            }
        }  # fmt: skip
        self._reply(201, token, {"X-Subject-Token": "t0k3n"})

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/v3", ""):
            self._reply(200, {"version": {"id": "v3.14", "status": "stable", "links": [
                {"rel": "self", "href": f"{self._base()}/v3/"}]}})  # fmt: skip
        elif path in ("/compute/v2.1", "/compute"):
            self._reply(200, {"version": {"id": "v2.1", "status": "CURRENT", "version": "2.96",
                "min_version": "2.1", "links": [{"rel": "self",
                "href": f"{self._base()}/compute/v2.1/"}]}})  # fmt: skip
        elif path == f"/compute/v2.1/servers/{SERVER_ID}":
            if CloudStandIn.server_reads > 0:
                CloudStandIn.server_reads -= 1
                self._reply(200, {"server": {"id": SERVER_ID, "name": "s", "status": "DELETED"}})
            else:
                self._reply(404, {"itemNotFound": {"code": 404, "message": "not found"}})
        else:
            self._reply(404, {"itemNotFound": {"code": 404, "message": f"no {path}"}})


@pytest.fixture
def cloud_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CloudStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3"
    finally:
        server.shutdown()


def test_a_server_gone_between_find_and_read_is_none(cloud_url: str) -> None:
    CloudStandIn.server_reads = 1  # the find sees it, the read that follows does not
    cloud = connect(Credentials(cloud_url, "admin", Secret("pw"), "admin"))
    assert cloud.server(SERVER_ID) is None


def test_a_server_still_there_is_read(cloud_url: str) -> None:
    CloudStandIn.server_reads = 2
    cloud = connect(Credentials(cloud_url, "admin", Secret("pw"), "admin"))
    found = cloud.server(SERVER_ID)
    assert found is not None and found.id == SERVER_ID
