"""Which of the lab's expected network agents are not alive. Pure; used by the playbook's
filter plugin (rows from `openstack network agent list -f json`) and by the health check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
