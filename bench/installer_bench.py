"""How long the installer takes for a local all-in-one lab, and how much memory the lab uses.

- cold: a new lab, `stacklab up --until dashboard` (nodes booted, every package downloaded
  through the host's apt cache, or from it if an earlier lab filled it); cold only when
  no package layer is cached yet (`rm -rf ~/.cache/stacklab/images/*-packages-*` first);
- converge: `up` again on the same lab (every phase runs, nothing changes);
- warm: a second new lab after the first is gone: its node starts on the package layer the
  first saved (bench/package_layer_bench.py times that phase alone);
- memory: the proportional set size (PSS) of every process in the node, summed, once the
  cloud has settled, with the biggest services.

Run as root: .venv/bin/python bench/installer_bench.py [--skip-warm]
"""

from __future__ import annotations

import argparse
import time

from labbench import lab_home, node_memory, stacklab

LAB = "ibench"
SPEC = f"name: {LAB}\n"
LAST_PHASE = "dashboard"
SETTLE_S = 60


def phase_seconds() -> dict[str, float]:
    from stacklab import api

    seconds: dict[str, float] = {}
    for entry in api.status(LAB).journal:
        if entry.status == "ok" and entry.seconds is not None:
            seconds[entry.step] = entry.seconds  # the latest run of each step wins
    return seconds


def changed_tasks() -> int:
    from stacklab.installer.installer import last_stats
    from stacklab.installer.phases import PHASES
    from stacklab.state.paths import lab_dir

    total = 0
    for phase in PHASES:
        stats = last_stats(lab_dir(LAB), phase) or {}
        changed = stats.get("changed", 0)
        total += changed if isinstance(changed, int) else 0
    return total


def report(title: str, seconds: float, phases: dict[str, float]) -> None:
    print(f"{title}: {seconds:.0f} s")
    print("  " + ", ".join(f"{step} {phases[step]:.0f}" for step in phases))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-warm", action="store_true", help="no second lab")
    options = parser.parse_args()
    with lab_home(SPEC):
        try:
            cold = stacklab("up", "--until", LAST_PHASE)
            report("cold install (new lab)", cold, phase_seconds())
            time.sleep(SETTLE_S)
            total, per_program = node_memory(LAB, "aio")
            print(f"memory of the AIO node (PSS, no guest): {total / 1024:.0f} MiB")
            for program, kib in per_program.most_common(12):
                print(f"  {kib / 1024:6.0f} MiB {program}")
            converge = stacklab("up", "--until", LAST_PHASE)
            print(f"second up (converge): {converge:.0f} s, {changed_tasks()} tasks changed")
        finally:
            stacklab("down", LAB)
        if not options.skip_warm:
            try:
                warm = stacklab("up", "--until", LAST_PHASE)
                report("warm install (new lab, apt cache full)", warm, phase_seconds())
            finally:
                stacklab("down", LAB)


if __name__ == "__main__":
    main()
