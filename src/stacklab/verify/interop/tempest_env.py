"""Tempest in a virtual environment of its own under the user's cache directory: made once,
pinned, and made again only when it is missing or unfinished."""

from __future__ import annotations

import fcntl
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stacklab.runner import stream_lines
from stacklab.state.paths import cache_dir

# Tempest is branchless; 43.0.0 is the tag its release note names "Tempest for OpenStack
# 2025.1", the series Debian 13 packages.
TEMPEST_VERSION = "43.0.0"
# Its dependencies as they were on the day 2025.1 was released: Tempest's own requirements
# have no upper bounds, and later releases broke this one (oslo.utils 9 dropped
# secretutils.md5, which tempest.lib.common.ssh imports). pip's --uploaded-prior-to keeps
# them there; the pip that has it is installed into the environment first.
DEPENDENCIES_AS_OF = "2025-04-03T00:00:00Z"
_STAMP = ".stacklab-installed"


@dataclass(frozen=True)
class TempestEnv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        found = sorted((self.root / "lib").glob("python3*/site-packages"))
        if not found:
            raise FileNotFoundError(f"no site-packages under {self.root / 'lib'}")
        return found[-1]

    @property
    def installed(self) -> bool:
        stamp = self.root / _STAMP
        return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == TEMPEST_VERSION


def tempest_env(base: Path | None = None) -> TempestEnv:
    return TempestEnv((base or cache_dir()) / "tempest" / TEMPEST_VERSION)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Two verify runs at once must not install into the same environment together."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_tempest(
    env: TempestEnv, progress: Callable[[str], None] = lambda message: None
) -> TempestEnv:
    """The environment with the pinned Tempest; installs it when it is not there yet. An
    install cut short leaves no stamp, so the next call finishes it."""
    with _exclusive(env.root.with_name(f"{env.root.name}.lock")):
        if env.installed and env.python.exists():
            progress(f"tempest {TEMPEST_VERSION}: ready in {env.root}")
            return env
        if not env.python.exists():
            shutil.rmtree(env.root, ignore_errors=True)  # a venv made only in part
            progress(f"tempest {TEMPEST_VERSION}: creating the virtual environment {env.root}")
            stream_lines([sys.executable, "-m", "venv", str(env.root)], lambda line: None)
        progress(f"tempest {TEMPEST_VERSION}: installing (pip, a few minutes the first time)")
        pip = [str(env.python), "-m", "pip", "install", "--progress-bar", "off"]
        fix = "check that this host reaches the Python package index; run it again"
        stream_lines([*pip, "--upgrade", "pip"], lambda line: None, fix=fix)
        stream_lines(
            [*pip, "--uploaded-prior-to", DEPENDENCIES_AS_OF, f"tempest=={TEMPEST_VERSION}"],
            lambda line: _pip_progress(line, progress),
            fix=fix,
        )
        (env.root / _STAMP).write_text(TEMPEST_VERSION + "\n", encoding="utf-8")
        progress(f"tempest {TEMPEST_VERSION}: installed in {env.root}")
    return env


_PIP_NEWS = ("Collecting ", "Installing collected packages", "Successfully installed", "ERROR")


def _pip_progress(line: str, progress: Callable[[str], None]) -> None:
    """One progress line per package pip collects, and its verdict; the rest (and a
    warning per package where the host's pip configuration names a missing local index)
    is noise."""
    text = line.strip()
    if text.startswith(_PIP_NEWS):
        progress(f"pip: {text[:120]}")
