"""The host's forwarding around local labs: a dropping FORWARD policy found in the ruleset,
and ip_forward recorded by the first lab and put back after the last."""

from __future__ import annotations

import json
from pathlib import Path

from stacklab.providers.local.forward_policy import dropping_chains
from stacklab.providers.local.ip_forwarding import (
    BEFORE_FILE,
    ensure_ip_forwarding,
    restore_ip_forwarding,
)

BRIDGES = ["sl-lab1-m", "sl-lab1-u"]
# `nft -j list ruleset` of a network namespace holding Docker's iptables-nft filter table,
# after `nft insert rule ip filter DOCKER-USER iifname "sl-*" accept` (nft 1.0.6).
DOCKER_RULESET = {
    "nftables": [
        {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"table": {"family": "ip", "name": "filter", "handle": 1}},
        {
            "chain": {
                "family": "ip", "table": "filter", "name": "FORWARD", "handle": 1,
                "type": "filter", "hook": "forward", "prio": 0, "policy": "drop",
            }
        },
        {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 2}},
        {
            "rule": {
                "family": "ip", "table": "filter", "chain": "DOCKER-USER", "handle": 3,
                "expr": [
                    {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "sl-*"}},
                    {"accept": None},
                ],
            }
        },
    ]
}  # fmt: skip


def with_rule(ruleset: dict[str, list[dict[str, object]]], key: str) -> str:
    match = {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "sl-*"}}
    rule = {
        "family": "ip",
        "table": "filter",
        "chain": "DOCKER-USER",
        "expr": [match, {"accept": None}],
    }
    return json.dumps({"nftables": [*ruleset["nftables"], {"rule": rule}]})


def test_a_drop_policy_that_accepts_lab_traffic_one_way_only_is_still_found() -> None:
    [found] = dropping_chains(json.dumps(DOCKER_RULESET), BRIDGES)
    assert (found.table, found.chain, found.has_docker_user) == ("filter", "FORWARD", True)
    assert found.fix() == (
        "`iptables -I DOCKER-USER -i sl-+ -j ACCEPT && iptables -I DOCKER-USER -o sl-+ -j ACCEPT`"
    )


def test_accepted_both_ways_or_no_drop_policy_is_no_problem() -> None:
    assert dropping_chains(with_rule(DOCKER_RULESET, "oifname"), BRIDGES) == []
    assert dropping_chains('{"nftables": []}', BRIDGES) == []
    assert dropping_chains("", BRIDGES) == []


def test_forwarding_is_recorded_once_and_put_back_after_the_last_lab(tmp_path: Path) -> None:
    sysctl, runtime = tmp_path / "ip_forward", tmp_path / "run"
    sysctl.write_text("0\n")
    assert ensure_ip_forwarding(sysctl, runtime) is True
    assert ensure_ip_forwarding(sysctl, runtime) is False  # a second lab: on already
    assert sysctl.read_text() == "1\n" and (runtime / BEFORE_FILE).read_text() == "0\n"
    assert restore_ip_forwarding(lambda: True, sysctl, runtime) is None  # a lab is left
    assert sysctl.read_text() == "1\n"
    assert restore_ip_forwarding(lambda: False, sysctl, runtime) == "0"
    assert sysctl.read_text() == "0\n" and not (runtime / BEFORE_FILE).exists()


def test_forwarding_found_on_is_left_on(tmp_path: Path) -> None:
    sysctl, runtime = tmp_path / "ip_forward", tmp_path / "run"
    sysctl.write_text("1\n")
    assert ensure_ip_forwarding(sysctl, runtime) is False
    assert restore_ip_forwarding(lambda: False, sysctl, runtime) is None
    assert sysctl.read_text() == "1\n"
