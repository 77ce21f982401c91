"""How this host reaches a lab's nodes by its plan alone: at their management addresses, or,
where the plan knows the access node's public address up front (the emulated cloud fabric),
only through that address, as the user's machine reaches a cloud lab."""

from __future__ import annotations

from pathlib import Path

from stacklab.core.nodes import NodeAccess
from stacklab.plan.models import Plan

NODE_USER = "root"


def planned_access(plan: Plan, node: str, private_key: Path) -> NodeAccess:
    management = str(plan.node(node).management_address)
    public = plan.public_address
    if public is None:
        return NodeAccess(node, management, NODE_USER, 22, private_key)
    if node == plan.access_node:
        return NodeAccess(node, str(public), NODE_USER, 22, private_key)
    return NodeAccess(node, management, NODE_USER, 22, private_key, f"{NODE_USER}@{public}")
