"""Every API of the shared local AIO lab (conftest.py) answers a request it refuses before
reading its body: the client gets the HTTP error, not a reset connection. uwsgi closing a
socket with the body unread sent RST, and a third of such answers were lost (Tempest's
negative volume test failed on it; a Terraform user would see "connection reset" instead
of "not found"). Real openstacksdk session, the clouds.yaml the lab wrote. Root, nspawn."""

from __future__ import annotations

import pytest
from conftest import AioLab, demo_connection
from keystoneauth1.exceptions import ConnectionError as ConnectionFailed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ATTEMPTS = 30
BODY = {"stacklab": "x" * 4096}  # a body the API never reads: the route does not exist


def test_a_refused_request_with_a_body_gets_its_answer(lab: AioLab) -> None:
    conn = demo_connection(lab)
    try:
        catalog = {
            entry["type"]
            for entry in conn.session.auth.get_access(conn.session).service_catalog.catalog
        }
        lost: dict[str, int] = {}
        statuses: dict[str, set[int]] = {}
        for service_type in sorted(catalog):
            endpoint = conn.endpoint_for(service_type)
            if endpoint is None:
                continue
            for _ in range(ATTEMPTS):
                try:
                    answer = conn.session.put(
                        f"{endpoint.rstrip('/')}/stacklab-no-such-route/",
                        json=BODY,
                        raise_exc=False,
                        connect_retries=0,
                    )
                except ConnectionFailed:
                    lost[service_type] = lost.get(service_type, 0) + 1
                    continue
                statuses.setdefault(service_type, set()).add(answer.status_code)
    finally:
        conn.close()
    assert lost == {}, f"connections reset instead of an answer, of {ATTEMPTS} each: {lost}"
    assert {"compute", "network", "volumev3", "placement", "identity"} <= set(statuses), statuses
    assert all(code >= 300 for codes in statuses.values() for code in codes), statuses
