"""Run one install phase of a lab: inventory and variables from the Plan, secrets made
sure of, the playbook run with the phase's tag, its stats kept in the lab's directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess
from stacklab.installer.ansible import PlaybookRun, PlaybookStats, run_playbook
from stacklab.installer.inventory import build_inventory, extra_vars, keystone_url
from stacklab.installer.phases import PHASES, SECRET_NAMES
from stacklab.installer.proxy import (
    proxy_host,
    proxy_vars,
    reached_through_proxy,
    write_record,
)
from stacklab.labcloud.clouds_file import write_lab_clouds
from stacklab.labcloud.credentials import ADMIN_PASSWORD_SECRET, admin_at
from stacklab.plan.models import Plan
from stacklab.state.secrets import SecretStore, write_private

ANSIBLE_DIR = "ansible"
STATS_DIR = "stats"


def private_dir(lab_directory: Path) -> Path:
    return lab_directory / ANSIBLE_DIR


def stats_file(lab_directory: Path, phase: str) -> Path:
    return private_dir(lab_directory) / STATS_DIR / f"{phase}.json"


@dataclass
class Installer:
    plan: Plan
    context: LabContext
    nodes: tuple[NodeAccess, ...]

    def secrets(self) -> SecretStore:
        """The lab's secrets, every one the roles use generated now (mode 0600)."""
        store = SecretStore(self.plan.lab, self.context.directory)
        for name in SECRET_NAMES:
            store.get(name)
        return store

    def run_phase(self, phase: str) -> PlaybookStats:
        if phase not in PHASES:
            raise ValueError(f"not an install phase: {phase}")
        store = self.secrets()
        run = PlaybookRun(
            private_dir=private_dir(self.context.directory),
            inventory=build_inventory(self.plan, self.nodes),
            extra_vars={
                **extra_vars(self.plan, store.path),
                **proxy_vars(self.plan, self.nodes, self.context.directory),
            },
            tags=(phase,),
            step=phase,
        )
        stats = run_playbook(run, self.context.progress)
        self._keep(stats)
        self.context.progress(f"{phase}: {stats.changed} changed, {stats.ok} ok")
        if phase == "identity":
            admin = admin_at(keystone_url(self.plan), store.get(ADMIN_PASSWORD_SECRET))
            write_lab_clouds(self.plan.lab, self.context.directory, admin)
        if phase == "proxy":
            record = write_record(self.context.directory, proxy_host(self.plan, self.nodes))
            self.context.progress(f"proxy: the APIs at {record.url}")
            if reached_through_proxy(self.plan):
                # bootstrap, verify and status talk to the lab from here on through it.
                admin = admin_at(
                    record.auth_url, store.get(ADMIN_PASSWORD_SECRET), str(record.certificate)
                )
                write_lab_clouds(self.plan.lab, self.context.directory, admin)
        return stats

    def _keep(self, stats: PlaybookStats) -> None:
        path = stats_file(self.context.directory, stats.step)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(stats).items()
        }
        write_private(path, json.dumps(record, indent=2))


def last_stats(lab_directory: Path, phase: str) -> dict[str, object] | None:
    """The stats of the phase's last successful run, as kept by `Installer`."""
    path = stats_file(lab_directory, phase)
    if not path.exists():
        return None
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
