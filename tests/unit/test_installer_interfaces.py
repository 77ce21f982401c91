"""Finding a lab network's interface in a node's Ansible facts by its planned address."""

from __future__ import annotations

from typing import Any

import pytest

from stacklab.installer.agents import missing_agents
from stacklab.installer.interfaces import interface_for_address


def device(name: str, address: str | None, **more: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"device": name, "type": "ether", **more}
    if address:
        facts["ipv4"] = {"address": address}
    return facts


def facts(*devices: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"interfaces": [d["device"] for d in devices]}
    found.update({d["device"].replace("-", "_"): d for d in devices})
    return found


def test_the_interface_holding_the_address() -> None:
    node = facts(device("mgmt0", "10.1.0.10"), device("provider0", "10.1.2.10"))
    assert interface_for_address(node, "10.1.2.10") == "provider0"


def test_a_secondary_address_counts() -> None:
    node = facts(device("mgmt0", "10.1.0.10", ipv4_secondaries=[{"address": "10.1.0.9"}]))
    assert interface_for_address(node, "10.1.0.9") == "mgmt0"


def test_a_neutron_bridge_gives_its_physical_member() -> None:
    bridge = device("brq1234-ab", "10.1.2.10", type="bridge", interfaces=["tap99", "provider0"])
    node = facts(bridge, device("provider0", None), device("tap99", None))
    assert interface_for_address(node, "10.1.2.10") == "provider0"


def test_no_interface_with_the_address_names_what_exists() -> None:
    with pytest.raises(ValueError, match="mgmt0"):
        interface_for_address(facts(device("mgmt0", "10.1.0.10")), "10.9.9.9")


def test_missing_agents_lists_what_is_not_alive() -> None:
    rows = [
        {"Host": "aio", "Agent Type": "L3 agent", "Alive": True},
        {"Host": "aio", "Agent Type": "DHCP agent", "Alive": False},
        {"Host": "aio", "Agent Type": "Metadata agent", "Alive": ":-)"},
    ]
    expected = ["aio/L3 agent", "aio/DHCP agent", "aio/Metadata agent", "aio/Linux bridge agent"]
    assert missing_agents(rows, expected) == ["aio/DHCP agent", "aio/Linux bridge agent"]
