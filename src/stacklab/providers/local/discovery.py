"""What of a local lab exists, found from the host itself: no state database needed.

Links by their alias, namespaces and nspawn machines by name, the nft table by name, overlay
mounts by their source, node directories by their marker file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stacklab.providers.base import FoundResource
from stacklab.providers.local.fabric import FABRIC_FAMILY
from stacklab.providers.local.mounts import current_mounts
from stacklab.providers.local.naming import (
    LinkOwner,
    namespace_name,
    nft_table_name,
    parse_link_alias,
    parse_mount_source,
    parse_namespace,
)
from stacklab.providers.local.network import host_links, namespace_pids, namespaces, nft_tables
from stacklab.providers.local.nodes import NODES_DIR, NodeDirs, read_marker
from stacklab.providers.local.processes import nspawn_directory, nspawn_machines
from stacklab.runner import Runner
from stacklab.state.paths import lab_dir

NSPAWN_RUNTIME = Path("/run/systemd/nspawn")


@dataclass
class LabInventory:
    lab: str
    bridges: list[str] = field(default_factory=list)
    link_owners: dict[str, LinkOwner] = field(default_factory=dict)  # link name -> its alias
    veths: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    nft_table: str | None = None
    fabric_table: str | None = None  # the emulated cloud fabric's (bridge family)
    mounts: list[Path] = field(default_factory=list)
    node_dirs: list[Path] = field(default_factory=list)
    processes: dict[str, list[int]] = field(default_factory=dict)  # machine -> nspawn PIDs
    orphans: dict[str, list[int]] = field(default_factory=dict)  # node -> PIDs without nspawn
    nodes: set[str] = field(default_factory=set)
    runtime_files: list[Path] = field(default_factory=list)  # what nspawn left under /run

    @property
    def empty(self) -> bool:
        return not (
            self.bridges
            or self.veths
            or self.namespaces
            or self.nft_table
            or self.fabric_table
            or self.mounts
            or self.node_dirs
            or self.processes
            or self.orphans
            or self.runtime_files
        )


def inventory(runner: Runner, lab: str) -> LabInventory:
    found = LabInventory(lab)
    for link in host_links(runner).values():
        owner = parse_link_alias(link.alias or "")
        if owner is None or owner.lab != lab:
            continue
        found.link_owners[link.name] = owner
        if owner.node is None:
            found.bridges.append(link.name)
        else:
            found.veths.append(link.name)
            found.nodes.add(owner.node)
    for name in namespaces():
        parsed = parse_namespace(name)
        if parsed and parsed[0] == lab:
            found.namespaces.append(name)
            found.nodes.add(parsed[1])
    table = nft_table_name(lab)
    found.nft_table = table if table in nft_tables(runner) else None
    found.fabric_table = table if table in nft_tables(runner, FABRIC_FAMILY) else None

    directories: set[Path] = set()
    for mount in current_mounts():
        owner_node = parse_mount_source(mount.source)
        if owner_node and owner_node[0] == lab:
            found.mounts.append(mount.point)
            found.nodes.add(owner_node[1])
            directories.add(mount.point.parent.resolve())
    for machine, pids in nspawn_machines().items():
        parsed = parse_namespace(machine)
        if parsed and parsed[0] == lab:
            found.processes[machine] = pids
            found.nodes.add(parsed[1])
            root = nspawn_directory(pids[0])
            if root is not None:
                directories.add(root.parent.resolve())
    nodes_dir = lab_dir(lab) / NODES_DIR
    if nodes_dir.is_dir():
        # resolved, so a node directory reached through a symlinked state directory is one
        directories.update(path.resolve() for path in nodes_dir.iterdir() if path.is_dir())
    for directory in sorted(directories):
        marker = read_marker(NodeDirs(directory))
        if marker is not None and marker.lab == lab:  # only directories that say they are ours
            found.node_dirs.append(directory)
            found.nodes.add(marker.node)
    for node in sorted(found.nodes):
        machine = namespace_name(lab, node)
        if machine in found.namespaces and machine not in found.processes:
            inside = namespace_pids(runner, machine)
            if inside:  # its nspawn died and left the node's systemd running
                found.orphans[node] = inside
        leftover = NSPAWN_RUNTIME / "propagate" / namespace_name(lab, node)
        if leftover.exists():
            found.runtime_files.append(leftover)
    return found


def as_resources(found: LabInventory) -> list[FoundResource]:
    """The inventory as the contract's FoundResource list, nodes first."""
    resources = []
    for node in sorted(found.nodes):
        machine = namespace_name(found.lab, node)
        pids = found.processes.get(machine, [])
        orphans = found.orphans.get(node, [])
        state = "running" if pids else "orphaned" if orphans else "stopped"
        resources.append(FoundResource("node", node, state, {"pids": pids or orphans}))
    for kind, names in (("bridge", found.bridges), ("veth", found.veths)):
        for name in sorted(names):
            owner = found.link_owners[name]
            details = {"network": owner.network.value}
            if owner.node is not None:
                details["node"] = owner.node
            resources.append(FoundResource(kind, name, details=details))
    resources += [FoundResource("netns", name) for name in sorted(found.namespaces)]
    if found.nft_table:
        resources.append(FoundResource("nft-table", found.nft_table))
    if found.fabric_table:
        resources.append(
            FoundResource("nft-table", found.fabric_table, details={"family": FABRIC_FAMILY})
        )
    resources += [FoundResource("mount", str(point)) for point in sorted(found.mounts)]
    resources += [FoundResource("directory", str(path)) for path in sorted(found.node_dirs)]
    resources += [FoundResource("runtime", str(path)) for path in found.runtime_files]
    return resources
