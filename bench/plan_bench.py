"""How long `plan()` takes for a 200-node spec (issue 2: under 1 s).

Run: .venv/bin/python bench/plan_bench.py [--nodes N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import yaml

from stacklab.catalog import load_catalog
from stacklab.config.loader import parse_spec_text
from stacklab.config.models import Spec
from stacklab.plan.planner import plan

TARGET_SECONDS = 1.0


def big_spec(provider: str, nodes: int) -> Spec:
    return Spec.model_validate(big_spec_data(provider, nodes))


def big_spec_data(provider: str, nodes: int) -> dict[str, Any]:
    """A controller, a network node, a storage node and computes for the rest."""
    listed: list[dict[str, Any]] = [
        {"name": "controller", "roles": ["controller"]},
        {"name": "network", "roles": ["network"]},
        {"name": "storage", "roles": ["storage"]},
    ]
    listed += [{"name": f"compute{index}", "roles": ["compute"]} for index in range(nodes - 3)]
    settings: dict[str, Any] = {"kind": provider}
    if provider == "gcp":
        settings["machine_types"] = {"compute": "n2-standard-4", "network": "n2-standard-4"}
    return {
        "name": "bench",
        "provider": settings,
        "topology": {"nodes": listed},
        "services": {"cinder": True},
    }


def measure(spec: Spec, runs: int) -> list[float]:
    catalog = load_catalog(with_host=False)
    plan(spec, catalog)  # warm up: imports, caches
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        planned = plan(spec, catalog)
        timings.append(time.perf_counter() - start)
    assert len(planned.nodes) == len(spec.topology.nodes or [])
    return timings


def measure_from_yaml(provider: str, nodes: int, runs: int) -> list[float]:
    """What `stacklab plan` does: read the YAML (with line numbers), validate, plan."""
    text = yaml.safe_dump(big_spec_data(provider, nodes), sort_keys=False)
    catalog = load_catalog(with_host=False)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        spec, _lines = parse_spec_text(text, "bench.yaml")
        plan(spec, catalog)
        timings.append(time.perf_counter() - start)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    slow = False
    print(f"plan() of a {args.nodes}-node spec, {args.runs} runs each (target < 1 s):")
    for provider in ("local", "gcp"):
        for label, timings in (
            (f"plan() {provider}", measure(big_spec(provider, args.nodes), args.runs)),
            (f"YAML+plan {provider}", measure_from_yaml(provider, args.nodes, args.runs)),
        ):
            best, median = min(timings), statistics.median(timings)
            slow |= median >= TARGET_SECONDS
            print(
                f"  {label:15} best {best * 1000:8.2f} ms   median {median * 1000:8.2f} ms   "
                f"worst {max(timings) * 1000:8.2f} ms"
            )
    if slow:
        print("SLOWER than the target")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
