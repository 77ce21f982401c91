"""The full `stacklab verify --interop` on a ready lab: every required test of the shipped
interop guideline with Tempest, timed; passed, failed, skipped and missing per service,
and each skip's and failure's reason. A full run is an hour or more on 2 cores with TCG
guests, which is why CI runs only a slice (tests/integration/test_interop.py).

Run as root on a lab whose `up` has finished (state under XDG_STATE_HOME as for the lab):
    .venv/bin/python bench/interop_bench.py LAB [--concurrency N] [--only SERVICE]...
        [--regex RE] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from stacklab import api
from stacklab.verify.interop.results import TestResult
from stacklab.verify.interop.run import InteropOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], help="a service (repeatable)")
    parser.add_argument("--regex", default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the report here too")
    arguments = parser.parse_args()
    options = InteropOptions(tuple(arguments.only), arguments.regex, arguments.concurrency)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    def on_result(done: int, total: int, result: TestResult) -> None:
        reason = f"  {result.reason}" if result.reason else ""
        print(
            f"[{done}/{total}] {result.outcome.value:<7} {result.test.name}{reason}",
            file=sys.stderr,
        )

    started = time.monotonic()
    report = api.verify_interop(
        arguments.lab,
        options,
        progress=lambda message: print(f"-> {message}", file=sys.stderr),
        on_result=on_result,
    )
    wall = time.monotonic() - started
    print("\n".join(report.lines()))
    print(f"wall time with Tempest's setup: {wall:.0f} s; Tempest's run: {report.seconds:.0f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if arguments.json:
        arguments.json.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    if not report.passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
