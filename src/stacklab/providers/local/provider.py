"""The local provider: a lab's nodes as systemd-nspawn machines on this host."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from functools import partial
from ipaddress import IPv4Address
from pathlib import Path

from stacklab.catalog.releases import codenames
from stacklab.config.models import LocalProvider as LocalSettings
from stacklab.config.models import NetworkName
from stacklab.core.context import LabContext
from stacklab.core.host_tools import HOST_TOOLS, missing_packages
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.core.ssh import known_hosts_path
from stacklab.errors import HostError, ProviderError
from stacklab.plan.models import Plan, PlannedNode
from stacklab.plan.reach import planned_access
from stacklab.providers.base import FoundResource
from stacklab.providers.local.apt_cache import debian_mirror, ensure_apt_cache, security_mirror
from stacklab.providers.local.discovery import as_resources, inventory
from stacklab.providers.local.fabric import (
    FABRIC_FAMILY,
    fabric_ports,
    public_edge,
    render_fabric_table,
)
from stacklab.providers.local.forward_policy import dropping_chains
from stacklab.providers.local.images import BaseImage, images_dir, node_layers
from stacklab.providers.local.ip_forwarding import ensure_ip_forwarding, restore_ip_forwarding
from stacklab.providers.local.layer_saving import NodeLayerSource, save_node_layer
from stacklab.providers.local.mounts import is_mounted
from stacklab.providers.local.naming import (
    ALIAS_PREFIX,
    bridge_name,
    mount_source,
    namespace_name,
    nft_table_name,
    veth_name,
)
from stacklab.providers.local.network import (
    conflicting_routes,
    default_uplink,
    delete_link,
    delete_namespace,
    ensure_bridge,
    ensure_lab_table,
    ensure_node_links,
    ensure_table,
    host_links,
)
from stacklab.providers.local.node_files import AptSettings, apt_proxy_url, known_hosts_lines
from stacklab.providers.local.node_files import node_files as render_node_files
from stacklab.providers.local.nodes import (
    NodeDirs,
    NodeMarker,
    NodeProcesses,
    host_key_path,
    host_public_key,
    leaders,
    mount_root,
    node_dirs,
    nspawn_command,
    read_marker,
    start_nspawn,
    stop_nodes,
    write_marker,
    write_node_files,
)
from stacklab.providers.local.package_layers import is_package_layer, layers_for
from stacklab.providers.local.processes import nspawn_directory
from stacklab.providers.local.snapshots import (
    SPEC_COPY,
    read_manifest,
    restore_lab_files,
    save_snapshot,
    seed_node,
    snapshot_dir,
)
from stacklab.providers.local.ssh import SSH_TIMEOUT_S, wait_for_ssh
from stacklab.providers.local.teardown import (
    forget_nspawn_lock,
    node_processes,
    tear_down,
    unmount_root,
    verify_gone,
)
from stacklab.runner import LocalRunner, Runner
from stacklab.state.db import StateDB
from stacklab.state.paths import lab_dir

KIND = "local"
STOP_TIMEOUT_S = 60.0


class LocalProvider:
    """Implements the Provider contract and the StopStart, Snapshots and PackageLayers
    capabilities."""

    kind = KIND

    def __init__(
        self,
        settings: LocalSettings | None = None,
        *,
        runner: Runner | None = None,
        ssh_timeout: float = SSH_TIMEOUT_S,
        from_snapshot: str | None = None,
    ):
        self.settings = settings or LocalSettings()
        self.runner: Runner = runner or LocalRunner()
        self.ssh_timeout = ssh_timeout
        self.from_snapshot = from_snapshot

    @property
    def _mirror(self) -> str | None:
        return str(self.settings.mirror) if self.settings.mirror else None

    @classmethod
    def from_settings(
        cls, settings: LocalSettings, *, from_snapshot: str | None = None
    ) -> LocalProvider:
        return cls(settings, from_snapshot=from_snapshot)

    # check

    def check(self, plan: Plan) -> None:
        if plan.provider != KIND:
            raise ProviderError(f"The local provider cannot run a {plan.provider} plan.")
        if os.geteuid() != 0:
            raise HostError(
                "The local provider needs root: it makes bridges, namespaces and mounts.",
                fix="run stacklab as root (sudo)",
            )
        missing = missing_packages(tuple(tool for tool in HOST_TOOLS if tool.local_nodes))
        if missing:
            raise HostError(
                f"Programs the local provider runs are missing (packages {', '.join(missing)}).",
                fix=f"apt-get install {' '.join(missing)}",
            )
        if "overlay" not in Path("/proc/filesystems").read_text(encoding="ascii"):
            raise HostError("This kernel offers no overlayfs.", fix="modprobe overlay")
        if plan.release not in codenames():
            raise ProviderError(
                f"The local provider has no image for Debian {plan.release}.",
                fix=f"use an os whose release is one of: {', '.join(codenames())}",
            )
        debian_mirror(self._mirror)
        if default_uplink(self.runner) is None:
            raise HostError(
                "This host has no default route: lab nodes would have no way out.",
                fix="configure a default route (check `ip route`)",
            )
        if plan.public_address is not None and any(p.source is None for p in plan.open_ports):
            raise ProviderError(
                f"The emulated {plan.fabric} fabric opens the access node's public address "
                f"{plan.public_address} only to access.admin_cidr, which is not set.",
                fix="set access.admin_cidr to this host's address/32 (the host plays your "
                "machine): `ip -4 route get 198.18.0.1` shows it as src",
            )
        if self.from_snapshot is not None:
            self._check_snapshot_fits(plan, self.from_snapshot)
        directory = lab_dir(plan.lab)
        for node in plan.nodes:
            running = leaders(namespace_name(plan.lab, node.name))
            _refuse_foreign_node(plan.lab, node.name, running, node_dirs(directory, node.name).root)
        own = {bridge_name(plan.lab, network.name) for network in plan.provisioned_networks}
        self._check_forwarding(plan.lab, sorted(own))
        cidrs = [network.cidr for network in plan.networks]
        conflicts = conflicting_routes(self.runner, cidrs, own)
        if conflicts:
            listed = ", ".join(f"{dst} on {dev}" for dst, dev in conflicts)
            raise HostError(
                f"The networks of lab {plan.lab} ({', '.join(map(str, cidrs))}) overlap routes "
                f"this host already has: {listed}.",
                fix="set networks.<name>.cidr in the spec to ranges this host does not use, "
                "or rename the lab (default ranges follow from its name)",
            )

    # create

    def _check_forwarding(self, lab: str, bridges: list[str]) -> None:
        ruleset = self.runner.run(["nft", "-j", "list", "ruleset"], check=False).stdout
        blockers = dropping_chains(ruleset, bridges)
        if blockers:
            first = blockers[0]
            raise HostError(
                f"This host drops forwarded traffic by default (nft table {first.family} "
                f"{first.table}, chain {first.chain}, policy drop; Docker sets it): the nodes "
                f"of lab {lab} would reach neither each other across its networks nor the way "
                "out, and a lab's own table cannot accept around a drop.",
                fix=f"accept the labs' bridges there, once for all labs: {first.fix()}; "
                "each lab's own nft table still keeps labs apart. Then `stacklab up` again",
            )

    def create_networks(self, plan: Plan, context: LabContext) -> None:
        for network in plan.provisioned_networks:
            if ensure_bridge(self.runner, plan.lab, network):
                name = bridge_name(plan.lab, network.name)
                context.progress(f"bridge {name} for the {network.name} network ({network.cidr})")
                context.record(KIND, "bridge", name, network=network.name.value)
        uplink = default_uplink(self.runner)
        if uplink is None:
            raise HostError("This host has no default route.", fix="check `ip route`")
        cidrs = [network.cidr for network in plan.provisioned_networks]
        bridges = [bridge_name(plan.lab, network.name) for network in plan.provisioned_networks]
        edge = public_edge(plan)
        table = nft_table_name(plan.lab)
        if ensure_lab_table(
            self.runner, plan.lab, cidrs, bridges, uplink, edge, plan.networks_routed
        ):
            if edge is None:
                context.progress(
                    f"nftables table {table}: NAT out of {uplink}, other labs fenced off"
                )
            else:
                context.progress(
                    f"nftables table {table}: the {plan.fabric} fabric's internet gateway, "
                    f"{edge.public} NATed to {plan.access_node} ({edge.private})"
                )
            context.record(KIND, "nft-table", table, uplink=uplink)
        if plan.fabric is not None:
            ports = fabric_ports(plan)
            fabric = render_fabric_table(plan.lab, ports)
            if ensure_table(self.runner, FABRIC_FAMILY, plan.lab, fabric):
                unchecked = sorted({port.node for port in ports if not port.source_dest_check})
                context.progress(
                    f"nftables table {FABRIC_FAMILY} {table}: the {plan.fabric} fabric's "
                    "source/destination check on every node interface, off on "
                    f"{', '.join(unchecked) or 'none'}"
                )
                context.record(KIND, "nft-table", table, family=FABRIC_FAMILY)
        # After the bridges exist: a lab going away meanwhile then sees this one and leaves
        # forwarding on.
        if ensure_ip_forwarding():
            context.progress("IPv4 forwarding turned on (off again when the last lab goes)")

    def create_nodes(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]:
        mirror = debian_mirror(self._mirror)
        proxy, build_proxy = None, None
        if self.settings.apt_cache:
            ensure_apt_cache(self.runner, mirror, context.progress)
            proxy = apt_proxy_url(plan.network(NetworkName.MANAGEMENT).gateway)
            build_proxy = apt_proxy_url(IPv4Address("127.0.0.1"))
        apt = AptSettings(mirror, security_mirror(), proxy)
        base = node_layers(self.runner, plan.release, mirror, build_proxy, context.progress)
        booting = [
            node
            for node in plan.nodes
            if self._ensure_node(plan, node, context, layers_for(plan, node, base), apt)
        ]
        known_hosts = known_hosts_path(context.directory)
        roots = {node.name: node_dirs(context.directory, node.name).root for node in plan.nodes}
        known_hosts.write_text(
            "".join(
                known_hosts_lines(n, host_public_key(roots[n.name]), _public_names(plan, n))
                for n in plan.nodes
            ),
            encoding="utf-8",
        )
        accesses = tuple(
            planned_access(plan, node.name, context.ssh_private_key) for node in plan.nodes
        )
        if booting:
            context.progress(f"waiting for SSH on {', '.join(node.name for node in booting)}")
        for node, access in zip(plan.nodes, accesses, strict=True):
            wait_for_ssh(
                self.runner,
                access,
                known_hosts,
                still_running=partial(_runs, namespace_name(plan.lab, node.name)),
                log=node_dirs(context.directory, node.name).log,
                timeout=self.ssh_timeout,
            )
        return accesses

    def _ensure_node(
        self,
        plan: Plan,
        node: PlannedNode,
        context: LabContext,
        layers: tuple[Path, ...],
        apt: AptSettings,
    ) -> bool:
        """Boot the node unless it runs; True if it was started now."""
        machine = namespace_name(plan.lab, node.name)
        dirs = node_dirs(context.directory, node.name)
        running = leaders(machine)
        if running:
            _refuse_foreign_node(plan.lab, node.name, running, dirs.root)
            if is_mounted(dirs.root) and host_key_path(dirs.root).is_file():
                return False
            # It runs on its own mount of a root that is no longer mounted here (unmounted
            # by hand): power-cycle it onto the root this lab writes to.
            context.progress(f"node {node.name}: its root is not mounted here; restarting it")
        # Not running (never started, stopped, or its nspawn died): whatever it left behind
        # goes, and it boots as after a power cycle, on fresh links.
        stop_nodes(self.runner, [NodeProcesses(machine, machine)], timeout=0, graceful=False)
        self._reset_links(plan.lab, node, machine)
        for created in ensure_node_links(self.runner, plan.lab, node, machine):
            kind = "netns" if created == machine else "veth"
            context.record(KIND, kind, created, node=node.name)
        if self.from_snapshot and seed_node(
            self.runner, plan.lab, self.from_snapshot, node.name, dirs
        ):
            context.progress(f"node {node.name}: disk from snapshot {self.from_snapshot}")
        layers = self._layers_of(dirs, layers, context.progress)
        if any(is_package_layer(layer) for layer in layers):
            context.progress(
                f"node {node.name}: its packages from the cached layer {layers[0].name}"
            )
        write_marker(dirs, NodeMarker(plan.lab, node.name, tuple(map(str, layers))))
        context.record(KIND, "directory", str(dirs.path), node=node.name)
        if mount_root(self.runner, dirs, mount_source(plan.lab, node.name), layers):
            context.record(KIND, "mount", str(dirs.root), node=node.name)
        else:
            forget_nspawn_lock(dirs.root)  # a killed nspawn's, on the root that stays mounted
        write_node_files(
            self.runner, dirs.root, render_node_files(plan, node, apt, context.ssh_public_key)
        )
        command = nspawn_command(dirs, machine, machine, node.name)
        pid = start_nspawn(self.runner, dirs, command)
        context.progress(f"node {node.name} booting (log: {dirs.log})")
        context.record(KIND, "node", node.name, machine=machine, pid=pid)
        return True

    def _layers_of(
        self, dirs: NodeDirs, current: tuple[Path, ...], progress: ProgressCallback
    ) -> tuple[Path, ...]:
        """An existing node keeps the layers its upper dir was made on, while they exist."""
        marker = read_marker(dirs)
        if marker is None or not marker.layers:
            return current
        kept = tuple(Path(layer) for layer in marker.layers)
        if all(layer.is_dir() for layer in kept):
            return kept
        gone = [layer for layer in kept if is_package_layer(layer) and not layer.is_dir()]
        if gone:
            # Its upper dir holds only what came after those packages: without them the
            # node would be broken, not older.
            raise ProviderError(
                f"Node {dirs.path.name} was made on the package layer {gone[0]}, which is "
                "gone from the cache.",
                fix=f"make the lab anew: `stacklab down {marker.lab}`, then `stacklab up`",
            )
        progress(f"{dirs.path.name}: its image layers are gone from the cache; using the current")
        return current

    def _reset_links(self, lab: str, node: PlannedNode, namespace: str) -> None:
        links = host_links(self.runner)
        for nic in node.nics:
            name = veth_name(lab, node.name, nic.network)
            if name in links:
                delete_link(self.runner, name)
        delete_namespace(self.runner, namespace)

    # snapshots

    def _check_snapshot_fits(self, plan: Plan, name: str) -> None:
        manifest = read_manifest(plan.lab, name)
        if manifest.plan != plan.to_dict():
            raise ProviderError(
                f"The spec no longer plans the lab that snapshot {name!r} holds (nodes, "
                "addresses or settings differ), so its configured services would not fit.",
                fix=f"use the spec saved with it: stacklab up -f "
                f"{snapshot_dir(plan.lab, name) / SPEC_COPY} --from {name}",
            )

    def snapshot(
        self, lab: str, progress: ProgressCallback, name: str | None = None
    ) -> dict[str, str]:
        """Stop the lab's nodes (a consistent disk), save them; the caller starts them again."""
        with StateDB() as db:
            record = db.lab(lab)
        if record is None:
            raise ProviderError(f"No lab named {lab} is known here.", fix="`stacklab list`")
        name = name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.stop(lab, progress)
        directory = lab_dir(lab)
        planned = Plan.from_dict(record.plan).nodes
        nodes = {node.name: node_dirs(directory, node.name) for node in planned}
        target = save_snapshot(self.runner, lab, name, directory, nodes, record.plan, progress)
        if record.spec_path and Path(record.spec_path).exists():
            shutil.copy2(record.spec_path, target / SPEC_COPY)
        return {node: str(target / node) for node in nodes}

    # PackageLayers

    def save_package_layers(self, plan: Plan, context: LabContext) -> list[str]:
        if self.from_snapshot is not None:
            return []  # its nodes hold a configured cloud, not bare packages
        base = images_dir() / BaseImage(plan.release).name
        saved = []
        for node in plan.nodes:
            source = NodeLayerSource(plan.lab, node, node_dirs(context.directory, node.name))
            layer = save_node_layer(self.runner, plan, source, base, context.progress)
            if layer is not None:
                saved.append(layer.name)
        return saved

    def restore_lab_files(self, lab: str, directory: Path) -> None:
        if self.from_snapshot is not None:
            restore_lab_files(self.runner, lab, self.from_snapshot, directory)

    # find, remove

    def discover(self, lab: str) -> list[FoundResource]:
        return as_resources(inventory(self.runner, lab))

    def destroy(self, lab: str, progress: ProgressCallback) -> list[FoundResource]:
        found = inventory(self.runner, lab)
        removed = as_resources(found)
        tear_down(self.runner, found, progress)
        verify_gone(self.runner, lab)
        if restore_ip_forwarding(self._labs_left) == "0":
            progress("IPv4 forwarding off again, as it was before the first lab")
        return removed

    def _labs_left(self) -> bool:
        prefix = f"{ALIAS_PREFIX}:"
        return any(
            (link.alias or "").startswith(prefix) for link in host_links(self.runner).values()
        )

    # StopStart

    def stop(self, lab: str, progress: ProgressCallback) -> None:
        found = inventory(self.runner, lab)
        progress(f"powering off the nodes of {lab}")
        stop_nodes(self.runner, node_processes(lab, found.nodes), timeout=STOP_TIMEOUT_S)
        for point in found.mounts:
            unmount_root(self.runner, point)

    def start(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]:
        self.create_networks(plan, context)
        return self.create_nodes(plan, context)


def _refuse_foreign_node(lab: str, node: str, pids: list[int], root: Path) -> None:
    """Machine names are host-wide but lab directories are per state directory: a node of
    the same lab name booted from another XDG_STATE_HOME is not this lab's to reuse (its
    root here was never made: reading its host key failed with a bare FileNotFoundError).
    Paths are compared resolved: a state directory reached through a symlink is the same."""
    for pid in pids:
        booted = nspawn_directory(pid)
        if booted is not None and booted.resolve() != root.resolve():
            raise HostError(
                f"Node {node} of lab {lab} already runs on this host (systemd-nspawn pid {pid}) "
                f"from {booted}, not from this lab's {root}: a lab of the same name was made "
                "with another state directory (XDG_STATE_HOME or user).",
                fix=f"run stacklab with that state directory (it is the one above "
                f"`stacklab/labs/{lab}`), or `stacklab down {lab}` there first, or give this "
                "lab another name",
            )


def _runs(machine: str) -> bool:
    return bool(leaders(machine))


def _public_names(plan: Plan, node: PlannedNode) -> tuple[str, ...]:
    """The access node's public address, where this host reaches it there."""
    if plan.public_address is None or node.name != plan.access_node:
        return ()
    return (str(plan.public_address),)
