"""The lab's clouds.yaml and its entry in the user's clouds.yaml."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.installer.proxy import reached_through_proxy
from stacklab.labcloud.clouds_file import remove_lab_clouds as remove_cloud
from stacklab.labcloud.clouds_file import user_clouds_file, write_lab_clouds
from stacklab.labcloud.credentials import ADMIN_PASSWORD_SECRET, admin_at, admin_credentials
from stacklab.plan.planner import plan
from stacklab.state.secrets import Secret, SecretStore

AUTH_URL = "http://10.1.0.9:5000/v3"


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def write_clouds(lab: str, directory: Path, url: str, password: str) -> Path:
    return write_lab_clouds(lab, directory, admin_at(url, Secret(password)))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_lab_file_and_user_entry_are_private(tmp_path: Path) -> None:
    lab_file = write_clouds("lab1", tmp_path / "lab1", AUTH_URL, Secret("s3cret"))
    user_file = user_clouds_file()
    for path in (lab_file, user_file):
        assert mode(path) == 0o600
        entry = yaml.safe_load(path.read_text())["clouds"]["lab1"]
        assert entry["auth"]["auth_url"] == AUTH_URL
        assert entry["auth"]["password"] == "s3cret"
    assert mode(user_file.parent) == 0o700


def test_other_clouds_of_the_user_are_kept(tmp_path: Path) -> None:
    user_file = user_clouds_file()
    user_file.parent.mkdir(parents=True)
    user_file.write_text("clouds:\n  mine:\n    auth: {auth_url: 'https://cloud.example'}\n")
    write_clouds("lab1", tmp_path / "lab1", AUTH_URL, "pw")
    write_clouds("lab2", tmp_path / "lab2", AUTH_URL, "pw")
    clouds = yaml.safe_load(user_file.read_text())["clouds"]
    assert set(clouds) == {"mine", "lab1", "lab2"}
    assert remove_cloud("lab1") is True
    assert remove_cloud("lab1") is False
    assert set(yaml.safe_load(user_file.read_text())["clouds"]) == {"mine", "lab2"}


def test_a_lab_reached_through_its_proxy_trusts_the_proxys_certificate(tmp_path: Path) -> None:
    """The proxy phase rewrites the lab's clouds.yaml: bootstrap, verify and status then
    connect to the proxy's URL and trust its self-signed certificate."""
    certificate = str(tmp_path / "proxy-certificate.pem")
    url = "https://198.18.0.7/identity/v3"
    write_lab_clouds("lab", tmp_path, admin_at(url, Secret("pw"), certificate))
    SecretStore("lab", tmp_path).get(ADMIN_PASSWORD_SECRET)
    admin = admin_credentials("lab", tmp_path)
    assert (admin.auth_url, admin.cacert) == (url, certificate)
    user = yaml.safe_load(user_clouds_file().read_text(encoding="utf-8"))
    assert user["clouds"]["lab"]["cacert"] == certificate
    write_lab_clouds("lab", tmp_path, admin_at("http://10.0.0.9:5000/v3", Secret("pw")))
    assert admin_credentials("lab", tmp_path).cacert is None


def test_only_a_lab_on_a_cloud_fabric_is_reached_through_its_proxy() -> None:
    catalog = load_catalog(with_host=False)

    def of(provider: dict[str, object]) -> bool:
        document = {"name": "lab", "provider": provider, "access": {"admin_cidr": "192.0.2.7/32"}}
        return reached_through_proxy(plan(Spec.model_validate(document), catalog))

    assert of({"kind": "aws"}) and of({"kind": "local", "fabric": "aws"})
    assert not of({"kind": "local"})
