"""The `stacklab` command: a thin layer over `stacklab.api`.

Results go to stdout (tables, or JSON with --json); progress and errors go to
stderr. Exit codes come from the error tree, mapped in `exit_code_for` only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.status import Status
from rich.text import Text

from stacklab import api
from stacklab.catalog.interop import SERVICES
from stacklab.cli import render
from stacklab.config.models import Preset, ProviderKind, Spec
from stacklab.core.ssh import known_hosts_path, ssh_argv
from stacklab.doctor import CheckResult
from stacklab.errors import (
    ErrorReport,
    StacklabError,
    exit_code_for,
)
from stacklab.plan.models import Step
from stacklab.plan.steps import VERIFY_STEP, step_before, step_names
from stacklab.state.paths import lab_dir
from stacklab.verify.interop.results import Outcome, TestResult
from stacklab.verify.interop.run import InteropOptions
from stacklab.verify.phases import PhaseResult

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def spec_option(command: F) -> F:
    return click.option(
        "-f",
        "--file",
        "spec_file",
        type=click.Path(path_type=Path),
        default=api.DEFAULT_SPEC,
        show_default=True,
        help="The lab spec.",
    )(command)


def json_option(command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(command)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--traceback", is_flag=True, help="Show Python tracebacks on errors (for bugs).")
@click.version_option(package_name="stacklab")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """Stand up a real OpenStack cloud for a lab or a proof of concept.

    \b
    Typical use:
      stacklab init             write ./stacklab.yaml (local all-in-one lab)
      stacklab doctor           check this host
      stacklab plan             show what `up` will make, and what it costs
      stacklab up               make it
      stacklab status           what exists now
      stacklab down             remove every piece of it
    """
    ctx.obj = {"traceback": traceback}


def _ipv4_network(value: str | None) -> IPv4Network | None:
    if value is None:
        return None
    try:
        return IPv4Network(value)
    except ValueError as error:
        raise click.BadParameter(
            f"{value!r} is not an IPv4 range ({error}); e.g. 203.0.113.7/32"
        ) from None


@cli.command()
@click.option(
    "--preset",
    type=click.Choice([p.value for p in Preset]),
    default="aio",
    show_default=True,
    help="aio: one node; multinode: controller, network, 2 computes, storage.",
)
@click.option(
    "--provider",
    type=click.Choice([p.value for p in ProviderKind]),
    default="local",
    show_default=True,
    help="Where the nodes run.",
)
@click.option("--name", default="lab", show_default=True, help="Lab name (1-10 of a-z, 0-9, -).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=api.DEFAULT_SPEC,
    show_default=True,
    help="File to write.",
)
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option(
    "--admin-cidr",
    callback=lambda ctx, param, value: _ipv4_network(value),
    default=None,
    help="Cloud providers: the range that may reach the lab. Default: this machine's public "
    "address/32, asked of a service outside (left for you to fill in if that fails).",
)
def init(
    preset: str,
    provider: str,
    name: str,
    output: Path,
    force: bool,
    admin_cidr: IPv4Network | None,
) -> None:
    """Write a commented spec to start from."""
    written = api.init_spec(
        output,
        name=name,
        preset=Preset(preset),
        provider=ProviderKind(provider),
        force=force,
        admin_cidr=admin_cidr,
    )
    err.print(f"Wrote {written}. Next: `stacklab plan -f {written}`.")


@cli.command()
@spec_option
@json_option
def plan(spec_file: Path, as_json: bool) -> None:
    """Show what `up` would make: networks, nodes, addresses, hypervisor, cost, steps.

    The JSON form (--json) is stable; docs/plan-json.md describes it.
    """
    planned = api.plan_file(spec_file)
    if as_json:
        emit_json(planned.to_dict())
    else:
        out.print(render.plan_view(planned))


@cli.command()
def schema() -> None:
    """Print the JSON schema of the spec (for editors and validators)."""
    emit_json(Spec.model_json_schema())


@cli.command()
@spec_option
@json_option
def doctor(spec_file: Path, as_json: bool) -> None:
    """Check this host for the local provider; decide kvm or qemu by booting a probe guest."""

    def show(check: CheckResult) -> None:
        if not as_json:
            out.print(render.check_line(check))

    report = api.doctor(spec_file, on_check=show)
    if as_json:
        emit_json(report.to_dict())
    else:
        out.print(render.doctor_summary(report))
    if not report.ok:
        sys.exit(1)


@cli.command()
@spec_option
@click.option(
    "--until",
    metavar="STEP",
    help=f"Stop after this step of the plan (see `plan`): {', '.join(step_names())}.",
)
@click.option(
    "--from",
    "from_snapshot",
    metavar="NAME",
    help="Start the nodes from the lab's golden images (`stacklab snapshot`).",
)
@click.option("--no-verify", is_flag=True, help="Skip the final verify (boot a test instance).")
def up(spec_file: Path, until: str | None, from_snapshot: str | None, no_verify: bool) -> None:
    """Make the lab: every step of the plan, journaled; a re-run resumes and skips what is done."""

    def observe(step: Step, state: str) -> None:
        if state == "running":
            err.print(f"[bold]-> {step.name}[/]: {step.description}")
        elif state == "skipped":
            err.print(f"[dim]   {step.name}: done before, inputs unchanged[/]")

    if no_verify and until is None:
        until = step_before(VERIFY_STEP)
    with err.status("working…") as spinner:
        result = api.up(
            spec_file,
            until=until,
            from_snapshot=from_snapshot,
            progress=lambda message: spinner.update(message),
            observe=observe,
        )
    took = sum(outcome.seconds for outcome in result.outcomes)
    err.print(f"[green]Lab {result.plan.lab} is up[/] ({took:.0f} s).")
    for node in result.nodes:
        out.print(f"{node.name}: stacklab ssh {node.name}   ({node.user}@{node.host})")


@cli.command()
@click.argument("lab", required=False)
@spec_option
@json_option
def status(lab: str | None, spec_file: Path, as_json: bool) -> None:
    """Show a lab as found on the infrastructure, and its journal of steps."""
    found = api.status(api.resolve_lab_name(lab, spec_file))
    if as_json:
        emit_json(found.to_dict())
    else:
        out.print(render.status_view(found))


@cli.command(name="list")
@json_option
def list_labs(as_json: bool) -> None:
    """List the labs this host knows."""
    labs = api.list_labs()
    if as_json:
        emit_json(
            [{"lab": lab.name, "provider": lab.provider, "status": lab.status} for lab in labs]
        )
    else:
        out.print(render.labs_view(labs))


@cli.command()
@click.argument("lab", required=False)
@spec_option
@click.option(
    "--provider",
    "provider_kind",
    type=click.Choice([p.value for p in ProviderKind]),
    help="Where to look when this host has no state of the lab (default: local).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be removed, in order.")
@json_option
def down(
    lab: str | None, spec_file: Path, provider_kind: str | None, dry_run: bool, as_json: bool
) -> None:
    """Remove every piece of a lab, found from the infrastructure even without state."""
    name = api.resolve_lab_name(lab, spec_file)
    if dry_run:
        planned = api.down(name, provider_kind=provider_kind, dry_run=True)
        if as_json:
            emit_json([{"kind": r.kind, "id": r.ident, "state": r.state} for r in planned])
        else:
            for resource in planned:
                out.print(f"{resource.kind:<16} {resource.ident}")
            err.print(f"Would remove {len(planned)} resources of {name}; nothing was removed.")
        return
    with err.status(f"removing {name}…") as spinner:
        removed = api.down(name, provider_kind=provider_kind, progress=spinner.update)
    err.print(f"[green]Lab {name} is gone[/] ({len(removed)} resources removed).")
    for note in dict.fromkeys(str(r.details["note"]) for r in removed if "note" in r.details):
        err.print(note)


@cli.command()
@click.argument("lab", required=False)
@spec_option
def stop(lab: str | None, spec_file: Path) -> None:
    """Power a lab's nodes off; disks and networks stay (`start` boots them again)."""
    name = api.resolve_lab_name(lab, spec_file)
    with err.status(f"stopping {name}…") as spinner:
        api.stop(name, progress=spinner.update)
    err.print(f"Lab {name} is stopped. `stacklab start` boots it again.")


@cli.command()
@click.argument("name", required=False)
@click.option("--lab", help="Lab name (default: the spec's).")
@spec_option
@json_option
def snapshot(name: str | None, lab: str | None, spec_file: Path, as_json: bool) -> None:
    """Save golden images of every node of a configured lab; `up --from NAME` starts from them."""
    lab_name = api.resolve_lab_name(lab, spec_file)
    with err.status(f"snapshotting {lab_name}…") as spinner:
        images = api.snapshot(lab_name, name, progress=spinner.update)
    if as_json:
        emit_json(images)
        return
    for node, image_id in images.items():
        out.print(f"{node}: {image_id}")


@cli.command()
@spec_option
def start(spec_file: Path) -> None:
    """Boot a stopped lab's nodes again, with their disks as they were."""
    with err.status("starting…") as spinner:
        api.start(spec_file, progress=spinner.update)
    err.print("Lab started.")


@cli.command()
@click.argument("lab", required=False)
@spec_option
@json_option
@click.option(
    "--interop",
    is_flag=True,
    help="Run the public interop guideline's required tests (OpenStack Powered Compute) "
    "with Tempest instead: passed, failed and skipped per service, with each reason.",
)
@click.option(
    "--only",
    "services",
    multiple=True,
    type=click.Choice(SERVICES),
    help="With --interop: this service's tests alone (repeatable).",
)
@click.option(
    "--regex",
    "pattern",
    default=None,
    help="With --interop: only the tests whose full name this regular expression finds.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="With --interop: Tempest workers (each boots its own servers).",
)
def verify(
    lab: str | None,
    spec_file: Path,
    as_json: bool,
    interop: bool,
    services: tuple[str, ...],
    pattern: str | None,
    concurrency: int,
) -> None:
    """Boot an instance from the test image: ACTIVE, console markers (DHCP, metadata),
    floating IP ping, SSH; then delete what it made. Exit 0 if every phase passed.

    \b
    With --interop: Tempest (pinned, installed once into its own virtual environment
    under ~/.cache/stacklab/tempest) runs the required tests of the interop guideline
    shipped in stacklab's catalog, with a tempest.conf made from the lab (mode 0600, in
    the lab's directory). Exit 0 unless a required test failed (9); flagged tests are
    optional-pass, as the guideline says. A full run takes an hour or more on a small
    host; --only and --regex run a slice."""
    name = api.resolve_lab_name(lab, spec_file)
    if interop:
        _verify_interop(name, InteropOptions(services, pattern, concurrency), as_json)
        return
    if services or pattern or concurrency != 2:
        raise click.UsageError("--only, --regex and --concurrency go with --interop")

    def report(phase: PhaseResult) -> None:
        if not as_json:
            err.print(phase.line(), highlight=False)

    result = api.verify(name, report=report)
    if as_json:
        emit_json(result.to_dict())
    else:
        out.print("\n".join(result.lines()), highlight=False)
    result.raise_if_failed()


def _progress(spinner: Status, message: str, as_json: bool) -> None:
    """Each step on its own line (the install takes minutes), and in the spinner."""
    spinner.update(message)
    if not as_json:
        err.print(f"-> {message}", highlight=False, markup=False, soft_wrap=True)


def _verify_interop(name: str, options: InteropOptions, as_json: bool) -> None:
    def on_result(done: int, total: int, result: TestResult) -> None:
        if not as_json:
            reason = f"  {result.reason}" if result.outcome is not Outcome.PASSED else ""
            err.print(
                f"[{done}/{total}] {result.outcome.value:<7} {result.test.service:<8} "
                f"{result.test.name.rsplit('.', 2)[-2]}.{result.test.name.rsplit('.', 1)[-1]}"
                f"{reason}",
                highlight=False,
                markup=False,
                soft_wrap=True,  # one line per test, whatever the terminal's width
            )

    with err.status("verify --interop…") as spinner:
        report = api.verify_interop(
            name,
            options,
            progress=lambda message: _progress(spinner, message, as_json),
            on_result=on_result,
        )
    if as_json:
        emit_json(report.to_dict())
    else:
        out.print("\n".join(report.lines()), highlight=False, markup=False, soft_wrap=True)
    report.raise_if_failed()


@cli.command()
@click.argument("lab", required=False)
@spec_option
def env(lab: str | None, spec_file: Path) -> None:
    """Print shell lines for the lab's clouds.yaml entries and SSH config.

    Use: eval "$(stacklab env)"."""
    click.echo(api.env(api.resolve_lab_name(lab, spec_file)))


@cli.command()
@click.argument("lab", required=False)
@spec_option
@click.option("--run", "run_it", is_flag=True, help="Run it in the foreground (Ctrl-C ends it).")
@json_option
def tunnel(lab: str | None, spec_file: Path, run_it: bool, as_json: bool) -> None:
    """The way from this machine into a cloud lab's management and provider networks:
    sshuttle through the lab's access node, or an SSH forward where sshuttle is missing.
    A local lab needs none."""
    found = api.tunnel(api.resolve_lab_name(lab, spec_file))
    if as_json:
        emit_json(found.to_dict())
    elif found.needed:
        click.echo(found.command)  # not through rich: a wrapped line would not paste
        err.print(found.hint, highlight=False, markup=False)
    else:
        out.print(found.hint, highlight=False, markup=False)
    if run_it and found.needed:
        os.execvp(found.argv[0], list(found.argv))


@cli.command()
@click.option("--count", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--flavor", default="m1.tiny", show_default=True, help="Flavor of the VMs.")
@click.option("--image", help="Image name (default: the test image).")
@click.option("--name", "prefix", help="Name prefix of the VMs (default: vm).")
@click.option("--lab", help="Lab name (default: the spec's).")
@spec_option
@json_option
def launch(
    count: int,
    flavor: str,
    image: str | None,
    prefix: str | None,
    lab: str | None,
    spec_file: Path,
    as_json: bool,
) -> None:
    """Boot tenant VMs (demo project) with floating IPs; `inventory` lists them for Ansible."""
    name = api.resolve_lab_name(lab, spec_file)
    with err.status(f"launching {count} VMs…") as spinner:
        made = api.launch(
            name, count=count, flavor=flavor, image=image, prefix=prefix, progress=spinner.update
        )
    if as_json:
        emit_json([{"name": w.name, "address": w.address, "user": w.user} for w in made])
        return
    for workload in made:
        out.print(f"{workload.name}: {workload.address}")


@cli.command()
@click.option(
    "--format", "form", type=click.Choice(["yaml", "ini"]), default="yaml", show_default=True
)
@click.option("--lab", help="Lab name (default: the spec's).")
@spec_option
def inventory(form: str, lab: str | None, spec_file: Path) -> None:
    """Print an Ansible inventory of the lab's workload VMs (from `launch`)."""
    click.echo(api.inventory(api.resolve_lab_name(lab, spec_file), form), nl=False)


@cli.group()
def image() -> None:
    """The test image that instances boot (built offline from Debian packages)."""


@image.command(name="build")
@json_option
def image_build(as_json: bool) -> None:
    """Build the test image (Debian kernel, busybox initramfs with DHCP, metadata and SSH),
    or show the cached one: same inputs, same bytes."""
    with err.status("building the test image from Debian packages…"):
        built = api.build_test_image()
    if as_json:
        emit_json(built.to_dict())
        return
    state = "cached" if built.cached else f"built in {built.seconds:.1f} s"
    out.print(f"Test image {built.image.name}: {state}")
    for part in built.image.files:
        out.print(f"  {part.path}  ({part.size / 1024 / 1024:.1f} MiB)")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--lab", help="Lab name (default: the spec's).")
@spec_option
def ssh(node: str, command: tuple[str, ...], lab: str | None, spec_file: Path) -> None:
    """SSH to a node of the lab; `stacklab ssh NODE -- CMD` runs CMD there."""
    name = api.resolve_lab_name(lab, spec_file)
    argv = ssh_argv(api.node_access(name, node), known_hosts_path(lab_dir(name)), command)
    if command:
        sys.exit(subprocess.run(argv, check=False).returncode)
    os.execvp(argv[0], argv)


def run(argv: list[str]) -> int:
    """Run the CLI on these arguments and return its exit code (the tests call this)."""
    global out, err
    # Made per run so that NO_COLOR and the output streams in force now are used.
    out, err = Console(), Console(stderr=True)
    try:
        cli.main(args=argv, prog_name="stacklab", standalone_mode=False)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except click.exceptions.Abort:
        err.print("Interrupted.")
        return 130
    except click.ClickException as usage:
        usage.show()
        return usage.exit_code
    except StacklabError as error:
        if "--traceback" in argv:
            raise
        if "--json" in argv:
            report = ErrorReport.of(error)
            click.echo(json.dumps({"error": report.__dict__}, indent=2), err=True)
        else:
            err.print(Text.assemble(("error: ", "bold red"), error.render()), highlight=False)
        return exit_code_for(error)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        return 130
    except Exception as unforeseen:
        if "--traceback" in argv:
            raise
        err.print(
            Text.assemble(
                ("error: ", "bold red"),
                f"unexpected {type(unforeseen).__name__}: {unforeseen}\n"
                "This is a bug in stacklab. Fix: run the command again with --traceback "
                "and report what it shows.",
            ),
            highlight=False,
        )
        return 1
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))
