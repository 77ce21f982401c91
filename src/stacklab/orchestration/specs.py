"""From a spec file to its plan, with the local host's probed facts in the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacklab.catalog import Catalog, load_catalog
from stacklab.catalog.models import Virtualization
from stacklab.config.loader import LineMap, load_spec, with_lines
from stacklab.config.models import Spec
from stacklab.doctor import HostFacts, load_host_facts
from stacklab.errors import SpecError
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.datapaths import probed_datapaths
from stacklab.providers.registry import host_provider, traits_of

DEFAULT_SPEC = Path("stacklab.yaml")


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    path: Path
    lines: LineMap


def load(path: Path = DEFAULT_SPEC) -> LoadedSpec:
    spec, lines = load_spec(path)
    return LoadedSpec(spec, path, lines)


def catalog_with_host_facts(facts: HostFacts | None) -> Catalog:
    """The catalog, with the local machine type's virtualization as the last probe found it."""
    catalog = load_catalog()
    if facts is None:
        return catalog
    kind = host_provider().value
    local = catalog.of(kind)
    machines = {
        name: machine.model_copy(
            update={
                "virtualization": (
                    Virtualization.NATIVE if facts.kvm_usable else Virtualization.NONE
                ),
                "how": f"probe guest on this host: {facts.reason}",
            }
        )
        for name, machine in local.machine_types.items()
    }
    local = local.model_copy(update={"machine_types": machines})
    return Catalog(providers={**catalog.providers, kind: local})


def plan_of(loaded: LoadedSpec) -> Plan:
    facts = load_host_facts() if needs_host_probe(loaded.spec) else None
    try:
        return make_plan(
            loaded.spec,
            catalog_with_host_facts(facts),
            source=str(loaded.path),
            datapaths=probed_datapaths(loaded.spec),
        )
    except SpecError as error:
        raise SpecError(
            with_lines(error.problems, str(loaded.path), loaded.lines), str(loaded.path)
        ) from None


def needs_host_probe(spec: Spec) -> bool:
    """Whether the spec's nodes run on this host, so a KVM probe here decides the hypervisor."""
    return traits_of(spec.provider_kind).nodes_on_this_host
