"""One registry says what each provider is; callers branch on these traits."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from stacklab.access.tunnel import LabRoute, lab_tunnel
from stacklab.catalog.models import Reach
from stacklab.config.models import ProviderKind
from stacklab.core.nodes import NodeAccess
from stacklab.errors import NotYetImplemented
from stacklab.providers.gcp import GcpProvider
from stacklab.providers.registry import host_provider, provider_kind_for, traits_of

TRAITS = {kind: traits_of(kind) for kind in ProviderKind}


def test_every_provider_kind_has_its_traits() -> None:
    assert host_provider() is ProviderKind.LOCAL
    assert [kind for kind in ProviderKind if not TRAITS[kind].implemented] == []


def test_paid_clouds_are_reached_through_their_access_node() -> None:
    for traits in TRAITS.values():
        assert traits.costs_money == traits.public_addresses
        assert (traits.reach is Reach.JUMP_HOST) == traits.public_addresses
        assert traits.apis_reached_from_host == (traits.reach is Reach.DIRECT)


def test_an_unknown_or_unimplemented_kind_is_refused_clearly() -> None:
    with pytest.raises(NotYetImplemented, match="openstack-on-mars"):
        traits_of("openstack-on-mars")
    assert provider_kind_for("ssh").kind == "ssh"


def test_a_gcp_lab_is_looked_for_where_its_plan_recorded_it() -> None:
    recorded = {"project": "p1", "region": "europe-west1", "zone": "europe-west1-c"}
    gcp = provider_kind_for("gcp", recorded)
    assert isinstance(gcp, GcpProvider)
    assert (gcp.settings.project, gcp.where.region, gcp.where.zone) == (
        "p1",
        "europe-west1",
        "europe-west1-c",
    )


def test_only_a_lab_whose_host_is_on_its_networks_needs_no_tunnel() -> None:
    routes = (LabRoute("management", IPv4Network("10.0.0.0/24")),)
    access = NodeAccess("net", "198.51.100.1", "admin", 22, Path("/k"))
    for kind, traits in TRAITS.items():
        tunnel = lab_tunnel("l", kind.value, routes, access, Path("/kh"), sshuttle_installed=True)
        assert tunnel.needed != traits.host_on_lab_networks
