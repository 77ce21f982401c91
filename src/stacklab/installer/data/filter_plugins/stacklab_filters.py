"""Filters of stacklab's playbook; the logic lives in stacklab.installer (typed, tested)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stacklab.installer.agents import expected_agents, missing_agents
from stacklab.installer.ceph_keys import cephx_key, secret_uuid
from stacklab.installer.interfaces import interface_for_address


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "interface_for_address": interface_for_address,
            "expected_agents": expected_agents,
            "missing_agents": missing_agents,
            "cephx_key": cephx_key,
            "secret_uuid": secret_uuid,
        }
