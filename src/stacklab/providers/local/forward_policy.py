"""A host whose forwarding drops by default (Docker sets the iptables FORWARD chain's policy
to DROP): a lab's nodes would reach neither each other across its networks nor the way out.

A drop verdict in any base chain is final, so the lab's own nft table cannot accept around
it; the host's owner must accept the labs' bridges in the dropping table. Read from the
host's whole ruleset (`nft -j list ruleset`), which shows iptables-nft's tables too.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from stacklab.providers.local.naming import BRIDGE_PREFIX, NFT_TABLE_PREFIX

DOCKER_USER = "DOCKER-USER"
# One pattern for every lab's bridges: each lab's own table still fences labs apart.
ALL_LAB_BRIDGES = f"{BRIDGE_PREFIX}*"


@dataclass(frozen=True)
class DroppingChain:
    family: str
    table: str
    chain: str
    accepted_in: set[str]  # the lab's bridges that rules of this table accept, both ways
    has_docker_user: bool

    def fix(self) -> str:
        """The commands that accept every lab's traffic here, kept across Docker restarts."""
        if self.family in ("ip", "ip6") and self.table == "filter":
            chain = DOCKER_USER if self.has_docker_user else self.chain
            command = "iptables" if self.family == "ip" else "ip6tables"
            wildcard = ALL_LAB_BRIDGES.replace("*", "+")
            return (
                f"`{command} -I {chain} -i {wildcard} -j ACCEPT && "
                f"{command} -I {chain} -o {wildcard} -j ACCEPT`"
            )
        rule = f"nft insert rule {self.family} {self.table} {self.chain}"
        return (
            f'`{rule} iifname "{ALL_LAB_BRIDGES}" accept && '
            f'{rule} oifname "{ALL_LAB_BRIDGES}" accept`'
        )


def _interface_matches(expression: list[dict[str, Any]], key: str) -> list[str]:
    names = []
    for item in expression:
        match = item.get("match")
        if not isinstance(match, dict) or match.get("op", "==") != "==":
            continue
        left = match.get("left", {})
        if isinstance(left, dict) and left.get("meta", {}).get("key") == key:
            right = match.get("right")
            if isinstance(right, str):
                names.append(right)
            elif isinstance(right, dict) and "set" in right:
                names += [name for name in right["set"] if isinstance(name, str)]
    return names


def _accepts(expression: list[dict[str, Any]]) -> bool:
    return any("accept" in item for item in expression)


def _covers(patterns: list[str], bridge: str) -> bool:
    return any(fnmatch.fnmatchcase(bridge, pattern) for pattern in patterns)


def dropping_chains(ruleset: str, bridges: list[str]) -> list[DroppingChain]:
    """The forward chains with policy drop that do not accept all of these bridges' traffic
    (in from them and out to them)."""
    items = json.loads(ruleset).get("nftables", []) if ruleset.strip() else []
    chains = [item["chain"] for item in items if "chain" in item]
    rules = [item["rule"] for item in items if "rule" in item]
    found = []
    for chain in chains:
        if chain.get("hook") != "forward" or chain.get("policy") != "drop":
            continue
        family, table = chain["family"], chain["table"]
        if family not in ("ip", "inet") or table.startswith(NFT_TABLE_PREFIX):
            continue
        own = [r for r in rules if r["family"] == family and r["table"] == table]
        accepting = [r["expr"] for r in own if _accepts(r.get("expr", []))]
        incoming = [name for expr in accepting for name in _interface_matches(expr, "iifname")]
        outgoing = [name for expr in accepting for name in _interface_matches(expr, "oifname")]
        accepted = {b for b in bridges if _covers(incoming, b) and _covers(outgoing, b)}
        if accepted == set(bridges):
            continue
        names = {c["name"] for c in chains if c["family"] == family and c["table"] == table}
        found.append(DroppingChain(family, table, chain["name"], accepted, DOCKER_USER in names))
    return found
