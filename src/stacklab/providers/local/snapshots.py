"""Golden snapshots of a local lab: every node's upper layer plus the lab files that go with
it (SSH key, generated passwords, host keys), so `up --from NAME` brings back the same
configured cloud at the same addresses. Kept under the state dir: they hold secrets."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stacklab.core.nodes import ProgressCallback
from stacklab.errors import ProviderError
from stacklab.providers.local.nodes import NodeDirs
from stacklab.runner import Runner
from stacklab.state.paths import ensure_private_dir, state_dir

MANIFEST = "snapshot.json"
SPEC_COPY = "stacklab.yaml"
# What of the lab directory a restored lab needs: the key its nodes trust, the passwords its
# services were configured with, and the host keys its nodes have.
LAB_FILES = ("ssh", "secrets.json", "known_hosts")


@dataclass(frozen=True)
class SnapshotManifest:
    lab: str
    name: str
    created_at: str
    nodes: tuple[str, ...]
    plan: dict[str, Any]


def snapshots_dir(lab: str) -> Path:
    return state_dir() / "snapshots" / lab


def snapshot_dir(lab: str, name: str) -> Path:
    return snapshots_dir(lab) / name


def read_manifest(lab: str, name: str) -> SnapshotManifest:
    path = snapshot_dir(lab, name) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        known = sorted(p.name for p in snapshots_dir(lab).glob("*") if (p / MANIFEST).exists())
        raise ProviderError(
            f"Lab {lab} has no snapshot named {name!r}.",
            fix=f"use one of: {', '.join(known)}" if known else "make one: `stacklab snapshot`",
        ) from error
    return SnapshotManifest(
        lab=data["lab"],
        name=data["name"],
        created_at=data["created_at"],
        nodes=tuple(data["nodes"]),
        plan=data["plan"],
    )


def save_snapshot(
    runner: Runner,
    lab: str,
    name: str,
    lab_directory: Path,
    node_dirs: dict[str, NodeDirs],
    plan: dict[str, Any],
    progress: ProgressCallback,
) -> Path:
    """Copy the (stopped) nodes' upper layers and the lab files; atomic: a snapshot that is
    there is whole."""
    target = snapshot_dir(lab, name)
    if target.exists():
        raise ProviderError(
            f"Lab {lab} already has a snapshot named {name!r}.",
            fix=f"choose another name, or remove {target}",
        )
    partial = target.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    ensure_private_dir(partial)
    for node, dirs in node_dirs.items():
        progress(f"saving node {node}")
        (partial / node).mkdir()
        # --reflink shares blocks where the file system can; cp -a keeps owners, modes, xattrs
        # and device nodes of the overlay's upper dir (whiteouts are character devices).
        runner.run(["cp", "-a", "--reflink=auto", str(dirs.upper), str(partial / node / "upper")])
        shutil.copy2(dirs.marker, partial / node / dirs.marker.name)
    for name_in_lab in LAB_FILES:
        source = lab_directory / name_in_lab
        if source.exists():
            runner.run(["cp", "-a", str(source), str(partial / name_in_lab)])
    manifest = {
        "lab": lab,
        "name": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "nodes": sorted(node_dirs),
        "plan": plan,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    partial.rename(target)
    return target


def restore_lab_files(runner: Runner, lab: str, name: str, lab_directory: Path) -> None:
    """Bring back the key, passwords and host keys, before anything new is generated."""
    source = snapshot_dir(lab, name)
    read_manifest(lab, name)
    ensure_private_dir(lab_directory)
    for name_in_lab in LAB_FILES:
        if (source / name_in_lab).exists() and not (lab_directory / name_in_lab).exists():
            runner.run(["cp", "-a", str(source / name_in_lab), str(lab_directory / name_in_lab)])


def seed_node(runner: Runner, lab: str, name: str, node: str, dirs: NodeDirs) -> bool:
    """Give a node that has no disk yet the snapshot's; True if it was seeded now."""
    source = snapshot_dir(lab, name) / node
    if dirs.upper.exists():
        return False
    if not source.is_dir():
        raise ProviderError(
            f"Snapshot {name!r} of lab {lab} has no node {node}.",
            fix="start from a snapshot of the same topology, or `up` without --from",
        )
    dirs.path.mkdir(parents=True, exist_ok=True)
    runner.run(["cp", "-a", "--reflink=auto", str(source / "upper"), str(dirs.upper)])
    shutil.copy2(source / dirs.marker.name, dirs.marker)
    return True
