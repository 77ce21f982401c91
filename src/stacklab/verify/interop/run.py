"""`stacklab verify --interop`: Tempest, in its own environment, runs the guideline's
required tests against the lab, with a tempest.conf made from the lab's own knowledge."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from stacklab.catalog.interop import InteropGuideline, shipped_guideline
from stacklab.errors import CommandError, InputError
from stacklab.labcloud.credentials import admin_credentials
from stacklab.openstack_api import connect
from stacklab.plan.models import Plan
from stacklab.providers.registry import traits_of
from stacklab.runner import stream_lines
from stacklab.state.paths import ensure_private_dir
from stacklab.state.secrets import write_private
from stacklab.verify.interop.results import InteropReport, ResultCollector, TestResult
from stacklab.verify.interop.selection import (
    Selection,
    check_filters,
    select_tests,
)
from stacklab.verify.interop.tempest_conf import lab_facts, render_tempest_conf
from stacklab.verify.interop.tempest_env import (
    TEMPEST_VERSION,
    TempestEnv,
    ensure_tempest,
    tempest_env,
)

WORKSPACE = "interop"  # in the lab's directory: tempest.conf, Tempest's log and its runs
TESTS_LIST = "tempest-tests.txt"  # the installed Tempest's own test list, cached beside it
# Tempest's .stestr.conf: one worker per test class, as `tempest run` does.
GROUP_REGEX = r"([^\.]*\.)*"
# Run by the Tempest environment's Python: it runs stestr and turns its subunit into lines.
RESULTS_SCRIPT = Path(__file__).with_name("data") / "subunit_results.py"
DISCOVERY_FAILED = "Failures during discovery"  # stestr list: some test modules failed to import

ResultCallback = Callable[[int, int, TestResult], None]


@dataclass(frozen=True)
class InteropOptions:
    services: tuple[str, ...] = ()  # --only: these services' tests alone
    pattern: str | None = None  # --regex: over the guideline's test names
    concurrency: int = 2  # Tempest workers; each boots its own servers

    @property
    def scope(self) -> str:
        parts = [f"--only {s}" for s in self.services]
        if self.pattern:
            parts.append(f"--regex {self.pattern!r}")
        return " ".join(parts) or "all required tests"


def _stestr(env: TempestEnv, *arguments: str) -> list[str]:
    return [str(env.root / "bin" / "stestr"), *arguments]


def stestr_conf(env: TempestEnv) -> str:
    """What `tempest init` would write: where Tempest's tests are, one worker per class."""
    site = env.site_packages
    return (
        "[DEFAULT]\n"
        f"test_path={site / 'tempest' / 'test_discover'}\n"
        f"top_dir={site}\n"
        f"group_regex={GROUP_REGEX}\n"
    )


def _tempest_environment(workspace: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPEST_CONFIG_DIR": str(workspace / "etc"),
        "TEMPEST_CONFIG": "tempest.conf",
    }


def listed_tests(env: TempestEnv, workspace: Path, progress: Callable[[str], None]) -> list[str]:
    """Every test of the installed Tempest, as it names them; listed once per environment."""
    cached = env.root / TESTS_LIST
    if not cached.exists():
        progress(f"tempest {TEMPEST_VERSION}: listing its tests (once)")
        lines: list[str] = []
        stream_lines(
            _stestr(env, "list"),
            lines.append,
            env=_tempest_environment(workspace),
            cwd=workspace,
            fix=f"see whether Tempest imports: {env.python} -c 'import tempest.api'",
        )
        tests = [line for line in lines if line.startswith("tempest.")]
        if not tests or DISCOVERY_FAILED in lines:
            raise CommandError(
                _stestr(env, "list"),
                0,
                "\n".join(line for line in lines if not line.startswith("tempest.")),
                fix=f"Tempest {TEMPEST_VERSION} does not import with its dependencies here; "
                f"remove {env.root} and run it again",
            )
        cached.write_text("\n".join(tests) + "\n", encoding="utf-8")
    return cached.read_text(encoding="utf-8").split()


def write_workspace(env: TempestEnv, workspace: Path, conf: str) -> Path:
    """tempest.conf (mode 0600: it holds the admin's password), stestr's configuration and
    its repository of runs, and the directories Tempest writes to."""
    ensure_private_dir(workspace)
    ensure_private_dir(workspace / "etc")
    (workspace / "locks").mkdir(exist_ok=True)
    path = workspace / "etc" / "tempest.conf"
    write_private(path, conf)
    (workspace / ".stestr.conf").write_text(stestr_conf(env), encoding="utf-8")
    if not (workspace / ".stestr").is_dir():
        stream_lines(_stestr(env, "init"), lambda line: None, cwd=workspace)
    return path


def run_selected(
    env: TempestEnv,
    workspace: Path,
    selection: Selection,
    concurrency: int,
    on_result: ResultCallback,
) -> tuple[TestResult, ...]:
    load_list = workspace / "load-list.txt"
    load_list.write_text("\n".join(selection.tempest_ids) + "\n", encoding="utf-8")
    collector = ResultCollector(selection)
    total = len(selection.run)
    done = 0
    tail: list[str] = []

    def on_line(line: str) -> None:
        nonlocal done
        settled = collector.add_line(line)
        if not settled:
            tail.append(line)
            del tail[:-30]
        for result in settled:
            done += 1
            on_result(done, total, result)

    run = _stestr(
        env, "run", "--load-list", str(load_list), "--concurrency", str(concurrency), "--subunit"
    )
    code = stream_lines(
        [str(env.python), str(RESULTS_SCRIPT), *run],
        on_line,
        env=_tempest_environment(workspace),
        cwd=workspace,
        check=False,
    )
    if code != 0 and done == 0:  # Tempest did not run at all: say why
        raise CommandError(run, code, "\n".join(tail), fix="see tempest.log in " + str(workspace))
    return collector.results()


def run_interop(
    lab: str,
    lab_directory: Path,
    plan: Plan,
    *,
    options: InteropOptions | None = None,
    guideline: InteropGuideline | None = None,
    progress: Callable[[str], None] = lambda message: None,
    on_result: ResultCallback = lambda done, total, result: None,
    env: TempestEnv | None = None,
) -> InteropReport:
    options = options or InteropOptions()
    if options.concurrency < 1:
        raise InputError(
            f"--concurrency {options.concurrency} is below 1.", fix="use 1 or 2 on a small host"
        )
    pattern = check_filters(options.services, options.pattern)
    guideline = guideline or shipped_guideline()
    env = ensure_tempest(env or tempest_env(), progress)
    workspace = lab_directory / WORKSPACE
    credentials = admin_credentials(lab, lab_directory)
    progress("asking the lab for what tempest.conf needs")
    with closing(connect(credentials)) as admin:
        facts = lab_facts(
            admin, credentials, plan, reachable=traits_of(plan.provider).host_on_lab_networks
        )
    conf = write_workspace(env, workspace, render_tempest_conf(facts, workspace))
    progress(f"wrote {conf} (mode 0600)")
    selection = select_tests(
        guideline, listed_tests(env, workspace, progress), services=options.services,
        pattern=pattern,
    )  # fmt: skip
    if not selection.run and not selection.missing:
        raise InputError(
            f"{options.scope} selects none of the guideline's {len(guideline.tests)} tests.",
            fix="loosen --regex (it is searched in each test's full name) or drop --only",
        )
    progress(
        f"running {len(selection.run)} required tests of guideline {guideline.guideline} "
        f"with {options.concurrency} Tempest workers"
    )
    started = time.monotonic()
    results = (
        run_selected(env, workspace, selection, options.concurrency, on_result)
        if selection.run
        else ResultCollector(selection).results()
    )
    return InteropReport(
        lab=lab,
        guideline=guideline,
        tempest_version=TEMPEST_VERSION,
        scope=options.scope,
        results=results,
        seconds=time.monotonic() - started,
    )
