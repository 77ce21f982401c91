"""How a node is reached, and how work in progress is told to the user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class NodeAccess:
    """How to reach a node over SSH: the one path the installer uses on every provider."""

    name: str
    host: str
    user: str
    port: int
    private_key: Path
    jump_host: str | None = None
