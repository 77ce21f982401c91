"""Removing a node's directory while the node's last processes still delete their own
files (its root was unmounted lazily): an entry gone meanwhile counts as removed, any other
failure still stops `down`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stacklab.providers.local.teardown import remove_tree


def node_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "storage"
    (directory / "upper/var/lib/ceph/osd").mkdir(parents=True)
    for name in ("block", "keyring", "whoami"):
        (directory / "upper/var/lib/ceph/osd" / name).write_text(name)
    return directory


def unlink_after(other: Callable[..., Any], victim: str) -> Callable[..., Any]:
    """os.unlink as if another process removed `victim` just before rmtree got to it."""
    real = os.unlink

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if os.fsdecode(path) == victim:
            other(path, *args, **kwargs)
        real(path, *args, **kwargs)

    return unlink


def test_a_file_gone_meanwhile_counts_as_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = node_directory(tmp_path)
    monkeypatch.setattr(os, "unlink", unlink_after(os.unlink, "keyring"))
    remove_tree(directory)
    assert not directory.exists()


def test_other_failures_still_stop_the_removal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = node_directory(tmp_path)

    def refuse(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", os.fsdecode(path))

    monkeypatch.setattr(os, "unlink", unlink_after(refuse, "keyring"))
    with pytest.raises(PermissionError):
        remove_tree(directory)
    assert (directory / "upper/var/lib/ceph/osd/keyring").exists()
