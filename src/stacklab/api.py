"""The public library API. The CLI is a thin layer over these functions."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stacklab.access.cloud_files import access_step, lab_environment, remove_lab_clouds
from stacklab.access.ssh_config_hosts import written_access
from stacklab.access.tunnel import Tunnel, horizon_address, lab_routes, lab_tunnel
from stacklab.bootstrap.resources import TEST_IMAGE
from stacklab.bootstrap.run import bootstrap_step
from stacklab.catalog import Catalog, load_catalog
from stacklab.catalog.models import Virtualization
from stacklab.config.loader import LineMap, load_spec, spec_hash, with_lines
from stacklab.config.models import Preset, ProviderKind, Spec
from stacklab.config.presets import RELEASES, node_specs
from stacklab.config.template import render_spec
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.core.ssh import known_hosts_path
from stacklab.doctor import (
    CheckResult,
    DoctorReport,
    HostFacts,
    load_host_facts,
    requirements_for,
    run_doctor,
)
from stacklab.doctor.kvm_probe import probe_hypervisor
from stacklab.engine import StepHandlers, StepObserver, StepOutcome, run_steps
from stacklab.errors import HostError, NotYetImplemented, SpecError, StacklabError, StateError
from stacklab.images.cloud_image import fetch_cloud_image
from stacklab.images.test_image import ImageBuild
from stacklab.images.test_image import build_test_image as build_test_image_with
from stacklab.installer.clouds import LAB_CLOUDS_FILE
from stacklab.installer.health import CloudHealth, cloud_health, recorded_roles
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers import provider_for, provider_kind_for
from stacklab.providers.base import (
    CostSoFar,
    FoundResource,
    OwnNodeAddresses,
    PlannedDeletions,
    Provider,
    RestoresLabFiles,
    RunningCost,
    Snapshots,
    StopStart,
)
from stacklab.runner import LocalRunner
from stacklab.state.db import JournalEntry, LabRecord, LabState, StateDB, up_to
from stacklab.state.keys import ensure_lab_key, extra_public_key
from stacklab.state.paths import ensure_private_dir, lab_dir
from stacklab.verify.phases import PhaseResult, VerifyResult
from stacklab.verify.run import verify_lab, verify_step
from stacklab.workloads.inventory import InventoryFormat, lab_inventory
from stacklab.workloads.launch import DEFAULT_PREFIX, Workload
from stacklab.workloads.launch import launch as launch_workloads

DEFAULT_SPEC = Path("stacklab.yaml")
# On the other providers the APIs sit on the lab's private networks, behind the access node.
APIS_REACHED_FROM_HOST = ("local", "ssh")


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
    local = catalog.of("local")
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
    return Catalog(providers={**catalog.providers, "local": local})


def plan_of(loaded: LoadedSpec) -> Plan:
    facts = load_host_facts() if loaded.spec.provider_kind is ProviderKind.LOCAL else None
    try:
        return make_plan(loaded.spec, catalog_with_host_facts(facts), source=str(loaded.path))
    except SpecError as error:
        raise SpecError(
            with_lines(error.problems, str(loaded.path), loaded.lines), str(loaded.path)
        ) from None


def plan_file(path: Path = DEFAULT_SPEC) -> Plan:
    return plan_of(load(path))


def init_spec(
    output: Path, *, name: str, preset: Preset, provider: ProviderKind, force: bool = False
) -> Path:
    if output.exists() and not force:
        raise StacklabError(
            f"{output} exists already; nothing was written.",
            fix="use -o FILE for another file, or --force to overwrite it",
        )
    text = render_spec(name, preset, provider)
    from stacklab.config.loader import parse_spec_text

    parse_spec_text(text, str(output))  # the template must always be a valid spec
    output.write_text(text, encoding="utf-8")
    return output


def doctor(
    path: Path | None = None, *, on_check: Callable[[CheckResult], None] | None = None
) -> DoctorReport:
    """Check this host for the local provider, sized for the spec's nodes (default: AIO)."""
    spec = load(path).spec if path and path.exists() else Spec(name="doctor")
    roles = [node.roles for node in node_specs(spec)]
    requirements = requirements_for(roles, RELEASES[spec.os].codename)
    mirror = getattr(spec.provider, "mirror", None)
    if mirror is not None:
        requirements = replace(requirements, mirror=str(mirror))
    return run_doctor(requirements, on_check=on_check)


@dataclass
class UpResult:
    plan: Plan
    outcomes: list[StepOutcome]
    nodes: tuple[NodeAccess, ...] = ()


@dataclass
class _Up:
    """The step handlers of `up` for one lab, sharing the provider and context."""

    loaded: LoadedSpec
    db: StateDB
    progress: ProgressCallback
    provider: Provider
    nodes: tuple[NodeAccess, ...] = ()
    context: LabContext | None = field(default=None)

    def handlers(self) -> StepHandlers:
        from stacklab.installer.phases import PHASES

        # The install phases run on every `up`: Ansible converges the nodes to the plan and
        # changes nothing where they are right already (the stats show 0 changed).
        return StepHandlers(
            handlers={
                "preflight": self.preflight,
                "networks": self.networks,
                "nodes": self.create_nodes,
                **{phase: self.install_step(phase) for phase in PHASES},
                "bootstrap": self.bootstrap,
                "access": self.access,
                "verify": self.verify,
            },
            # bootstrap finds before it creates (a second run takes seconds), the access files
            # follow the identity phase, and verify checks the cloud as it is now.
            always=frozenset(
                {"preflight", "networks", "nodes", *PHASES, "bootstrap", "access", "verify"}
            ),
        )

    @property
    def image_url(self) -> str | None:
        url = self.loaded.spec.image_url
        return None if url is None else str(url)

    def bootstrap(self, plan: Plan) -> None:
        bootstrap_step(plan, self.lab_context(plan), self.image_url)

    def access(self, plan: Plan) -> None:
        access_step(plan, self.lab_context(plan), self.nodes)

    def verify(self, plan: Plan) -> None:
        verify_step(plan, self.lab_context(plan), self.nodes)

    def install_step(self, phase: str) -> Callable[[Plan], None]:
        """The handler of an install phase: its tag of the playbook on the lab's nodes."""

        def install(plan: Plan) -> None:
            from stacklab.installer.installer import Installer
            from stacklab.installer.package_layer import keep_package_layers

            Installer(plan, self.lab_context(plan), self.nodes).run_phase(phase)
            if phase == "packages":
                keep_package_layers(self.provider, plan, self.lab_context(plan))

        return install

    def lab_context(self, plan: Plan) -> LabContext:
        if self.context is None:
            directory = ensure_private_dir(lab_dir(plan.lab))
            private, public = ensure_lab_key(directory, plan.lab, LocalRunner())
            extra = extra_public_key(self.loaded.spec.access.ssh_public_key)
            authorized = "\n".join(key for key in (public, extra) if key)
            self.context = LabContext(
                lab=plan.lab,
                directory=directory,
                db=self.db,
                ssh_private_key=private,
                ssh_public_key=authorized,
                progress=self.progress,
            )
        return self.context

    def preflight(self, plan: Plan) -> None:
        self.provider.check(plan)
        if self.image_url is not None:
            # Into the cache before anything is made, so that a wrong URL costs nothing.
            fetch_cloud_image(self.image_url, LocalRunner(), progress=self.progress)

    def networks(self, plan: Plan) -> None:
        self.provider.create_networks(plan, self.lab_context(plan))

    def create_nodes(self, plan: Plan) -> None:
        self.nodes = self.provider.create_nodes(plan, self.lab_context(plan))


def up(
    path: Path = DEFAULT_SPEC,
    *,
    until: str | None = None,
    from_snapshot: str | None = None,
    progress: ProgressCallback = lambda message: None,
    observe: StepObserver | None = None,
) -> UpResult:
    loaded = load(path)
    plan = plan_of(loaded)
    if until is not None and until not in plan.step_names:
        raise StacklabError(
            f"--until {until!r} is not a step of this lab's plan.",
            fix=f"use one of: {', '.join(plan.step_names)}",
        )
    # An unsupported provider fails here, before any state is written.
    provider = provider_for(loaded.spec, from_snapshot=from_snapshot)
    if loaded.spec.provider_kind is ProviderKind.LOCAL and load_host_facts() is None:
        # The hypervisor in the plan must come from a probe, not from a guess.
        progress("probing KVM: booting a probe guest (once per host)")
        probe_hypervisor(
            LocalRunner(), qemu_installed=shutil.which("qemu-system-x86_64") is not None
        )
        plan = plan_of(loaded)
    with StateDB() as db:
        return _up_with(db, loaded, plan, provider, path, until, from_snapshot, progress, observe)


def _up_with(
    db: StateDB,
    loaded: LoadedSpec,
    plan: Plan,
    provider: Provider,
    path: Path,
    until: str | None,
    from_snapshot: str | None,
    progress: ProgressCallback,
    observe: StepObserver | None,
) -> UpResult:
    try:
        existing = db.lab(plan.lab)
        if existing and existing.provider != plan.provider:
            raise StateError(
                f"A lab named {plan.lab} already exists on the {existing.provider} provider.",
                fix=f"`stacklab down {plan.lab}` first, or choose another name",
            )
        restoring = existing is not None and existing.status == LabState.RESTORING
        if from_snapshot and existing and not restoring:
            raise StateError(
                f"Lab {plan.lab} exists; --from starts a lab anew from a snapshot.",
                fix=f"`stacklab down {plan.lab}` first, then `stacklab up --from {from_snapshot}`",
            )
        db.save_lab(
            plan.lab, plan.provider, str(path.resolve()), spec_hash(loaded.spec), plan.to_dict()
        )
        if from_snapshot and isinstance(provider, RestoresLabFiles):
            provider.restore_lab_files(plan.lab, ensure_private_dir(lab_dir(plan.lab)))
        runner = _Up(loaded, db, progress, provider)
        db.set_lab_status(plan.lab, LabState.RESTORING if from_snapshot else LabState.CREATING)
        outcomes = run_steps(plan, runner.handlers(), db, until=until, observe=observe)
        db.set_lab_status(plan.lab, LabState.READY if until is None else up_to(until))
        return UpResult(plan, outcomes, runner.nodes)
    except StacklabError:
        # A restore that failed is resumed by the same `up --from`.
        db.set_lab_status(plan.lab, LabState.RESTORING if from_snapshot else LabState.FAILED)
        raise


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


def resolve_lab_name(name: str | None, path: Path = DEFAULT_SPEC) -> str:
    if name:
        return name
    if path.exists():
        return load(path).spec.name
    raise StacklabError(
        f"No lab named and no spec at {path}.",
        fix="name the lab (`stacklab status NAME`) or point at its spec with -f FILE",
    )


def lab_provider(name: str, provider_kind: str | None = None) -> Provider:
    """The provider that holds a lab: from its spec when that still loads, else from the
    region and profile recorded in its plan, so a cloud lab is looked for where it is."""
    with StateDB() as db:
        record = db.lab(name)
    if record and record.spec_path and Path(record.spec_path).exists():
        try:
            spec = load(Path(record.spec_path)).spec
        except SpecError:
            spec = None
        if spec is not None and spec.name == name:
            return provider_for(spec)
    if record is None:
        return provider_kind_for(provider_kind or "local")
    return provider_kind_for(record.provider, record.plan)


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
    if record is None or record.provider not in APIS_REACHED_FROM_HOST:
        return None
    directory = lab_dir(record.name)
    if not (directory / LAB_CLOUDS_FILE).exists():
        return None
    return cloud_health(record.name, recorded_roles(record.plan), directory)


def list_labs() -> list[LabRecord]:
    with StateDB() as db:
        return db.labs()


def down(
    name: str,
    *,
    provider_kind: str | None = None,
    dry_run: bool = False,
    progress: ProgressCallback = lambda m: None,
) -> list[FoundResource]:
    """Remove everything of the lab, found from the infrastructure; then forget it.
    With dry_run, only list what would be removed, in the order it would be."""
    provider = lab_provider(name, provider_kind)
    if dry_run:
        if isinstance(provider, PlannedDeletions):
            return provider.planned_deletions(name)
        return provider.discover(name)
    removed = provider.destroy(name, progress)
    # Its key, passwords and cloud entries open nothing any more once the lab is gone.
    shutil.rmtree(lab_dir(name), ignore_errors=True)
    remove_lab_clouds(name)
    with StateDB() as db:
        db.forget_lab(name)
    return removed


def snapshot(
    name: str, snapshot_name: str | None = None, *, progress: ProgressCallback = lambda m: None
) -> dict[str, str]:
    """Golden images of every node of a configured lab: node -> image id."""
    provider = lab_provider(name)
    if not isinstance(provider, Snapshots):
        raise NotYetImplemented(
            f"The {provider.kind} provider cannot snapshot a lab yet.",
            fix="`stacklab up` makes the lab anew",
        )
    record = _lab_record(name)
    images = provider.snapshot(name, progress, snapshot_name)
    if isinstance(provider, StopStart) and record.spec_path and Path(record.spec_path).exists():
        progress(f"starting {name} again")
        start(Path(record.spec_path), progress=progress)
    return images


def stop(name: str, *, progress: ProgressCallback = lambda m: None) -> None:
    """Power the lab's nodes off, keeping their disks and the lab's networks."""
    record = _lab_record(name)
    kind = record.provider
    provider = provider_kind_for(kind, record.plan)
    if not isinstance(provider, StopStart):
        raise NotYetImplemented(f"The {kind} provider cannot stop a lab.", fix="use `down`")
    provider.stop(name, progress)
    _set_status(name, LabState.STOPPED)


def start(path: Path = DEFAULT_SPEC, *, progress: ProgressCallback = lambda m: None) -> None:
    """Boot a stopped lab's nodes again, as they were."""
    loaded = load(path)
    plan = plan_of(loaded)
    provider = provider_for(loaded.spec)
    if not isinstance(provider, StopStart):
        raise NotYetImplemented(
            f"The {plan.provider} provider cannot start a stopped lab.", fix="use `up`"
        )
    with StateDB() as db:
        _lab_record(plan.lab)
        provider.start(plan, _Up(loaded, db, progress, provider).lab_context(plan))
        db.set_lab_status(plan.lab, LabState.READY)


def _lab_record(name: str) -> LabRecord:
    with StateDB() as db:
        record = db.lab(name)
    if record is None:
        raise StateError(f"No lab named {name} is known here.", fix="`stacklab list` shows labs")
    return record


def _set_status(name: str, status: LabState) -> None:
    with StateDB() as db:
        db.set_lab_status(name, status)


def node_access(name: str, node: str) -> NodeAccess:
    """How to SSH to a node of a lab: from the saved plan and the lab's key."""
    record = _lab_record(name)
    nodes = {n["name"]: n for n in record.plan["nodes"]}
    if node not in nodes:
        raise HostError(
            f"Lab {name} has no node {node!r}.", fix=f"use one of: {', '.join(sorted(nodes))}"
        )
    if record.provider == "ssh":
        provider = lab_provider(name)
        own = provider.node_access(name, node) if isinstance(provider, OwnNodeAddresses) else None
        if own is not None:
            return own
    management = next(nic for nic in nodes[node]["nics"] if nic["network"] == "management")
    return NodeAccess(
        name=node,
        host=management["address"],
        user="root",
        port=22,
        private_key=lab_dir(name) / "ssh" / "id_ed25519",
    )


def tunnel(name: str, *, sshuttle_installed: bool | None = None) -> Tunnel:
    """The way into a cloud lab's management and provider networks through its access node
    (sshuttle, else an SSH forward); a local lab needs none. sshuttle_installed: default,
    whether it is on PATH."""
    record = _lab_record(name)
    access = None
    if record.provider != "local":
        # Not node_access: the plan knows the management address only, not a public one.
        access = written_access(name, lab_dir(name), record.plan["access_node"])
    if sshuttle_installed is None:
        sshuttle_installed = shutil.which("sshuttle") is not None
    return lab_tunnel(
        name,
        record.provider,
        lab_routes(record.plan),
        access,
        known_hosts_path(lab_dir(name)),
        sshuttle_installed=sshuttle_installed,
        horizon=horizon_address(record.plan),
    )


def build_test_image() -> ImageBuild:
    """The offline test image (kernel, busybox initramfs, root disk), from the cache if built."""
    return build_test_image_with(LocalRunner())


def verify(name: str, *, report: Callable[[PhaseResult], None] = lambda r: None) -> VerifyResult:
    """Boot an instance from the test image, check console markers, floating IP, SSH; clean up."""
    record = _lab_record(name)
    # The local host sits on the provider network; elsewhere the access node pings.
    access_node = (
        None if record.provider == "local" else node_access(name, record.plan["access_node"])
    )
    return verify_lab(name, lab_dir(name), access_node=access_node, report=report)


def env(name: str) -> str:
    """Shell lines that point openstack and ssh at the lab (no secrets in them)."""
    _lab_record(name)
    return lab_environment(name, lab_dir(name))


def launch(
    name: str,
    *,
    count: int,
    flavor: str,
    image: str | None = None,
    prefix: str | None = None,
    progress: ProgressCallback = lambda m: None,
) -> list[Workload]:
    """Boot COUNT demo VMs with floating IPs and wait until they are ACTIVE."""
    _lab_record(name)
    return launch_workloads(
        name,
        lab_dir(name),
        count=count,
        flavor=flavor,
        image=image or TEST_IMAGE,
        prefix=prefix or DEFAULT_PREFIX,
        progress=progress,
    )


def inventory(name: str, form: str = "yaml") -> str:
    """An Ansible inventory of the lab's workload VMs."""
    _lab_record(name)
    return lab_inventory(name, lab_dir(name), InventoryFormat(form))
