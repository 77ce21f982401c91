"""The admin's and the demo user's credentials of a lab, from its directory.

Keystone's URL comes from the clouds.yaml that the installer's identity step writes in the
lab's directory; passwords come from the lab's SecretStore (mode 0600, never printed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from stacklab.bootstrap.resources import (
    ADMIN_PASSWORD_SECRET,
    DEMO_PASSWORD_SECRET,
    DEMO_PROJECT,
    DEMO_USER,
)
from stacklab.errors import StateError
from stacklab.installer.clouds import LAB_CLOUDS_FILE
from stacklab.openstack_records import Credentials
from stacklab.state.keys import KEY_NAME
from stacklab.state.secrets import Secret, SecretStore

ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"


@dataclass(frozen=True)
class LabCredentials:
    admin: Credentials
    demo: Credentials


def auth_url(lab: str, lab_directory: Path) -> str:
    """Keystone's URL, as the installer wrote it for the lab's admin."""
    path = lab_directory / LAB_CLOUDS_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        url = document["clouds"][lab]["auth"]["auth_url"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise StateError(
            f"Lab {lab} has no Keystone URL yet ({path}: {type(error).__name__}).",
            fix="run `stacklab up`: its identity step writes it",
        ) from None
    return str(url)


def _stored(store: SecretStore, name: str, fix: str) -> Secret:
    # SecretStore.get would make up a new secret, which no service would know.
    if name not in store.names():
        raise StateError(f"The lab has no {name} yet.", fix=fix)
    return store.get(name)


def lab_credentials(
    lab: str, lab_directory: Path, *, make_demo_password: bool = False
) -> LabCredentials:
    """make_demo_password: bootstrap makes the demo user and so may make its password."""
    store = SecretStore(lab, lab_directory)
    url = auth_url(lab, lab_directory)
    admin = Credentials(
        url,
        ADMIN_USER,
        _stored(store, ADMIN_PASSWORD_SECRET, "run `stacklab up`: the installer makes it"),
        ADMIN_PROJECT,
    )
    demo_password = (
        store.get(DEMO_PASSWORD_SECRET)
        if make_demo_password
        else _stored(store, DEMO_PASSWORD_SECRET, "run `stacklab up`: its bootstrap step makes it")
    )
    return LabCredentials(admin, Credentials(url, DEMO_USER, demo_password, DEMO_PROJECT))


def lab_private_key(lab_directory: Path) -> Path:
    """The lab's own SSH key (`state.keys`): the keypair in the cloud is its public half."""
    return lab_directory / "ssh" / KEY_NAME


def lab_public_key(lab_directory: Path) -> str:
    path = lab_private_key(lab_directory).with_name(f"{KEY_NAME}.pub")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise StateError(
            f"Lab key {path} is missing.", fix="run `stacklab up`: its nodes step makes it"
        ) from None
