"""Time to two SSH-reachable local nodes, cold and warm, and time to take them down (issue 3).

cold: the base image is built from nothing, into a temporary cache dir;
warm: the same lab again with that image cached. Each run is the provider's `networks` and
`nodes` steps (check, bridges, NAT, netns, veths, overlay roots, boot, SSH), then `destroy`.
The host's apt cache (apt-cacher-ng) is shared by every lab and is not emptied: a cold run
downloads only what it has not seen before. Needs root.

Run: .venv/bin/python bench/local_provider.py [--lab NAME] [--release trixie|bookworm]
Targets: cold < 120 s, warm < 20 s, down < 30 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import Spec
from stacklab.core.context import LabContext
from stacklab.plan.models import Plan
from stacklab.plan.planner import plan as make_plan
from stacklab.providers.local.provider import LocalProvider
from stacklab.runner import LocalRunner
from stacklab.state.db import StateDB
from stacklab.state.keys import ensure_lab_key
from stacklab.state.paths import ensure_private_dir, lab_dir

TARGETS = {"cold": 120.0, "warm": 20.0, "down (cold lab)": 30.0, "down (warm lab)": 30.0}
OS_OF_RELEASE = {"trixie": "debian-13", "bookworm": "debian-12"}


def two_node_plan(lab: str, release: str) -> Plan:
    spec = Spec.model_validate(
        {
            "name": lab,
            "os": OS_OF_RELEASE[release],
            "topology": {
                "nodes": [
                    {"name": "n1", "roles": ["controller", "network"]},
                    {"name": "n2", "roles": ["compute"]},
                ]
            },
        }
    )
    return make_plan(spec, load_catalog())


def up_and_down(plan: Plan, db: StateDB, verbose: bool) -> tuple[float, float]:
    provider = LocalProvider()
    directory = ensure_private_dir(lab_dir(plan.lab))
    private, public = ensure_lab_key(directory, plan.lab, LocalRunner())
    progress = print if verbose else (lambda message: None)
    context = LabContext(plan.lab, directory, db, private, public, progress)
    started = time.monotonic()
    try:
        provider.check(plan)
        provider.create_networks(plan, context)
        nodes = provider.create_nodes(plan, context)
        up = time.monotonic() - started
        assert len(nodes) == 2
    finally:
        started_down = time.monotonic()
        provider.destroy(plan.lab, progress)
        down = time.monotonic() - started_down
    return up, down


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lbench", help="lab name (default: lbench)")
    parser.add_argument("--release", default="trixie", choices=sorted(OS_OF_RELEASE))
    parser.add_argument("--verbose", action="store_true", help="print the provider's progress")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="stacklab-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(scratch / "cache")
    os.environ["XDG_STATE_HOME"] = str(scratch / "state")
    figures: dict[str, float] = {}
    try:
        plan = two_node_plan(args.lab, args.release)
        with StateDB() as db:
            LocalProvider().destroy(plan.lab, lambda message: None)
            figures["cold"], figures["down (cold lab)"] = up_and_down(plan, db, args.verbose)
            figures["warm"], figures["down (warm lab)"] = up_and_down(plan, db, args.verbose)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    missed = 0
    print(f"local provider, 2 nodes, Debian {args.release}, {os.cpu_count()} CPUs")
    for name, seconds in figures.items():
        target = TARGETS[name]
        verdict = "ok" if seconds < target else "MISSED"
        missed += seconds >= target
        print(f"  {name:<16} {seconds:7.1f} s   (target < {target:.0f} s: {verdict})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
