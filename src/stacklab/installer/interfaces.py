"""Find a node's interface for a lab network from its planned address, in Ansible facts.

Used by the playbook's filter plugin. Once Neutron's linuxbridge agent has made a bridge
for a network, the address sits on that bridge (`brq…`): the interface is then the
bridge's physical member, which is what Neutron's mappings must name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_VIRTUAL_PREFIXES = ("tap", "vxlan-", "veth", "brq")


def _addresses(device: Mapping[str, Any]) -> set[str]:
    found = set()
    primary = device.get("ipv4")
    if isinstance(primary, Mapping) and primary.get("address"):
        found.add(str(primary["address"]))
    for secondary in device.get("ipv4_secondaries") or []:
        if isinstance(secondary, Mapping) and secondary.get("address"):
            found.add(str(secondary["address"]))
    return found


def _devices(facts: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    devices = {}
    for name in facts.get("interfaces") or []:
        device = facts.get(str(name).replace("-", "_")) or facts.get(str(name))
        if isinstance(device, Mapping):
            devices[str(device.get("device", name))] = device
    return devices


def interface_for_address(facts: Mapping[str, Any], address: str) -> str:
    """The name of the interface (or a bridge's physical member) holding `address`."""
    devices = _devices(facts)
    for name, device in sorted(devices.items()):
        if address not in _addresses(device):
            continue
        if device.get("type") != "bridge":
            return name
        members = [
            member
            for member in device.get("interfaces") or []
            if not str(member).startswith(_VIRTUAL_PREFIXES)
        ]
        if len(members) == 1:
            return str(members[0])
        raise ValueError(
            f"address {address} is on bridge {name}, whose physical member is unclear: "
            f"{', '.join(map(str, members)) or 'none'}"
        )
    raise ValueError(
        f"no interface has the address {address} (interfaces: {', '.join(sorted(devices))})"
    )
