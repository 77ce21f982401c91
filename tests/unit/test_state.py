import stat
from pathlib import Path

import pytest

from stacklab.runner import LocalRunner
from stacklab.state.db import StateDB
from stacklab.state.keys import ensure_lab_key, extra_public_key
from stacklab.state.secrets import Secret, SecretStore


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    database = StateDB(tmp_path / "state.db")
    yield database
    database.close()


def test_database_uses_wal(db: StateDB) -> None:
    mode = db._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_lab_saved_updated_and_forgotten(db: StateDB) -> None:
    db.save_lab("one", "local", "/x/stacklab.yaml", "abc", {"nodes": [{"name": "aio"}]})
    db.save_lab("one", "local", "/x/stacklab.yaml", "def", {"nodes": []})
    db.set_lab_status("one", "ready")
    record = db.lab("one")
    assert record is not None
    assert (record.spec_hash, record.status, record.plan) == ("def", "ready", {"nodes": []})
    db.record_resource("one", "local", "bridge", "sl-one-m")
    db.start_step("one", "nodes", "h")
    db.forget_lab("one")
    assert db.lab("one") is None
    assert db.resources("one", live_only=False) == []
    assert db.journal("one") == []


def test_resource_recorded_once_while_live_and_again_after_deletion(db: StateDB) -> None:
    db.record_resource("lab", "local", "bridge", "br0", {"mtu": 1500})
    db.record_resource("lab", "local", "bridge", "br0", {"mtu": 1450})
    live = db.resources("lab")
    assert len(live) == 1 and live[0].data == {"mtu": 1450}
    db.mark_deleted("lab", "bridge", "br0")
    assert db.resources("lab") == []
    db.record_resource("lab", "local", "bridge", "br0")
    assert len(db.resources("lab")) == 1
    assert len(db.resources("lab", live_only=False)) == 2


def test_journal_last_success_is_the_newest_ok(db: StateDB) -> None:
    first = db.start_step("lab", "nodes", "h1")
    db.end_step(first, "ok")
    second = db.start_step("lab", "nodes", "h2")
    db.end_step(second, "failed", "boom")
    done = db.last_success("lab", "nodes")
    assert done is not None and done.inputs_hash == "h1"
    assert [e.status for e in db.journal("lab")] == ["ok", "failed"]
    assert db.journal("lab")[1].error == "boom"
    assert db.journal("lab")[0].seconds is not None


def test_secrets_are_private_stable_and_masked(tmp_path: Path) -> None:
    store = SecretStore("lab", tmp_path / "lab")
    password = store.get("keystone_db")
    assert store.get("keystone_db") == password
    assert store.get("nova_db") != password
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert password not in repr(password) and isinstance(password, Secret)
    assert store.names() == ["keystone_db", "nova_db"]


def test_lab_key_generated_once_with_private_mode(tmp_path: Path) -> None:
    private, public = ensure_lab_key(tmp_path, "lab", LocalRunner())
    again_private, again_public = ensure_lab_key(tmp_path, "lab", LocalRunner())
    assert (private, public) == (again_private, again_public)
    assert public.startswith("ssh-ed25519 ") and public.endswith("stacklab-lab")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_extra_public_key_from_text_or_file(tmp_path: Path) -> None:
    key = "ssh-ed25519 AAAAC3Nza user@host"
    path = tmp_path / "id.pub"
    path.write_text(key + "\n")
    assert extra_public_key(key) == key
    assert extra_public_key(str(path)) == key
    assert extra_public_key(None) is None
