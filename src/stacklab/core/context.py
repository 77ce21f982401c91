"""What every step may use while it works on one lab."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacklab.core.nodes import ProgressCallback
from stacklab.state.db import StateDB


@dataclass
class LabContext:
    """The lab's name, its private directory and key, the journal, and where progress goes."""

    lab: str
    directory: Path
    db: StateDB
    ssh_private_key: Path
    ssh_public_key: str
    progress: ProgressCallback

    def record(self, provider: str, kind: str, ident: str, **data: Any) -> None:
        self.db.record_resource(self.lab, provider, kind, ident, data)

    def forget(self, kind: str, ident: str) -> None:
        self.db.mark_deleted(self.lab, kind, ident)
