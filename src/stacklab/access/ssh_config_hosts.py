"""Where a lab's nodes answer SSH, read back from the ssh_config that the access step writes.

The saved plan knows each node's management address only; a cloud provider reaches its
access node at a public address it learns while making the node (an Elastic IP on AWS). The
access step writes the address the provider returned into the lab's ssh_config, so it is
read back from there.
"""

from __future__ import annotations

from pathlib import Path

from stacklab.access.cloud_files import node_alias, ssh_config_path
from stacklab.core.nodes import NodeAccess
from stacklab.errors import StateError


def host_blocks(ssh_config: str) -> dict[str, dict[str, str]]:
    """alias -> {lowercased keyword: value} of each `Host` block (one alias per block, as
    `access.cloud_files` writes them)."""
    blocks: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in ssh_config.splitlines():
        words = line.strip().split(maxsplit=1)
        if not words or words[0].startswith("#"):
            continue
        keyword, value = words[0].lower(), (words[1] if len(words) > 1 else "")
        if keyword == "host":
            current = blocks.setdefault(value, {})
        elif current is not None:
            current[keyword] = value.strip('"')
    return blocks


def reported_access(node: str, alias: str, ssh_config: str) -> NodeAccess | None:
    """The node's access from alias's block; None when the file has no usable block."""
    blocks = host_blocks(ssh_config)
    block = blocks.get(alias, {})
    if "hostname" not in block or "identityfile" not in block:
        return None
    jump = block.get("proxyjump")
    if jump in blocks:  # an alias of the same file
        target = blocks[jump]
        jump = f"{target.get('user', 'root')}@{target.get('hostname', jump)}"
    return NodeAccess(
        name=node,
        host=block["hostname"],
        user=block.get("user", "root"),
        port=int(block.get("port", "22")),
        private_key=Path(block["identityfile"]),
        jump_host=jump,
    )


def written_access(lab: str, lab_directory: Path, node: str) -> NodeAccess:
    """Where the node answers SSH, as the access step of `up` wrote it."""
    config = ssh_config_path(lab_directory)
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    access = reported_access(node, node_alias(lab, node), text)
    if access is None:
        raise StateError(
            f"Lab {lab} has no SSH address of its node {node} yet ({config} lacks it).",
            fix="run `stacklab up`: its access step writes it",
        )
    return access
