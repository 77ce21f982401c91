"""After the packages phase: where the provider can, the nodes' packages are kept as cached
layers for the next labs (the golden image of seed 000, made locally by the first lab)."""

from __future__ import annotations

from collections.abc import Iterable

from stacklab.core.context import LabContext
from stacklab.installer.phases import PHASES
from stacklab.plan.models import Plan
from stacklab.providers.base import PackageLayers, Provider
from stacklab.state.db import JournalEntry

PACKAGES = "packages"


def configured_before(journal: Iterable[JournalEntry]) -> bool:
    """Whether a phase after `packages` ever started on the lab (even one that failed)."""
    later = set(PHASES[PHASES.index(PACKAGES) + 1 :])
    return any(entry.step in later for entry in journal)


def keep_package_layers(provider: Provider, plan: Plan, context: LabContext) -> list[str]:
    """Save the layers the provider has no cached copy of yet; the names saved."""
    if not isinstance(provider, PackageLayers):
        return []
    if configured_before(context.db.journal(plan.lab)):
        return []  # the nodes hold configuration, passwords and data by now
    return provider.save_package_layers(plan, context)
