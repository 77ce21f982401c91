"""clouds.yaml for the lab's admin: one file in the lab's directory, and the same entry,
named after the lab, merged into the user's ~/.config/openstack/clouds.yaml (mode 0600)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from stacklab.installer.inventory import REGION
from stacklab.state.paths import ensure_private_dir
from stacklab.state.secrets import write_private

LAB_CLOUDS_FILE = "clouds.yaml"


def user_clouds_file() -> Path:
    """Where openstacksdk and the openstack client look first for the user's clouds."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "openstack" / "clouds.yaml"


def cloud_entry(auth_url: str, password: str) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": auth_url,
            "username": "admin",
            "password": str(password),  # a plain str: Secret has no YAML form
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": REGION,
        "identity_api_version": 3,
        "interface": "public",
    }


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _dump(path: Path, document: dict[str, Any]) -> None:
    ensure_private_dir(path.parent)
    text = "# Entries named after stacklab labs are written by stacklab.\n" + yaml.safe_dump(
        document, sort_keys=True
    )
    write_private(path, text)


def merged(document: dict[str, Any], name: str, entry: dict[str, Any] | None) -> dict[str, Any]:
    """The document with cloud `name` set to `entry` (removed when None); the rest kept."""
    clouds = dict(document.get("clouds") or {})
    if entry is None:
        clouds.pop(name, None)
    else:
        clouds[name] = entry
    return {**document, "clouds": clouds}


def write_clouds(lab: str, lab_directory: Path, auth_url: str, password: str) -> Path:
    """Write the lab's clouds.yaml and merge its entry into the user's; returns the lab's."""
    entry = cloud_entry(auth_url, password)
    lab_file = lab_directory / LAB_CLOUDS_FILE
    _dump(lab_file, {"clouds": {lab: entry}})
    user_file = user_clouds_file()
    current = _load(user_file)
    wanted = merged(current, lab, entry)
    if wanted != current:
        _dump(user_file, wanted)
    return lab_file


def remove_cloud(lab: str) -> bool:
    """Remove the lab's entry from the user's clouds.yaml (for `down`); True if it was there."""
    user_file = user_clouds_file()
    current = _load(user_file)
    if lab not in (current.get("clouds") or {}):
        return False
    _dump(user_file, merged(current, lab, None))
    return True
