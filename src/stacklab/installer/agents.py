"""Which of the lab's expected network agents are not alive. Pure; used by the playbook's
filter plugin (rows from `openstack network agent list -f json`) and by the health check."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

# `openstack network agent list -f json` shows "Alive" as a boolean; its table form as ":-)".
_ALIVE = (True, ":-)", "true", "True", "UP", "up")


def alive_agents(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """`host/agent type` of every agent that reports alive."""
    return {
        f"{row.get('Host')}/{row.get('Agent Type')}" for row in rows if row.get("Alive") in _ALIVE
    }


def missing_agents(rows: Iterable[Mapping[str, Any]], expected: Iterable[str]) -> list[str]:
    """The expected `host/agent type` entries that are not alive, sorted."""
    alive = alive_agents(rows)
    return sorted(set(expected) - alive)


# What Neutron lists on ML2/OVN: one agent per chassis (a gateway chassis on a network node)
# and the metadata agent where instances run.
OVN_CONTROLLER = "OVN Controller agent"
OVN_GATEWAY = "OVN Controller Gateway agent"
OVN_METADATA = "OVN Metadata agent"


def node_agents(roles: Collection[str]) -> tuple[str, ...]:
    """The agent types a node with these roles reports."""
    agents: list[str] = []
    if "network" in roles:
        agents.append(OVN_GATEWAY)
    elif "compute" in roles:
        agents.append(OVN_CONTROLLER)
    if "compute" in roles:
        agents.append(OVN_METADATA)
    return tuple(agents)


def expected_agents(roles_by_node: Mapping[str, Collection[str]]) -> list[str]:
    """`host/agent type` of every agent these nodes report, sorted."""
    return sorted(
        f"{node}/{agent}" for node, roles in roles_by_node.items() for agent in node_agents(roles)
    )
