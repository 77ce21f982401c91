"""Names of a local lab's host resources: short, unique across labs, and traceable to the lab.

Linux limits interface names to 15 characters, so names carry as much of the lab as fits and
every link also carries an alias `stacklab:<lab>:<network>[:<node>]` that discovery reads.
Lab and node names are `[a-z][a-z0-9-]*`: `.`, `:` and `_` never occur in them, which makes
every name below reversible.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from stacklab.config.models import LAB_NAME_PATTERN, NODE_NAME_PATTERN, NetworkName

IFNAME_MAX = 15
ALIAS_PREFIX = "stacklab"
NAMESPACE_PREFIX = "stacklab."
NFT_TABLE_PREFIX = "stacklab_"
BRIDGE_PREFIX = "sl-"
VETH_PREFIX = "sv"
MARKER_FILE = "stacklab-lab"

NETWORK_CODES: dict[NetworkName, str] = {
    NetworkName.MANAGEMENT: "m",
    NetworkName.OVERLAY: "o",
    NetworkName.PROVIDER: "p",
    NetworkName.UPLINK: "u",
}

# The interface a node sees for each network, the same name on every node.
NODE_INTERFACES: dict[NetworkName, str] = {
    NetworkName.MANAGEMENT: "mgmt0",
    NetworkName.OVERLAY: "overlay0",
    NetworkName.PROVIDER: "provider0",
    NetworkName.UPLINK: "uplink0",
}

_LAB = re.compile(LAB_NAME_PATTERN)
_NODE = re.compile(NODE_NAME_PATTERN)


def _checked_lab(lab: str) -> str:
    if not _LAB.fullmatch(lab):
        raise ValueError(f"not a lab name: {lab!r}")
    return lab


def _checked_node(node: str) -> str:
    if not _NODE.fullmatch(node):
        raise ValueError(f"not a node name: {node!r}")
    return node


def bridge_name(lab: str, network: NetworkName) -> str:
    """`sl-<lab>-<code>`: at most 3 + 10 + 2 = 15 characters, and it names the lab."""
    return f"{BRIDGE_PREFIX}{_checked_lab(lab)}-{NETWORK_CODES[network]}"


def veth_name(lab: str, node: str, network: NetworkName) -> str:
    """Host end of a node's veth: `sv` + 40 bits of hash of lab and node + network code.

    Lab (10) and node (15) names do not fit in 15 characters; the alias carries them.
    """
    key = f"{_checked_lab(lab)}/{_checked_node(node)}".encode()
    digest = hashlib.blake2b(key, digest_size=5).hexdigest()
    return f"{VETH_PREFIX}{digest}{NETWORK_CODES[network]}"


def namespace_name(lab: str, node: str) -> str:
    """Network namespace and nspawn machine name of a node (no length limit applies)."""
    return f"{NAMESPACE_PREFIX}{_checked_lab(lab)}.{_checked_node(node)}"


def parse_namespace(name: str) -> tuple[str, str] | None:
    """(lab, node) of a name made by namespace_name, else None."""
    if not name.startswith(NAMESPACE_PREFIX):
        return None
    parts = name[len(NAMESPACE_PREFIX) :].split(".")
    if len(parts) != 2 or not _LAB.fullmatch(parts[0]) or not _NODE.fullmatch(parts[1]):
        return None
    return parts[0], parts[1]


def nft_table_name(lab: str) -> str:
    """nftables identifiers take no `-`; lab names take no `_`, so the swap is reversible."""
    return NFT_TABLE_PREFIX + _checked_lab(lab).replace("-", "_")


def lab_of_nft_table(name: str) -> str | None:
    if not name.startswith(NFT_TABLE_PREFIX):
        return None
    lab = name[len(NFT_TABLE_PREFIX) :].replace("_", "-")
    return lab if _LAB.fullmatch(lab) else None


def mount_source(lab: str, node: str) -> str:
    """The `source` of a node's overlay mount, as /proc/self/mountinfo shows it."""
    return f"{ALIAS_PREFIX}:{_checked_lab(lab)}:{_checked_node(node)}"


def parse_mount_source(source: str) -> tuple[str, str] | None:
    parts = source.split(":")
    if len(parts) != 3 or parts[0] != ALIAS_PREFIX:
        return None
    if not _LAB.fullmatch(parts[1]) or not _NODE.fullmatch(parts[2]):
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class LinkOwner:
    """Whose a host link is, read back from its alias."""

    lab: str
    network: NetworkName
    node: str | None = None  # None for a bridge, the node's name for a veth


def link_alias(lab: str, network: NetworkName, node: str | None = None) -> str:
    parts = [ALIAS_PREFIX, _checked_lab(lab), network.value]
    if node is not None:
        parts.append(_checked_node(node))
    return ":".join(parts)


def parse_link_alias(alias: str) -> LinkOwner | None:
    parts = alias.split(":")
    if len(parts) not in (3, 4) or parts[0] != ALIAS_PREFIX or not _LAB.fullmatch(parts[1]):
        return None
    try:
        network = NetworkName(parts[2])
    except ValueError:
        return None
    node = parts[3] if len(parts) == 4 else None
    if node is not None and not _NODE.fullmatch(node):
        return None
    return LinkOwner(parts[1], network, node)
