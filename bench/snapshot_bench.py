"""How long a golden snapshot takes to give a verified cloud again (issue 5, seed 000's
"90 min to 10-15 min"): `stacklab snapshot NAME` of an installed local lab, `stacklab down`,
then `stacklab up --from NAME`, which ends with a passing verify.

It works on a lab you made: the lab is taken down and made again from the snapshot, and
the snapshot stays (remove it from $XDG_STATE_HOME/stacklab/snapshots/LAB/ when done).

Run as root, in the directory of the lab's stacklab.yaml:
  .venv/bin/python bench/snapshot_bench.py [--name NAME]
"""

from __future__ import annotations

import argparse
import os
import time

from labbench import stacklab


def restored_steps(lab: str, since: str) -> dict[str, float]:
    from stacklab import api

    return {
        entry.step: entry.seconds
        for entry in api.status(lab).journal
        if entry.status == "ok" and entry.seconds is not None and entry.started_at >= since
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="bench", help="the snapshot's name")
    options = parser.parse_args()
    from stacklab import api

    lab = api.load().spec.name
    print(f"lab {lab}; load average before: {os.getloadavg()[0]:.1f}")
    saved = stacklab("snapshot", options.name)
    print(f"snapshot {options.name}: {saved:.0f} s (nodes stopped, copied, started again)")
    removed = stacklab("down", lab)
    print(f"down: {removed:.0f} s")
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    restored = stacklab("up", "--from", options.name)
    print(f"up --from {options.name} to a verified instance: {restored:.0f} s")
    steps = restored_steps(lab, since)
    print("  " + ", ".join(f"{step} {seconds:.0f}" for step, seconds in steps.items()))


if __name__ == "__main__":
    main()
