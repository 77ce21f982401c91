"""`status`: a lab as found on the infrastructure, its journal, its cost so far, and its
cloud's services where this host reaches the APIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacklab.installer.health import CloudHealth, cloud_health, planned_roles
from stacklab.labcloud.clouds_file import LAB_CLOUDS_FILE
from stacklab.orchestration.labs import lab_provider
from stacklab.plan.models import Plan
from stacklab.providers.base import CostSoFar, FoundResource, RunningCost
from stacklab.providers.registry import traits_of
from stacklab.state.db import JournalEntry, LabRecord, StateDB
from stacklab.state.paths import lab_dir


@dataclass(frozen=True)
class LabStatus:
    lab: LabRecord | None
    name: str
    found: list[FoundResource]
    journal: list[JournalEntry]
    cost: RunningCost | None = None
    health: CloudHealth | None = None  # None: no cloud installed yet, or not reachable here

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.name,
            "provider": self.lab.provider if self.lab else None,
            "status": self.lab.status if self.lab else "unknown (no state)",
            "resources": [
                {"kind": r.kind, "id": r.ident, "state": r.state, "details": r.details}
                for r in self.found
            ],
            "cost_so_far": (
                {
                    "usd": self.cost.usd_so_far,
                    "usd_per_hour": self.cost.usd_per_hour,
                    "since": self.cost.since.isoformat() if self.cost.since else None,
                    "note": self.cost.note,
                }
                if self.cost
                else None
            ),
            "openstack": (
                {
                    "ok": self.health.ok,
                    "error": self.health.error,
                    "missing": list(self.health.missing),
                    "services": [
                        {"kind": s.kind, "host": s.host, "name": s.name, "up": s.up}
                        for s in self.health.services
                    ],
                }
                if self.health
                else None
            ),
            "steps": [
                {
                    "step": e.step,
                    "status": e.status,
                    "started": e.started_at,
                    "seconds": e.seconds,
                    "error": e.error,
                }
                for e in self.journal
            ],
        }


def status(name: str, *, provider_kind: str | None = None) -> LabStatus:
    provider = lab_provider(name, provider_kind)
    with StateDB() as db:
        found = provider.discover(name)
        cost = provider.running_cost(name) if isinstance(provider, CostSoFar) else None
        record = db.lab(name)
        journal = db.journal(name)
    return LabStatus(record, name, found, journal, cost, _cloud_health(record))


def _cloud_health(record: LabRecord | None) -> CloudHealth | None:
    """The cloud's services, where this host reaches its APIs and the identity step ran."""
    if record is None or not traits_of(record.provider).apis_reached_from_host:
        return None
    directory = lab_dir(record.name)
    if not (directory / LAB_CLOUDS_FILE).exists():
        return None
    return cloud_health(record.name, planned_roles(Plan.from_dict(record.plan)), directory)
