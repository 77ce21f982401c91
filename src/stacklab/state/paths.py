"""Where stacklab keeps things: XDG state and cache directories."""

from __future__ import annotations

import os
from pathlib import Path

APP = "stacklab"


def state_dir() -> Path:
    """Databases, lab directories (keys, passwords, logs). `$XDG_STATE_HOME/stacklab`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP


def cache_dir() -> Path:
    """Things that can be made again: base images, kernels, the probe guest."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP


def lab_dir(lab: str) -> Path:
    return state_dir() / "labs" / lab


def ensure_private_dir(path: Path) -> Path:
    """Create a directory only its owner can read (it holds keys and passwords)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path
