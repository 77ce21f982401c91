"""How long `stacklab doctor` takes on this host: cold (probe guest built from nothing,
in a temporary cache) and warm (probe guest cached). The issue asks for under 60 s.

Run as root: .venv/bin/python bench/doctor_bench.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STACKLAB = Path(sys.executable).with_name("stacklab")


def timed_doctor(cache_home: str) -> tuple[float, str]:
    env = {**os.environ, "XDG_CACHE_HOME": cache_home, "NO_COLOR": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(STACKLAB), "doctor", "--json"], capture_output=True, text=True, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"doctor failed ({done.returncode}): {done.stderr}")
    return seconds, str(json.loads(done.stdout)["hypervisor"])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="stacklab-bench-") as cache_home:
        cold, hypervisor = timed_doctor(cache_home)
        warm_runs = [timed_doctor(cache_home)[0] for _ in range(3)]
    print(f"doctor cold (downloads the probe kernel, builds the guest): {cold:.1f} s")
    print(f"doctor warm (probe guest cached), best of 3: {min(warm_runs):.1f} s")
    print(f"hypervisor chosen: {hypervisor}")


if __name__ == "__main__":
    main()
