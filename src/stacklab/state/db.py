"""The state database: labs, the resources each made, and a journal of steps.

SQLite from the standard library in WAL mode. The infrastructure is the truth;
this is its journal, so `down` can still work from markers when this file is lost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from stacklab.errors import StateError
from stacklab.state.paths import state_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS labs (
    name TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    spec_path TEXT,
    spec_hash TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lab TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    ident TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_live
    ON resources (lab, provider, kind, ident) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lab TEXT NOT NULL,
    step TEXT NOT NULL,
    inputs_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS journal_lab ON journal (lab, step);
"""


class LabState(StrEnum):
    """Where a lab stands, as `status` and `list` show it."""

    PLANNED = "planned"
    CREATING = "creating"
    RESTORING = "restoring from a snapshot"
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"


def up_to(step: str) -> str:
    """The status of a lab whose `up --until STEP` completed."""
    return f"up to {step}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LabRecord:
    name: str
    provider: str
    spec_path: str | None
    spec_hash: str
    plan: dict[str, Any]
    status: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ResourceRecord:
    lab: str
    provider: str
    kind: str
    ident: str
    data: dict[str, Any]
    created_at: str
    deleted_at: str | None


@dataclass(frozen=True)
class JournalEntry:
    id: int
    lab: str
    step: str
    inputs_hash: str
    status: str
    started_at: str
    ended_at: str | None
    error: str | None

    @property
    def seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        start = datetime.fromisoformat(self.started_at)
        return (datetime.fromisoformat(self.ended_at) - start).total_seconds()


class StateDB:
    def __init__(self, path: Path | None = None):
        self.path = path or state_dir() / "state.db"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StateError(
                f"Cannot open the state database {self.path}: {error}",
                fix="check that the directory is writable, or set XDG_STATE_HOME elsewhere",
            ) from error
        self._conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # labs
    def save_lab(
        self, name: str, provider: str, spec_path: str | None, spec_hash: str, plan: dict[str, Any]
    ) -> None:
        stamp, status = now(), str(LabState.PLANNED)
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO labs VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(name) DO UPDATE SET provider=excluded.provider,
                     spec_path=excluded.spec_path, spec_hash=excluded.spec_hash,
                     plan_json=excluded.plan_json, updated_at=excluded.updated_at""",
                (name, provider, spec_path, spec_hash, json.dumps(plan), status, stamp, stamp),
            )

    def set_lab_status(self, name: str, status: LabState | str) -> None:
        """status: a LabState, or up_to(step) after `up --until`."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE labs SET status=?, updated_at=? WHERE name=?", (str(status), now(), name)
            )

    def lab(self, name: str) -> LabRecord | None:
        row = self._conn.execute("SELECT * FROM labs WHERE name=?", (name,)).fetchone()
        return _lab(row) if row else None

    def labs(self) -> list[LabRecord]:
        rows = self._conn.execute("SELECT * FROM labs ORDER BY name").fetchall()
        return [_lab(row) for row in rows]

    def forget_lab(self, name: str) -> None:
        """Drop a lab's rows once its infrastructure is gone."""
        with self._transaction() as conn:
            for table, column in (("journal", "lab"), ("resources", "lab"), ("labs", "name")):
                conn.execute(f"DELETE FROM {table} WHERE {column}=?", (name,))

    # resources
    def record_resource(
        self, lab: str, provider: str, kind: str, ident: str, data: dict[str, Any] | None = None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO resources (lab, provider, kind, ident, data, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(lab, provider, kind, ident) WHERE deleted_at IS NULL
                   DO UPDATE SET data=excluded.data""",
                (lab, provider, kind, ident, json.dumps(data or {}), now()),
            )

    def mark_deleted(self, lab: str, kind: str, ident: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                """UPDATE resources SET deleted_at=? WHERE lab=? AND kind=? AND ident=?
                   AND deleted_at IS NULL""",
                (now(), lab, kind, ident),
            )

    def resources(self, lab: str, *, live_only: bool = True) -> list[ResourceRecord]:
        query = "SELECT * FROM resources WHERE lab=?"
        if live_only:
            query += " AND deleted_at IS NULL"
        rows = self._conn.execute(query + " ORDER BY id", (lab,)).fetchall()
        return [
            ResourceRecord(
                row["lab"],
                row["provider"],
                row["kind"],
                row["ident"],
                json.loads(row["data"]),
                row["created_at"],
                row["deleted_at"],
            )
            for row in rows
        ]

    # journal
    def start_step(self, lab: str, step: str, inputs_hash: str) -> int:
        with self._transaction() as conn:
            cursor = conn.execute(
                """INSERT INTO journal (lab, step, inputs_hash, status, started_at)
                   VALUES (?, ?, ?, 'running', ?)""",
                (lab, step, inputs_hash, now()),
            )
            return int(cursor.lastrowid or 0)

    def end_step(self, entry_id: int, status: str, error: str | None = None) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE journal SET status=?, ended_at=?, error=? WHERE id=?",
                (status, now(), error, entry_id),
            )

    def end_abandoned_steps(self, lab: str, error: str) -> int:
        """Mark `killed` the lab's steps still `running`: call it holding the lab's lock,
        when no command can be running them; returns how many there were."""
        with self._transaction() as conn:
            cursor = conn.execute(
                """UPDATE journal SET status='killed', ended_at=?, error=?
                   WHERE lab=? AND status='running'""",
                (now(), error, lab),
            )
            return cursor.rowcount

    def journal(self, lab: str) -> list[JournalEntry]:
        rows = self._conn.execute(
            "SELECT * FROM journal WHERE lab=? ORDER BY id", (lab,)
        ).fetchall()
        return [JournalEntry(**dict(row)) for row in rows]

    def last_success(self, lab: str, step: str) -> JournalEntry | None:
        """The newest successful run of a step; a re-run skips it when its inputs are unchanged."""
        row = self._conn.execute(
            """SELECT * FROM journal WHERE lab=? AND step=? AND status='ok'
               ORDER BY id DESC LIMIT 1""",
            (lab, step),
        ).fetchone()
        return JournalEntry(**dict(row)) if row else None


def _lab(row: sqlite3.Row) -> LabRecord:
    return LabRecord(
        name=row["name"],
        provider=row["provider"],
        spec_path=row["spec_path"],
        spec_hash=row["spec_hash"],
        plan=json.loads(row["plan_json"]),
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
