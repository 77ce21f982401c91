"""Generated secrets of a lab: stored with mode 0600 in the lab's directory, never printed."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from stacklab.state.paths import ensure_private_dir, lab_dir

SECRETS_FILE = "secrets.json"


class Secret(str):
    """A string that does not show itself in reprs, logs or tracebacks."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('********')"


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read, created with that mode (no window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)


class SecretStore:
    """Find-or-generate secrets by name for one lab."""

    def __init__(self, lab: str, directory: Path | None = None):
        self.directory = ensure_private_dir(directory or lab_dir(lab))
        self.path = self.directory / SECRETS_FILE

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        loaded: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        return loaded

    def get(self, name: str) -> Secret:
        stored = self._load()
        if name not in stored:
            # URL-safe and without characters that need quoting in INI files or URLs.
            stored[name] = secrets.token_hex(16)
            write_private(self.path, json.dumps(stored, indent=2, sort_keys=True))
        return Secret(stored[name])

    def names(self) -> list[str]:
        return sorted(self._load())
