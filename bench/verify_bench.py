"""Time to a verified instance on a ready lab, per phase: services alive, boot to ACTIVE,
console markers (DHCP + metadata + SSH ready), floating IP, ping, SSH, cleanup.

Run as root on a lab whose bootstrap has run:
    .venv/bin/python bench/verify_bench.py LAB [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from stacklab.state.paths import lab_dir
from stacklab.verify.phases import PhaseResult, VerifyResult
from stacklab.verify.run import verify_lab


def run_once(lab: str, verbose: bool) -> VerifyResult:
    def report(phase: PhaseResult) -> None:
        if verbose:
            print(f"  {phase.line()}", file=sys.stderr)

    return verify_lab(lab, lab_dir(lab), report=report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print every run as JSON")
    arguments = parser.parse_args()
    results = []
    for number in range(1, arguments.runs + 1):
        print(f"run {number}/{arguments.runs}", file=sys.stderr)
        result = run_once(arguments.lab, not arguments.json)
        results.append(result)
        if not result.passed:
            print(f"verify failed: {result.reason}", file=sys.stderr)
            break
    if arguments.json:
        print(json.dumps([result.to_dict() for result in results], indent=2))
        return
    names = [phase.name for phase in results[0].phases]
    print(f"{'phase':<12} {'median s':>9} {'max s':>7}   ({len(results)} runs)")
    for name in names:
        times = [p.seconds for r in results for p in r.phases if p.name == name]
        print(f"{name:<12} {statistics.median(times):9.1f} {max(times):7.1f}")
    verified = [sum(p.seconds for p in r.phases if p.name != "cleanup") for r in results]
    print(f"{'verified':<12} {statistics.median(verified):9.1f} {max(verified):7.1f}")
    totals = [result.seconds for result in results]
    print(f"{'total':<12} {statistics.median(totals):9.1f} {max(totals):7.1f}")
    if not all(result.passed for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
