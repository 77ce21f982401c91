"""What the lab benchmarks share: the stacklab CLI timed, and a throwaway home for a lab."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
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
def lab_home(spec: str, kept: Path | None = None) -> Iterator[Path]:
    """A temporary directory (or `kept`, which stays) with the spec, as cwd, holding the
    state and clouds.yaml; the caches (base image, package layers, apt cache) stay the
    host's."""
    with tempfile.TemporaryDirectory(prefix="stacklab-bench-") as temporary:
        home = kept or Path(temporary)
        home.mkdir(parents=True, exist_ok=True)
        os.chdir(home)
        os.environ["XDG_STATE_HOME"] = f"{home}/state"
        os.environ["XDG_CONFIG_HOME"] = f"{home}/config"
        Path("stacklab.yaml").write_text(spec)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        yield home


def _pss_kib(pid: Path) -> int:
    for line in (pid / "smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _parent(process: Path) -> str | None:
    try:
        return (process / "stat").read_text().rsplit(") ", 1)[1].split()[1]
    except (OSError, IndexError):
        return None


def program_of(argv: list[bytes]) -> str:
    """The program a process runs: the first of its first arguments under /usr/(s)bin."""
    program = next((a for a in argv[:3] if b"/usr/bin/" in a or b"/usr/sbin/" in a), argv[0])
    return Path(program.decode(errors="replace")).name or "?"


def node_memory(
    lab: str, node: str, group: Callable[[list[bytes]], str] = program_of
) -> tuple[int, Counter[str]]:
    """PSS of every process in the node's PID namespace (KiB), and per group of processes
    (by default per program; `group` gets each process's argv)."""
    from stacklab.providers.local.naming import namespace_name
    from stacklab.providers.local.nodes import leaders

    nspawn = str(leaders(namespace_name(lab, node))[0])
    init = next(p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == nspawn)
    namespace = (init / "ns" / "pid").readlink()
    total, per_group = 0, Counter[str]()
    for process in Path("/proc").iterdir():
        try:
            if not process.name.isdigit() or (process / "ns" / "pid").readlink() != namespace:
                continue
            kib = _pss_kib(process)
            argv = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        total += kib
        per_group[group(argv)] += kib
    return total, per_group
