"""`up`: the plan's steps, each run by the handler the step registry names, journaled."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stacklab.access.cloud_files import access_step
from stacklab.bootstrap.run import bootstrap_step
from stacklab.config.loader import spec_hash
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.doctor import load_host_facts
from stacklab.doctor.kvm_probe import probe_hypervisor
from stacklab.engine import StepHandler, StepHandlers, StepObserver, StepOutcome, run_steps
from stacklab.errors import StacklabError, StateError
from stacklab.images.cloud_image import fetch_cloud_image
from stacklab.orchestration.specs import DEFAULT_SPEC, LoadedSpec, load, needs_host_probe, plan_of
from stacklab.plan.models import Plan
from stacklab.plan.steps import STEPS, Handler
from stacklab.providers.base import Provider, RestoresLabFiles
from stacklab.providers.datapaths import datapaths_unprobed, probe_datapaths
from stacklab.providers.registry import provider_for
from stacklab.runner import LocalRunner
from stacklab.state.db import LabState, StateDB, up_to
from stacklab.state.keys import ensure_lab_key, extra_public_key
from stacklab.state.lock import lab_lock
from stacklab.state.paths import ensure_private_dir, lab_dir
from stacklab.verify.run import verify_step


@dataclass
class UpResult:
    plan: Plan
    outcomes: list[StepOutcome]
    nodes: tuple[NodeAccess, ...] = ()


@dataclass
class UpRun:
    """The step handlers of `up` for one lab, sharing the provider and context."""

    loaded: LoadedSpec
    db: StateDB
    progress: ProgressCallback
    provider: Provider
    nodes: tuple[NodeAccess, ...] = ()
    context: LabContext | None = field(default=None)

    def handlers(self) -> StepHandlers:
        """A handler for every declared step that has one; `always` as the registry says."""
        return StepHandlers(
            handlers={
                step.name: self.handler(step.handler, step.name)
                for step in STEPS
                if step.handler is not None
            },
            always=frozenset(step.name for step in STEPS if step.always),
        )

    def handler(self, kind: Handler, step: str) -> StepHandler:
        by_kind: dict[Handler, StepHandler] = {
            Handler.PREFLIGHT: self.preflight,
            Handler.NETWORKS: self.networks,
            Handler.NODES: self.create_nodes,
            Handler.INSTALL: self.install(step),
            Handler.INSTALL_PACKAGES: self.install(step, keep_layers=True),
            Handler.BOOTSTRAP: self.bootstrap,
            Handler.ACCESS: self.access,
            Handler.VERIFY: self.verify,
        }
        return by_kind[kind]

    @property
    def image_url(self) -> str | None:
        url = self.loaded.spec.image_url
        return None if url is None else str(url)

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

    def install(self, phase: str, *, keep_layers: bool = False) -> Callable[[Plan], None]:
        """The handler of an install phase: its tag of the playbook on the lab's nodes; after
        the packages phase, the nodes' packages kept as layers where the provider can."""

        def install(plan: Plan) -> None:
            # Imported here: ansible-runner is slow to import, and only `up` needs it.
            from stacklab.installer.installer import Installer
            from stacklab.installer.package_layer import keep_package_layers

            Installer(plan, self.lab_context(plan), self.nodes).run_phase(phase)
            if keep_layers:
                keep_package_layers(self.provider, plan, self.lab_context(plan))

        return install

    def bootstrap(self, plan: Plan) -> None:
        bootstrap_step(plan, self.lab_context(plan), self.image_url)

    def access(self, plan: Plan) -> None:
        access_step(plan, self.lab_context(plan), self.nodes)

    def verify(self, plan: Plan) -> None:
        verify_step(plan, self.lab_context(plan), self.nodes)


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
    if needs_host_probe(loaded.spec) and load_host_facts() is None:
        # The hypervisor in the plan must come from a probe, not from a guess.
        progress("probing KVM: booting a probe guest (once per host)")
        probe_hypervisor(
            LocalRunner(), qemu_installed=shutil.which("qemu-system-x86_64") is not None
        )
        plan = plan_of(loaded)
    if datapaths_unprobed(loaded.spec):  # so is Open vSwitch's datapath
        probe_datapaths(loaded.spec, plan, provider)
        plan = plan_of(loaded)
    with lab_lock(plan.lab, "up"), StateDB() as db:
        run = UpRun(loaded, db, progress, provider)
        return _journaled(run, plan, until=until, from_snapshot=from_snapshot, observe=observe)


def _journaled(
    run: UpRun,
    plan: Plan,
    *,
    until: str | None,
    from_snapshot: str | None,
    observe: StepObserver | None,
) -> UpResult:
    """The steps, with the lab's record and status kept in the state database."""
    db = run.db
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
        loaded = run.loaded
        db.save_lab(
            plan.lab, plan.provider, str(loaded.path.resolve()), spec_hash(loaded.spec),
            plan.to_dict(),
        )  # fmt: skip
        if from_snapshot and isinstance(run.provider, RestoresLabFiles):
            run.provider.restore_lab_files(plan.lab, ensure_private_dir(lab_dir(plan.lab)))
        db.set_lab_status(plan.lab, LabState.RESTORING if from_snapshot else LabState.CREATING)
        outcomes = run_steps(plan, run.handlers(), db, until=until, observe=observe)
        db.set_lab_status(plan.lab, LabState.READY if until is None else up_to(until))
        return UpResult(plan, outcomes, run.nodes)
    except StacklabError:
        # A restore that failed is resumed by the same `up --from`.
        db.set_lab_status(plan.lab, LabState.RESTORING if from_snapshot else LabState.FAILED)
        raise
