"""What the cached package layer saves: `stacklab up --until packages` (or --until STEP) of
a new local all-in-one lab without the layer (cold: the packages phase downloads and installs
every package, then saves the layer) and again with it (warm: a second new lab whose node
starts on the layer), each lab taken down after.

The host's apt cache is not dropped: after an earlier lab it holds every package, so the
cold figure is installation from the local cache, the best case without a layer.

Run as root: .venv/bin/python bench/package_layer_bench.py [--until STEP] [--keep-layer]
The cold run needs no layer for the AIO node's packages in the cache; when one is there and
no local lab runs, --drop-layer removes it first (it is made again by the cold run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from labbench import lab_home, stacklab
from stacklab.providers.local.package_layers import STAMP

LAB = "plbench"
SPEC = f"name: {LAB}\n"


def aio_layer() -> Path:
    """Where the layer of this spec's AIO node is (or would be) cached."""
    from stacklab import api
    from stacklab.plan.packages import node_packages
    from stacklab.providers.local.images import BaseImage, images_dir
    from stacklab.providers.local.package_layers import layer_key

    plan = api.plan_file()
    node = plan.nodes[0]
    base = images_dir() / BaseImage(plan.release).name
    return images_dir() / layer_key(base, plan.release, node_packages(plan, node)).name


def step_seconds(step: str) -> float:
    from stacklab import api

    entries = [e for e in api.status(LAB).journal if e.step == step and e.status == "ok"]
    return entries[-1].seconds or 0.0 if entries else 0.0


def one_lab(title: str, until: str, layer: Path) -> None:
    saved_before = layer.exists()
    try:
        seconds = stacklab("up", "--until", until)
        nodes, packages = step_seconds("nodes"), step_seconds("packages")
        print(f"{title}: up --until {until} {seconds:.0f} s (nodes {nodes:.0f} s, packages "
              f"{packages:.0f} s)", flush=True)  # fmt: skip
        if layer.exists() and not saved_before:
            stamp = json.loads((layer / STAMP).read_text())
            size = subprocess.run(["du", "-sm", str(layer)], capture_output=True, text=True)
            print(f"  of which saving the layer: {stamp['save_seconds']:.0f} s, "
                  f"{size.stdout.split()[0]} MiB", flush=True)  # fmt: skip
    finally:
        stacklab("down", LAB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until", default="packages", help="last step of each `up`")
    parser.add_argument("--drop-layer", action="store_true", help="drop a cached layer first")
    options = parser.parse_args()
    with lab_home(SPEC):
        layer = aio_layer()
        if layer.exists() and options.drop_layer:
            shutil.rmtree(layer)
        if layer.exists():
            print(f"cold: skipped, {layer} is cached (--drop-layer when no local lab runs)")
        else:
            one_lab("cold (no package layer; it is saved)", options.until, layer)
            if not layer.exists():
                sys.exit(f"the cold lab saved no layer at {layer}")
        one_lab("warm (package layer cached)", options.until, layer)


if __name__ == "__main__":
    main()
