"""Names of local-lab resources: short enough for Linux, unique, and traceable to the lab."""

from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stacklab.config.models import NetworkName
from stacklab.providers.local.naming import (
    IFNAME_MAX,
    LinkOwner,
    bridge_name,
    lab_of_nft_table,
    link_alias,
    mount_source,
    namespace_name,
    nft_table_name,
    parse_link_alias,
    parse_mount_source,
    parse_namespace,
    veth_name,
)

labs = st.from_regex(r"[a-z][a-z0-9-]{0,9}", fullmatch=True)
nodes = st.from_regex(r"[a-z][a-z0-9-]{0,14}", fullmatch=True)
networks = st.sampled_from(list(NetworkName))


@given(labs, nodes, networks)
def test_interface_names_fit_linux(lab: str, node: str, network: NetworkName) -> None:
    for name in (bridge_name(lab, network), veth_name(lab, node, network)):
        assert 0 < len(name) <= IFNAME_MAX
        assert "/" not in name and " " not in name and ":" not in name


def test_longest_names_fit() -> None:
    lab, node = "a" * 10, "b" * 15
    assert len(bridge_name(lab, NetworkName.MANAGEMENT)) == IFNAME_MAX
    assert len(veth_name(lab, node, NetworkName.UPLINK)) <= IFNAME_MAX


def test_names_are_unique_across_labs_nodes_and_networks() -> None:
    # Lab names that a naive concatenation would confuse ("a-b"+"c" vs "a"+"b-c").
    labs_ = ["a", "a-b", "ab", "abm", "lab-one", "lab-onex", "z" * 10]
    nodes_ = ["n1", "n2", "b-c", "c", "controller", "compute1", "x" * 15]
    interfaces = [
        veth_name(lab, node, network) for lab, node, network in product(labs_, nodes_, NetworkName)
    ]
    interfaces += [bridge_name(lab, network) for lab, network in product(labs_, NetworkName)]
    assert len(interfaces) == len(set(interfaces))
    spaces = [namespace_name(lab, node) for lab, node in product(labs_, nodes_)]
    assert len(spaces) == len(set(spaces))
    tables = [nft_table_name(lab) for lab in labs_]
    assert len(tables) == len(set(tables))


@given(labs, nodes, networks)
def test_names_round_trip_to_their_lab(lab: str, node: str, network: NetworkName) -> None:
    assert parse_namespace(namespace_name(lab, node)) == (lab, node)
    assert lab_of_nft_table(nft_table_name(lab)) == lab
    assert parse_mount_source(mount_source(lab, node)) == (lab, node)
    assert parse_link_alias(link_alias(lab, network)) == LinkOwner(lab, network)
    assert parse_link_alias(link_alias(lab, network, node)) == LinkOwner(lab, network, node)
    assert bridge_name(lab, network).startswith(f"sl-{lab}-")


@pytest.mark.parametrize(
    "name",
    ["stacklab-doctor-17806", "stacklab.t1", "stacklab.t1.n1.x", "other.t1.n1", "stacklab.T1.n1"],
)
def test_foreign_namespaces_are_not_a_labs(name: str) -> None:
    assert parse_namespace(name) is None


@pytest.mark.parametrize(
    "alias", ["", "stacklab", "stacklab:t1", "stacklab:t1:nope", "docker:t1:management", "x:y:z:w"]
)
def test_foreign_aliases_are_not_a_labs(alias: str) -> None:
    assert parse_link_alias(alias) is None


def test_foreign_tables_and_mounts_are_not_a_labs() -> None:
    assert lab_of_nft_table("filter") is None
    assert lab_of_nft_table("stacklab_") is None
    assert parse_mount_source("overlay") is None
    assert parse_mount_source("stacklab:t1") is None


def test_invalid_names_are_refused() -> None:
    with pytest.raises(ValueError):
        bridge_name("Has_Upper", NetworkName.MANAGEMENT)
    with pytest.raises(ValueError):
        veth_name("t1", "n" * 16, NetworkName.MANAGEMENT)
