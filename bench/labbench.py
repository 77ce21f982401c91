"""What the lab benchmarks share: the stacklab CLI timed, and a throwaway home for a lab."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STACKLAB = Path(sys.executable).with_name("stacklab")


def stacklab(*args: str) -> float:
    """Seconds the command took; the benchmark ends with its error output if it failed."""
    started = time.perf_counter()
    done = subprocess.run([str(STACKLAB), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"stacklab {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


@contextmanager
def lab_home(spec: str) -> Iterator[Path]:
    """A temporary directory with the spec, as cwd, holding the state and clouds.yaml; the
    caches (base image, package layers, apt cache) stay the host's."""
    with tempfile.TemporaryDirectory(prefix="stacklab-bench-") as home:
        os.chdir(home)
        os.environ["XDG_STATE_HOME"] = f"{home}/state"
        os.environ["XDG_CONFIG_HOME"] = f"{home}/config"
        Path("stacklab.yaml").write_text(spec)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        yield Path(home)
