"""Taking a local lab's resources away again, in the order that frees each one."""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from types import TracebackType

from stacklab.core.nodes import ProgressCallback
from stacklab.core.ssh import known_hosts_path
from stacklab.errors import ProviderError
from stacklab.providers.local.discovery import NSPAWN_RUNTIME, LabInventory, inventory
from stacklab.providers.local.fabric import FABRIC_FAMILY
from stacklab.providers.local.mounts import mounts_below, unmount_all_below
from stacklab.providers.local.naming import namespace_name
from stacklab.providers.local.network import delete_lab_table, delete_link, delete_namespace
from stacklab.providers.local.nodes import NODES_DIR, NodeProcesses, stop_nodes
from stacklab.runner import Runner
from stacklab.state.paths import lab_dir

# `down` deletes the nodes' disks anyway: a short orderly poweroff, then SIGKILL.
DESTROY_POWEROFF_S = 5.0


def node_processes(lab: str, nodes: set[str]) -> list[NodeProcesses]:
    return [
        NodeProcesses(namespace_name(lab, node), namespace_name(lab, node))
        for node in sorted(nodes)
    ]


def forget_nspawn_lock(root: Path) -> None:
    """nspawn locks the directory it boots in a file named after its device and inode; one
    killed with SIGKILL leaves that file behind. Call only when no nspawn runs on `root`."""
    try:
        info = root.stat()
    except OSError:
        return
    (NSPAWN_RUNTIME / "locks" / f"inode-{info.st_dev}:{info.st_ino}").unlink(missing_ok=True)


def unmount_root(runner: Runner, root: Path) -> None:
    forget_nspawn_lock(root)
    unmount_all_below(runner, root)


def remove_tree(directory: Path) -> None:
    """rmtree that counts an entry gone meanwhile as removed: a busy node root is unmounted
    lazily, and its last processes may still delete their own files while this walks."""

    def gone_already(function: object, path: str, error: BaseException) -> None:
        if not isinstance(error, FileNotFoundError):
            raise error

    def gone_already_info(
        function: object,
        path: str,
        info: tuple[type[BaseException], BaseException, TracebackType | None],
    ) -> None:
        gone_already(function, path, info[1])

    if sys.version_info >= (3, 12):
        shutil.rmtree(directory, onexc=gone_already)
    else:
        shutil.rmtree(directory, onerror=gone_already_info)


def tear_down(runner: Runner, found: LabInventory, progress: ProgressCallback) -> None:
    lab = found.lab
    if found.processes or found.namespaces:
        progress(f"stopping the nodes of {lab}")
        stop_nodes(runner, node_processes(lab, found.nodes), timeout=DESTROY_POWEROFF_S)
    for point in found.mounts:
        unmount_root(runner, point)
    for path in found.runtime_files:
        shutil.rmtree(path, ignore_errors=True)
    progress(f"removing the networks of {lab}")
    for veth in found.veths:
        delete_link(runner, veth)
    for namespace in found.namespaces:
        delete_namespace(runner, namespace)
    for bridge in found.bridges:
        delete_link(runner, bridge)
    if found.nft_table:
        delete_lab_table(runner, lab)
    if found.fabric_table:
        delete_lab_table(runner, lab, FABRIC_FAMILY)
    for directory in found.node_dirs:
        if mounts_below(directory):  # never delete through a mount into something else
            raise ProviderError(f"{directory} still has mounts; not deleting it.")
        remove_tree(directory)
    nodes_dir = lab_dir(lab) / NODES_DIR
    with contextlib.suppress(OSError):
        nodes_dir.rmdir()  # only when empty: nothing of anyone else's goes
    known_hosts_path(lab_dir(lab)).unlink(missing_ok=True)


def verify_gone(runner: Runner, lab: str) -> None:
    left = inventory(runner, lab)
    if not left.empty:
        raise ProviderError(
            f"Lab {lab} still has resources after removal: {_describe(left)}.",
            fix=f"run `stacklab down {lab}` again; if they stay, remove them by hand",
        )


def _describe(found: LabInventory) -> str:
    parts = [
        *found.bridges,
        *found.veths,
        *found.namespaces,
        *([found.nft_table] if found.nft_table else []),
        *([f"{FABRIC_FAMILY} {found.fabric_table}"] if found.fabric_table else []),
        *(str(point) for point in found.mounts),
        *(str(path) for path in found.node_dirs),
        *found.processes,
        *(f"processes of {node}" for node in found.orphans),
        *(str(path) for path in found.runtime_files),
    ]
    return ", ".join(parts)
