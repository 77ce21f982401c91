"""clouds.yaml: the lab's own file in its directory (the admin, as the installer's identity
step writes it), and the lab's entries (`<lab>` for the admin, `<lab>-demo` for the demo
user) merged into the user's ~/.config/openstack/clouds.yaml. All mode 0600."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from stacklab.errors import StateError
from stacklab.openstack_records import Credentials
from stacklab.state.paths import ensure_private_dir
from stacklab.state.secrets import write_private

LAB_CLOUDS_FILE = "clouds.yaml"
CLOUDS_HEADER = "# Entries named after stacklab labs are written by stacklab.\n"


def user_clouds_file() -> Path:
    """Where openstacksdk and the openstack client look first for the user's clouds."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "openstack" / "clouds.yaml"


def admin_cloud(lab: str) -> str:
    return lab


def demo_cloud(lab: str) -> str:
    return f"{lab}-demo"


def cloud_entry(credentials: Credentials) -> dict[str, Any]:
    trusted = {"cacert": credentials.cacert} if credentials.cacert else {}
    return {
        **trusted,
        "auth": {
            "auth_url": credentials.auth_url,
            "username": credentials.username,
            "password": str(credentials.password),  # a plain str: Secret has no YAML form
            "project_name": credentials.project_name,
            "user_domain_name": credentials.domain,
            "project_domain_name": credentials.domain,
        },
        "region_name": credentials.region_name,
        "identity_api_version": 3,
        "interface": "public",
    }


def merged_clouds(
    document: Mapping[str, Any], entries: Mapping[str, dict[str, Any] | None]
) -> dict[str, Any]:
    """The clouds.yaml document with these clouds set (removed where None), the rest kept."""
    clouds = dict(document.get("clouds") or {})
    for name, entry in entries.items():
        if entry is None:
            clouds.pop(name, None)
        else:
            clouds[name] = entry
    return {**document, "clouds": clouds}


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _write(path: Path, document: Mapping[str, Any]) -> None:
    ensure_private_dir(path.parent)
    write_private(path, CLOUDS_HEADER + yaml.safe_dump(dict(document), sort_keys=True))


def merge_into_clouds_file(
    path: Path, entries: Mapping[str, dict[str, Any] | None]
) -> dict[str, Any]:
    """Merge the entries into a clouds.yaml (made 0600 in a 0700 directory if new)."""
    current = _load_yaml(path)
    wanted = merged_clouds(current, entries)
    if wanted != current or not path.exists():
        _write(path, wanted)
    path.chmod(0o600)
    return wanted


def write_lab_clouds(lab: str, lab_directory: Path, admin: Credentials) -> Path:
    """The lab's own clouds.yaml, and its admin entry in the user's; returns the lab's."""
    entry = cloud_entry(admin)
    lab_file = lab_directory / LAB_CLOUDS_FILE
    _write(lab_file, {"clouds": {admin_cloud(lab): entry}})
    merge_into_clouds_file(user_clouds_file(), {admin_cloud(lab): entry})
    return lab_file


def remove_lab_clouds(lab: str, path: Path | None = None) -> bool:
    """Drop the lab's entries from the user's clouds.yaml (for `down`); True if one was there."""
    target = path or user_clouds_file()
    names = (admin_cloud(lab), demo_cloud(lab))
    if not any(name in (_load_yaml(target).get("clouds") or {}) for name in names):
        return False
    merge_into_clouds_file(target, dict.fromkeys(names))
    return True


def auth_url(lab: str, lab_directory: Path) -> str:
    """Keystone's URL, as the installer wrote it in the lab's own clouds.yaml."""
    return str(_admin_entry(lab, lab_directory)["auth"]["auth_url"])


def trusted_ca(lab: str, lab_directory: Path) -> str | None:
    """The CA file the lab's own clouds.yaml trusts (the TLS proxy's certificate), if any."""
    found = _admin_entry(lab, lab_directory).get("cacert")
    return str(found) if found else None


def _admin_entry(lab: str, lab_directory: Path) -> dict[str, Any]:
    path = lab_directory / LAB_CLOUDS_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        entry = document["clouds"][admin_cloud(lab)]
        entry["auth"]["auth_url"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise StateError(
            f"Lab {lab} has no Keystone URL yet ({path}: {type(error).__name__}).",
            fix="run `stacklab up`: its identity step writes it",
        ) from None
    return dict(entry)
