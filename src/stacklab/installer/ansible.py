"""The one adapter to ansible-runner: run a playbook with tags against an inventory, report
each task through a progress callback, and return its stats or raise an InstallError.

Nothing else in stacklab imports ansible_runner.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner  # type: ignore[import-untyped]

from stacklab.installer.failures import (
    InstallError,
    InstallRunError,
    TaskFailure,
    failure_from_event,
)
from stacklab.installer.processes import interrupt_flag, ssh_control_dir
from stacklab.state.secrets import write_private

DATA_DIR = Path(__file__).parent / "data"
PLAYBOOK = DATA_DIR / "site.yml"
KEEP_ARTIFACTS = 30
# A phase that runs longer is stuck (the slowest, packages, takes minutes on 2 cores).
PHASE_TIMEOUT_S = 3600

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run of some tags of the site playbook."""

    private_dir: Path
    inventory: Mapping[str, Any]
    extra_vars: Mapping[str, Any]
    tags: tuple[str, ...]
    step: str
    playbook: Path = PLAYBOOK
    timeout_s: int = PHASE_TIMEOUT_S


@dataclass(frozen=True)
class PlaybookStats:
    step: str
    ok: int
    changed: int
    changed_tasks: tuple[str, ...]
    seconds: float
    log: Path
    artifacts: Path


@dataclass
class _Events:
    """What the event handler collects while the playbook runs."""

    progress: Progress
    step: str
    failures: list[TaskFailure] = field(default_factory=list)
    changed_tasks: list[str] = field(default_factory=list)

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind == "playbook_on_task_start":
            task = str(data.get("task", "")).strip()
            if task and not task.startswith("Gathering"):
                self.progress(f"{self.step}: {task}")
        elif kind in ("runner_on_ok", "runner_item_on_ok") and str(
            event.get("stdout", "")
        ).startswith("changed:"):
            # The display line, not res.changed: a no_log result is censored to one key.
            changed = f"{data.get('host')}: {str(data.get('task')).strip()}"
            if changed not in self.changed_tasks:
                self.changed_tasks.append(changed)
        failure = failure_from_event(event)
        if failure is not None:
            self.failures.append(failure)
        return True  # keep every event in the artifacts


def ansible_playbook() -> str:
    """ansible-playbook of the Python stacklab runs in, so a venv need not be on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible-playbook")
    if found is None:
        raise InstallRunError(
            "ansible-playbook is not installed beside stacklab.",
            fix="reinstall stacklab (`pip install -e .`): ansible-core is one of its dependencies",
        )
    return found


def ansible_environment(private_dir: Path, control_dir: Path) -> dict[str, str]:
    return {
        # Our configuration only: never an ansible.cfg from the current directory.
        "ANSIBLE_CONFIG": str(DATA_DIR / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(DATA_DIR / "roles"),
        "ANSIBLE_LIBRARY": str(DATA_DIR / "library"),
        "ANSIBLE_FILTER_PLUGINS": str(DATA_DIR / "filter_plugins"),
        "ANSIBLE_LOCAL_TEMP": str(private_dir / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
        "ANSIBLE_NOCOLOR": "1",
    }


def _write_inputs(run: PlaybookRun) -> tuple[Path, Path]:
    inventory = run.private_dir / "inventory" / "hosts.json"
    inventory.parent.mkdir(parents=True, exist_ok=True)
    write_private(inventory, json.dumps(run.inventory, indent=2, sort_keys=True))
    variables = run.private_dir / "vars.json"
    write_private(variables, json.dumps(run.extra_vars, indent=2, sort_keys=True))
    return inventory, variables


def run_playbook(run: PlaybookRun, progress: Progress) -> PlaybookStats:
    """Run the playbook; its artifacts (events, full stdout) stay under `private_dir`."""
    run.private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (run.private_dir / "tmp").mkdir(exist_ok=True, mode=0o700)
    inventory, variables = _write_inputs(run)
    ident = f"{run.step}-{time.strftime('%Y%m%d-%H%M%S')}"
    events = _Events(progress, run.step)
    started = time.monotonic()
    with ssh_control_dir(run.private_dir) as control_dir, interrupt_flag() as interrupted:
        result = ansible_runner.run(
            private_data_dir=str(run.private_dir),
            inventory=str(inventory),
            # With `binary` set, runner passes no playbook itself: it goes on the cmdline.
            cmdline=shlex.join(["-e", f"@{variables}", str(run.playbook)]),
            tags=",".join(run.tags),
            binary=ansible_playbook(),
            envvars=ansible_environment(run.private_dir, control_dir),
            ident=ident,
            rotate_artifacts=KEEP_ARTIFACTS,
            suppress_env_files=True,
            quiet=True,
            timeout=run.timeout_s,
            event_handler=events,
            cancel_callback=interrupted,
        )
    artifacts = run.private_dir / "artifacts" / ident
    log = artifacts / "stdout"
    if result.status == "canceled":
        raise KeyboardInterrupt
    if events.failures:
        raise InstallError(run.step, events.failures[-1], log)
    if result.status != "successful":
        raise InstallRunError(
            f"ansible-playbook ended with status {result.status} (exit code {result.rc}) "
            f"in step '{run.step}'.",
            details=_tail(log),
            fix=f"read the full log {log}",
        )
    stats = result.stats or {}
    return PlaybookStats(
        step=run.step,
        ok=sum((stats.get("ok") or {}).values()),
        changed=sum((stats.get("changed") or {}).values()),
        changed_tasks=tuple(events.changed_tasks),
        seconds=time.monotonic() - started,
        log=log,
        artifacts=artifacts,
    )


def _tail(log: Path, lines: int = 15) -> str:
    if not log.exists():
        return f"(no log at {log})"
    return "Last lines of the log:\n" + "\n".join(
        log.read_text(errors="replace").splitlines()[-lines:]
    )
