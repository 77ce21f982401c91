"""`init` for a cloud provider: the user's public address as access.admin_cidr when it can be
found from outside, else a commented line that says what `up` requires and how to fill it."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from image_server import ImageServer

from stacklab import api
from stacklab.access.public_address import public_address
from stacklab.config.loader import load_spec
from stacklab.config.models import Preset, ProviderKind

PUBLIC = IPv4Address("8.8.4.4")


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        (f"{PUBLIC}\n", PUBLIC),
        ("10.20.0.5\n", None),  # a private address is not the one a cloud firewall sees
        ("<html>captive portal</html>", None),
    ],
)
def test_the_public_address_is_what_a_server_outside_answers_if_it_is_public(
    tmp_path: Path, answer: str, found: IPv4Address | None
) -> None:
    (tmp_path / "ip").write_text(answer, encoding="ascii")
    with ImageServer(tmp_path) as server:
        assert public_address(server.url("ip")) == found


def test_no_answer_means_no_address() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert public_address(f"http://127.0.0.1:{port}/", timeout=1) is None


def test_init_aws_writes_the_found_address_as_admin_cidr(tmp_path: Path) -> None:
    path = api.init_spec(
        tmp_path / "stacklab.yaml",
        name="demo",
        preset=Preset.MULTINODE,
        provider=ProviderKind.AWS,
        find_public_address=lambda: PUBLIC,
    )
    spec, _ = load_spec(path)
    assert spec.access.admin_cidr == IPv4Network(f"{PUBLIC}/32")
    text = path.read_text(encoding="utf-8")
    assert "Required by `up`" in text and "default: your current address" not in text
    planned = api.plan_file(path)
    assert {port.source for port in planned.open_ports} == {IPv4Network(f"{PUBLIC}/32")}
    assert not any("admin_cidr" in warning for warning in planned.warnings)


def test_init_aws_without_network_says_honestly_what_to_fill_in(tmp_path: Path) -> None:
    path = api.init_spec(
        tmp_path / "stacklab.yaml",
        name="demo",
        preset=Preset.AIO,
        provider=ProviderKind.AWS,
        find_public_address=lambda: None,
    )
    spec, _ = load_spec(path)
    assert spec.access.admin_cidr is None
    text = path.read_text(encoding="utf-8")
    assert "  # admin_cidr: 203.0.113.7/32" in text
    assert "refuses to start without it" in text and "could not find your" in text
    warnings = api.plan_file(path).warnings
    assert any("`up` refuses to start without it" in warning for warning in warnings)


def test_init_local_asks_nobody_and_needs_no_admin_cidr(tmp_path: Path) -> None:
    asked: list[bool] = []

    def ask() -> IPv4Address | None:
        asked.append(True)
        return PUBLIC

    path = api.init_spec(
        tmp_path / "stacklab.yaml",
        name="demo",
        preset=Preset.AIO,
        provider=ProviderKind.LOCAL,
        find_public_address=ask,
    )
    assert asked == []
    assert load_spec(path)[0].access.admin_cidr is None
    assert "Required by `up`" not in path.read_text(encoding="utf-8")
