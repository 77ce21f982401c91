"""The provider contract: small on purpose (after kind's provider interface).

A provider checks that it can run a plan, creates the plan's networks and
nodes, and finds and deletes what belongs to a lab from the infrastructure
itself (names, tags, marker files), so `status` and `down` work without state.
Optional abilities are separate protocols, checked up front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.plan.models import Plan


@dataclass(frozen=True)
class FoundResource:
    """Something of a lab that exists in the infrastructure right now."""

    kind: str
    ident: str
    state: str = "present"
    details: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    kind: str

    def check(self, plan: Plan) -> None:
        """Raise HostError (or ProviderError) if the plan cannot run here. Creates nothing."""

    def create_networks(self, plan: Plan, context: LabContext) -> None:
        """Make the plan's networks exist (the `networks` step). Idempotent."""

    def create_nodes(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]:
        """Make the plan's nodes exist, run and answer SSH (the `nodes` step). Idempotent:
        a node that exists and runs is left alone, one that died is started again."""

    def discover(self, lab: str) -> list[FoundResource]:
        """What of this lab exists, found from the infrastructure itself."""

    def destroy(self, lab: str, progress: ProgressCallback) -> list[FoundResource]:
        """Delete everything `discover` finds; return what was deleted. Idempotent."""


@runtime_checkable
class StopStart(Protocol):
    def stop(self, lab: str, progress: ProgressCallback) -> None: ...

    def start(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]: ...


@runtime_checkable
class Snapshots(Protocol):
    """Golden images of a configured lab, to start identical labs from (`up --from`)."""

    def snapshot(
        self, lab: str, progress: ProgressCallback, name: str | None = None
    ) -> dict[str, str]: ...


@runtime_checkable
class PackageLayers(Protocol):
    """Cached image layers with a node's packages installed but not configured: saved after
    the first lab's packages phase, under the next labs' nodes, whose packages phase then
    downloads and installs nothing. Node creation uses them by itself."""

    def save_package_layers(self, plan: Plan, context: LabContext) -> list[str]:
        """Save a layer from each node whose packages have none cached yet; the names saved.
        Call right after the packages phase, before anything configures the nodes."""
        ...


@runtime_checkable
class PlannedDeletions(Protocol):
    """What `down` would delete, in order, deleting nothing (`down --dry-run`)."""

    def planned_deletions(self, lab: str) -> list[FoundResource]: ...


@dataclass(frozen=True)
class RunningCost:
    usd_so_far: float
    usd_per_hour: float
    since: datetime | None
    unpriced_types: tuple[str, ...]
    note: str


@runtime_checkable
class CostSoFar(Protocol):
    """What a lab on a paid provider has cost since it started, read from the provider."""

    def running_cost(self, lab: str, now: datetime | None = None) -> RunningCost: ...


@runtime_checkable
class RestoresLabFiles(Protocol):
    """A provider whose snapshots carry lab files (key, passwords) that `up --from` must put
    back before anything new is generated."""

    def restore_lab_files(self, lab: str, directory: Path) -> None: ...


@runtime_checkable
class OwnNodeAddresses(Protocol):
    """A provider whose nodes are reached at addresses of their own (hosts that already
    exist), not at the plan's management address with the lab's key."""

    def node_access(self, lab: str, node: str) -> NodeAccess | None: ...
