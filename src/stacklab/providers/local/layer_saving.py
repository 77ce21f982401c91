"""Which nodes of a local lab give a package layer after the packages phase, and saving it.

A node gives one only while its upper dir holds exactly "the packages over the base": made
on the bare base (not over another layer, not from a snapshot), its key not cached yet, and
no service with data on disk running. The packages phase starts no service (apt runs under
policy-rc.d 101), so a running database or queue means the node was configured since, and
copying its data while it writes would not be consistent either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacklab.core.nodes import ProgressCallback
from stacklab.errors import StacklabError
from stacklab.plan.models import Plan, PlannedNode
from stacklab.plan.packages import node_packages
from stacklab.providers.local.naming import namespace_name
from stacklab.providers.local.network import namespace_pids
from stacklab.providers.local.nodes import NodeDirs, read_marker
from stacklab.providers.local.package_layers import cached_layer, layer_key, save_layer
from stacklab.runner import Runner

# Programs (as /proc/PID/comm names them) that keep data on the node's disk while they run.
STATEFUL_PROGRAMS = frozenset({"mariadbd", "mysqld", "beam.smp"})


@dataclass(frozen=True)
class NodeLayerSource:
    lab: str
    node: PlannedNode
    dirs: NodeDirs


def running_programs(pids: list[int]) -> set[str]:
    names = set()
    for pid in pids:
        try:
            names.add(Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip())
        except OSError:
            continue  # ended meanwhile
    return names


def why_not(
    source: NodeLayerSource, base: Path, programs: set[str], layer_cached: bool
) -> str | None:
    """Why this node gives no layer now, or None if it should."""
    marker = read_marker(source.dirs)
    if marker is None or marker.layers != (str(base),):
        return "it was not made on the bare base image"
    if layer_cached:
        return "its layer is cached already"
    running = sorted(programs & STATEFUL_PROGRAMS)
    if running:
        return f"{', '.join(running)} runs in it (the node is configured)"
    return None


def save_node_layer(
    runner: Runner, plan: Plan, source: NodeLayerSource, base: Path, progress: ProgressCallback
) -> Path | None:
    """Save the node's packages as a layer if it should give one; never fails the lab: a
    layer that cannot be saved costs the next lab its downloads, nothing more."""
    key = layer_key(base, plan.release, node_packages(plan, source.node))
    pids = namespace_pids(runner, namespace_name(source.lab, source.node.name))
    if why_not(source, base, running_programs(pids), cached_layer(key) is not None):
        return None
    where = f"{source.lab}/{source.node.name}"
    try:
        saved = save_layer(runner, key, source.dirs.upper, where, progress)
    except (StacklabError, OSError) as error:
        message = error.render() if isinstance(error, StacklabError) else str(error)
        progress(f"no package layer saved from {source.node.name} ({message.splitlines()[0]})")
        return None
    if saved is None:
        return None
    progress(f"package layer {saved.path.name}: {saved.mebibytes} MiB in {saved.seconds:.0f} s")
    return saved.path
