"""A lab as the state database and its provider know it: its record, its provider, how to
reach its nodes, and the commands that work on a lab that exists (down, stop, start,
snapshot, tunnel)."""

from __future__ import annotations

import shutil
from pathlib import Path

from stacklab.access.ssh_config_hosts import written_access
from stacklab.access.tunnel import Tunnel, horizon_address, lab_routes, lab_tunnel
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.core.ssh import known_hosts_path
from stacklab.errors import HostError, NotYetImplemented, SpecError, StateError
from stacklab.labcloud.clouds_file import remove_lab_clouds
from stacklab.labcloud.credentials import lab_private_key
from stacklab.orchestration.specs import DEFAULT_SPEC, load, plan_of
from stacklab.orchestration.up import UpRun
from stacklab.plan.models import Plan
from stacklab.plan.reach import planned_access
from stacklab.providers.base import (
    FoundResource,
    OwnNodeAddresses,
    PlannedDeletions,
    Provider,
    Snapshots,
    StopStart,
)
from stacklab.providers.registry import (
    host_provider,
    provider_for,
    provider_kind_for,
    traits_of,
)
from stacklab.state.db import LabRecord, LabState, StateDB
from stacklab.state.lock import lab_lock
from stacklab.state.paths import lab_dir
from stacklab.verify.reach import floating_ips_answer_here


def lab_record(name: str) -> LabRecord:
    with StateDB() as db:
        record = db.lab(name)
    if record is None:
        raise StateError(f"No lab named {name} is known here.", fix="`stacklab list` shows labs")
    return record


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
    if record is not None:
        return provider_kind_for(record.provider, record.plan)
    # With no record and no kind given, the lab is looked for on this host.
    return provider_kind_for(provider_kind or host_provider().value)


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
    with lab_lock(name, "down"):
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
    record = lab_record(name)
    with lab_lock(name, "snapshot"):
        images = provider.snapshot(name, progress, snapshot_name)
        if isinstance(provider, StopStart) and record.spec_path and Path(record.spec_path).exists():
            progress(f"starting {name} again")
            _start(Path(record.spec_path), progress)
    return images


def stop(name: str, *, progress: ProgressCallback = lambda m: None) -> None:
    """Power the lab's nodes off, keeping their disks and the lab's networks."""
    record = lab_record(name)
    kind = record.provider
    provider = provider_kind_for(kind, record.plan)
    if not isinstance(provider, StopStart):
        raise NotYetImplemented(f"The {kind} provider cannot stop a lab.", fix="use `down`")
    with lab_lock(name, "stop"):
        provider.stop(name, progress)
        with StateDB() as db:
            db.set_lab_status(name, LabState.STOPPED)


def start(path: Path = DEFAULT_SPEC, *, progress: ProgressCallback = lambda m: None) -> None:
    """Boot a stopped lab's nodes again, as they were."""
    with lab_lock(load(path).spec.name, "start"):
        _start(path, progress)


def _start(path: Path, progress: ProgressCallback) -> None:
    loaded = load(path)
    plan = plan_of(loaded)
    provider = provider_for(loaded.spec)
    if not isinstance(provider, StopStart):
        raise NotYetImplemented(
            f"The {plan.provider} provider cannot start a stopped lab.", fix="use `up`"
        )
    with StateDB() as db:
        lab_record(plan.lab)
        provider.start(plan, UpRun(loaded, db, progress, provider).lab_context(plan))
        db.set_lab_status(plan.lab, LabState.READY)


def node_access(name: str, node: str) -> NodeAccess:
    """How to SSH to a node of a lab: from the saved plan and the lab's key."""
    record = lab_record(name)
    nodes = {n.name: n for n in Plan.from_dict(record.plan).nodes}
    if node not in nodes:
        raise HostError(
            f"Lab {name} has no node {node!r}.", fix=f"use one of: {', '.join(sorted(nodes))}"
        )
    if traits_of(record.provider).own_node_addresses:
        provider = lab_provider(name)
        own = provider.node_access(name, node) if isinstance(provider, OwnNodeAddresses) else None
        if own is not None:
            return own
    return planned_access(Plan.from_dict(record.plan), node, lab_private_key(lab_dir(name)))


def verify_access_node(record: LabRecord) -> NodeAccess | None:
    """Where verify pings from: this host where it sits on the lab's provider network (None),
    else the access node."""
    plan = Plan.from_dict(record.plan)
    if floating_ips_answer_here(plan):
        return None
    return node_access(record.name, plan.access_node)


def tunnel(name: str, *, sshuttle_installed: bool | None = None) -> Tunnel:
    """The way into a cloud lab's management and provider networks through its access node
    (sshuttle, else an SSH forward); a local lab needs none. sshuttle_installed: default,
    whether it is on PATH."""
    record = lab_record(name)
    saved = Plan.from_dict(record.plan)
    access = None
    if not traits_of(record.provider).host_on_lab_networks:
        # Not node_access: the plan knows the management address only, not a public one.
        access = written_access(name, lab_dir(name), saved.access_node)
    if sshuttle_installed is None:
        sshuttle_installed = shutil.which("sshuttle") is not None
    return lab_tunnel(
        name,
        record.provider,
        lab_routes(saved),
        access,
        known_hosts_path(lab_dir(name)),
        sshuttle_installed=sshuttle_installed,
        horizon=horizon_address(saved),
    )
