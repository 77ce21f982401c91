"""The public library API. The CLI is a thin layer over these functions; the work itself
is done in `stacklab.orchestration` and the layers below it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from stacklab.access.cloud_files import lab_environment
from stacklab.access.public_address import public_address
from stacklab.bootstrap.resources import TEST_IMAGE
from stacklab.catalog import load_catalog
from stacklab.catalog.releases import release_of
from stacklab.config.loader import parse_spec_text
from stacklab.config.models import Preset, ProviderKind, Spec
from stacklab.config.presets import node_specs
from stacklab.config.template import render_spec
from stacklab.core.nodes import ProgressCallback
from stacklab.doctor import CheckResult, DoctorReport, requirements_for, run_doctor
from stacklab.errors import StacklabError
from stacklab.images.test_image import ImageBuild
from stacklab.images.test_image import build_test_image as build_test_image_with
from stacklab.orchestration.labs import (
    down,
    lab_record,
    node_access,
    snapshot,
    start,
    stop,
    tunnel,
    verify_access_node,
)
from stacklab.orchestration.specs import DEFAULT_SPEC, LoadedSpec, load, plan_of
from stacklab.orchestration.status import LabStatus, status
from stacklab.orchestration.up import UpResult, up
from stacklab.plan.models import Plan
from stacklab.runner import LocalRunner
from stacklab.state.db import LabRecord, StateDB
from stacklab.state.paths import lab_dir
from stacklab.verify.interop.results import InteropReport
from stacklab.verify.interop.run import InteropOptions, ResultCallback, run_interop
from stacklab.verify.phases import PhaseResult, VerifyResult
from stacklab.verify.run import verify_lab
from stacklab.workloads.inventory import InventoryFormat, lab_inventory
from stacklab.workloads.launch import DEFAULT_PREFIX, Workload
from stacklab.workloads.launch import launch as launch_workloads

__all__ = [
    "DEFAULT_SPEC",
    "LabStatus",
    "LoadedSpec",
    "UpResult",
    "build_test_image",
    "doctor",
    "down",
    "env",
    "init_spec",
    "inventory",
    "launch",
    "list_labs",
    "load",
    "node_access",
    "plan_file",
    "plan_of",
    "resolve_lab_name",
    "snapshot",
    "start",
    "status",
    "stop",
    "tunnel",
    "up",
    "verify",
    "verify_interop",
]


def plan_file(path: Path = DEFAULT_SPEC) -> Plan:
    return plan_of(load(path))


def init_spec(
    output: Path,
    *,
    name: str,
    preset: Preset,
    provider: ProviderKind,
    force: bool = False,
    admin_cidr: IPv4Network | None = None,
    find_public_address: Callable[[], IPv4Address | None] = public_address,
) -> Path:
    """Write a commented spec. Where the provider admits only access.admin_cidr, it is the
    one given, else this machine's public address/32 if `find_public_address` finds it, else
    left for the user with the instruction."""
    if output.exists() and not force:
        raise StacklabError(
            f"{output} exists already; nothing was written.",
            fix="use -o FILE for another file, or --force to overwrite it",
        )
    firewalled = load_catalog(with_host=False).of(provider.value).network.firewalled
    if firewalled and admin_cidr is None:
        address = find_public_address()
        admin_cidr = IPv4Network(f"{address}/32") if address else None
    text = render_spec(name, preset, provider, firewalled=firewalled, admin_cidr=admin_cidr)
    parse_spec_text(text, str(output))  # the template must always be a valid spec
    output.write_text(text, encoding="utf-8")
    return output


def doctor(
    path: Path | None = None, *, on_check: Callable[[CheckResult], None] | None = None
) -> DoctorReport:
    """Check this host for the local provider, sized for the spec's nodes (default: AIO)."""
    spec = load(path).spec if path and path.exists() else Spec(name="doctor")
    roles = [node.roles for node in node_specs(spec)]
    requirements = requirements_for(roles, release_of(spec.os).codename)
    mirror = getattr(spec.provider, "mirror", None)
    if mirror is not None:
        requirements = replace(requirements, mirror=str(mirror))
    return run_doctor(requirements, on_check=on_check)


def resolve_lab_name(name: str | None, path: Path = DEFAULT_SPEC) -> str:
    if name:
        return name
    if path.exists():
        return load(path).spec.name
    raise StacklabError(
        f"No lab named and no spec at {path}.",
        fix="name the lab (`stacklab status NAME`) or point at its spec with -f FILE",
    )


def list_labs() -> list[LabRecord]:
    with StateDB() as db:
        return db.labs()


def build_test_image() -> ImageBuild:
    """The offline test image (kernel, busybox initramfs, root disk), from the cache if built."""
    return build_test_image_with(LocalRunner())


def verify(name: str, *, report: Callable[[PhaseResult], None] = lambda r: None) -> VerifyResult:
    """Boot an instance from the test image, check console markers, floating IP, SSH; clean up."""
    access_node = verify_access_node(lab_record(name))
    return verify_lab(name, lab_dir(name), access_node=access_node, report=report)


def verify_interop(
    name: str,
    options: InteropOptions,
    *,
    progress: Callable[[str], None] = lambda message: None,
    on_result: ResultCallback = lambda done, total, result: None,
) -> InteropReport:
    """The public interop guideline's required tests, run with Tempest against the lab."""
    record = lab_record(name)
    return run_interop(
        name,
        lab_dir(name),
        Plan.from_dict(record.plan),
        options=options,
        progress=progress,
        on_result=on_result,
    )


def env(name: str) -> str:
    """Shell lines that point openstack and ssh at the lab (no secrets in them)."""
    lab_record(name)
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
    lab_record(name)
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
    lab_record(name)
    return lab_inventory(name, lab_dir(name), InventoryFormat(form))
