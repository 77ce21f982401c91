"""The admin's and the demo user's credentials of a lab, from its directory: the one place
that builds them.

Keystone's URL comes from the clouds.yaml that the installer's identity step writes in the
lab's directory; passwords come from the lab's SecretStore (mode 0600, never printed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacklab.errors import StateError
from stacklab.labcloud.clouds_file import auth_url, trusted_ca
from stacklab.openstack_records import Credentials
from stacklab.state.keys import KEY_NAME
from stacklab.state.secrets import Secret, SecretStore

ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"
ADMIN_PASSWORD_SECRET = "admin_password"  # made by the installer (installer.phases)
DEMO_USER = "demo"
DEMO_PROJECT = "demo"
DEMO_PASSWORD_SECRET = "demo_password"  # made by bootstrap, with the demo user
INSTALLER_FIX = "run `stacklab up`: the installer makes it"


@dataclass(frozen=True)
class LabCredentials:
    admin: Credentials
    demo: Credentials


def _stored(store: SecretStore, name: str, fix: str) -> Secret:
    # SecretStore.get would make up a new secret, which no service would know.
    if name not in store.names():
        raise StateError(f"The lab has no {name} yet.", fix=fix)
    return store.get(name)


def admin_at(url: str, password: Secret, cacert: str | None = None) -> Credentials:
    """The lab's admin at Keystone's URL (cacert: the CA file to trust there)."""
    return Credentials(url, ADMIN_USER, password, ADMIN_PROJECT, cacert=cacert)


def admin_credentials(lab: str, lab_directory: Path) -> Credentials:
    """The admin's, once the installer has made its password and written Keystone's URL."""
    store = SecretStore(lab, lab_directory)
    return admin_at(
        auth_url(lab, lab_directory),
        _stored(store, ADMIN_PASSWORD_SECRET, INSTALLER_FIX),
        trusted_ca(lab, lab_directory),
    )


def lab_credentials(
    lab: str, lab_directory: Path, *, make_demo_password: bool = False
) -> LabCredentials:
    """make_demo_password: bootstrap makes the demo user and so may make its password."""
    store = SecretStore(lab, lab_directory)
    url, cacert = auth_url(lab, lab_directory), trusted_ca(lab, lab_directory)
    admin = admin_at(url, _stored(store, ADMIN_PASSWORD_SECRET, INSTALLER_FIX), cacert)
    demo_password = (
        store.get(DEMO_PASSWORD_SECRET)
        if make_demo_password
        else _stored(store, DEMO_PASSWORD_SECRET, "run `stacklab up`: its bootstrap step makes it")
    )
    demo = Credentials(url, DEMO_USER, demo_password, DEMO_PROJECT, cacert=cacert)
    return LabCredentials(admin, demo)


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
