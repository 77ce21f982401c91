"""clouds.yaml merging, openrc, ssh_config (checked by `ssh -G` itself) and `stacklab env`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stacklab.access.cloud_files import (
    environment_text,
    lab_environment,
    openrc_text,
    ssh_config_text,
    write_access_files,
)
from stacklab.core.nodes import NodeAccess
from stacklab.labcloud.clouds_file import merge_into_clouds_file, remove_lab_clouds
from stacklab.openstack_records import Credentials
from stacklab.state.secrets import Secret

PASSWORD = "0123456789abcdef0123456789abcdef"
DEMO_PASSWORD = "fedcba9876543210fedcba9876543210"
KEY = Path("/state/labs/v1/ssh/id_ed25519")
KNOWN_HOSTS = Path("/state/labs/v1/known_hosts")


def test_merge_keeps_other_clouds_and_makes_the_file_private(tmp_path: Path) -> None:
    clouds = tmp_path / "openstack" / "clouds.yaml"
    clouds.parent.mkdir()
    clouds.write_text(yaml.safe_dump({"clouds": {"work": {"auth": {"x": 1}}}, "cache": {"a": 1}}))
    clouds.chmod(0o644)
    merge_into_clouds_file(clouds, {"v1": {"auth": {"y": 2}}, "v1-demo": {"auth": {"z": 3}}})
    document = yaml.safe_load(clouds.read_text())
    assert document["clouds"] == {
        "work": {"auth": {"x": 1}},
        "v1": {"auth": {"y": 2}},
        "v1-demo": {"auth": {"z": 3}},
    }
    assert document["cache"] == {"a": 1}
    assert clouds.stat().st_mode & 0o777 == 0o600


def test_merge_makes_a_private_file_and_directory_when_there_is_none(tmp_path: Path) -> None:
    clouds = tmp_path / "config" / "openstack" / "clouds.yaml"
    merge_into_clouds_file(clouds, {"v1": {"auth": {}}})
    assert clouds.stat().st_mode & 0o777 == 0o600
    assert clouds.parent.stat().st_mode & 0o777 == 0o700


def test_removing_a_lab_drops_only_its_two_entries(tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    merge_into_clouds_file(clouds, {name: {} for name in ("v1", "v1-demo", "v10", "work")})
    remove_lab_clouds("v1", clouds)
    assert sorted(yaml.safe_load(clouds.read_text())["clouds"]) == ["v10", "work"]


def credentials(user: str, password: str) -> Credentials:
    return Credentials("http://10.1.0.9:5000/v3", user, Secret(password), user)


def test_openrc_sources_into_the_openstack_variables() -> None:
    text = openrc_text("v1", credentials("demo", DEMO_PASSWORD))
    shown = subprocess.run(
        ["bash", "-c", 'export OS_CLOUD=other; . /dev/stdin; echo "$OS_CLOUD|$OS_USERNAME"'
         '"|$OS_PASSWORD|$OS_AUTH_URL|$OS_PROJECT_NAME"'],
        input=text, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert shown == f"|demo|{DEMO_PASSWORD}|http://10.1.0.9:5000/v3|demo"


def resolved(config: Path, alias: str) -> dict[str, str]:
    """What ssh itself makes of the config for this alias (`ssh -G`, no connection)."""
    output = subprocess.run(
        ["ssh", "-G", "-F", str(config), alias], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs openssh-client")


@needs_ssh
def test_ssh_config_has_an_alias_per_node_with_the_lab_key(tmp_path: Path) -> None:
    nodes = [
        NodeAccess("ctl", "10.1.0.10", "root", 22, KEY),
        NodeAccess("cmp1", "10.1.0.11", "root", 2222, KEY),
    ]
    config = tmp_path / "ssh_config"
    config.write_text(ssh_config_text("v1", nodes, KNOWN_HOSTS))
    ctl = resolved(config, "v1-ctl")
    assert ctl["hostname"] == "10.1.0.10"
    assert ctl["user"] == "root"
    assert ctl["identityfile"] == str(KEY)
    assert ctl["userknownhostsfile"] == str(KNOWN_HOSTS)
    assert ctl["identitiesonly"] == "yes"
    assert ctl["serveraliveinterval"] == "30"
    assert ctl["connecttimeout"] == "15"
    assert "proxyjump" not in ctl
    assert resolved(config, "v1-cmp1")["port"] == "2222"


@needs_ssh
def test_nodes_behind_a_jump_host_go_through_its_alias(tmp_path: Path) -> None:
    nodes = [
        NodeAccess("gw", "203.0.113.7", "admin", 22, KEY),
        NodeAccess("cmp", "10.0.1.11", "admin", 22, KEY, jump_host="admin@203.0.113.7"),
        NodeAccess("far", "10.0.1.12", "admin", 22, KEY, jump_host="ops@198.51.100.2"),
    ]
    config = tmp_path / "ssh_config"
    config.write_text(ssh_config_text("v1", nodes, KNOWN_HOSTS))
    assert resolved(config, "v1-cmp")["proxyjump"] == "v1-gw"
    far_jump = resolved(config, "v1-far")["proxyjump"]
    assert far_jump == "v1-jump-1"
    jump = resolved(config, far_jump)
    assert (jump["hostname"], jump["user"]) == ("198.51.100.2", "ops")
    assert jump["identityfile"] == str(KEY)


def make_lab_directory(tmp_path: Path) -> Path:
    """A lab directory as the installer leaves it: its clouds.yaml and secrets, the key."""
    directory = tmp_path / "v1"
    (directory / "ssh").mkdir(parents=True)
    (directory / "ssh" / "id_ed25519").write_text("private")
    entry = {"auth": {"auth_url": "http://10.1.0.9:5000/v3", "username": "admin"}}
    (directory / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"v1": entry}}))
    secrets = {"admin_password": PASSWORD, "demo_password": DEMO_PASSWORD}
    (directory / "secrets.json").write_text(json.dumps(secrets))
    return directory


def test_access_files_hold_both_users_and_are_private(tmp_path: Path) -> None:
    directory = make_lab_directory(tmp_path)
    clouds = tmp_path / "user" / "clouds.yaml"
    nodes = [NodeAccess("aio", "10.1.0.10", "root", 22, directory / "ssh" / "id_ed25519")]
    files = write_access_files("v1", directory, nodes, clouds_file=clouds)
    entries = yaml.safe_load(clouds.read_text())["clouds"]
    assert entries["v1"]["auth"]["username"] == "admin"
    assert entries["v1"]["auth"]["password"] == PASSWORD
    assert entries["v1-demo"]["auth"]["username"] == "demo"
    assert entries["v1-demo"]["auth"]["project_name"] == "demo"
    assert entries["v1-demo"]["auth"]["password"] == DEMO_PASSWORD
    assert files.aliases == ("v1-aio",)
    for path in (clouds, files.ssh_config, *files.openrc_files):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_env_tells_how_without_a_secret_and_evaluates(tmp_path: Path) -> None:
    directory = make_lab_directory(tmp_path)
    nodes = [NodeAccess("aio", "10.1.0.10", "root", 22, directory / "ssh" / "id_ed25519")]
    write_access_files("v1", directory, nodes, clouds_file=tmp_path / "clouds.yaml")
    text = lab_environment("v1", directory)
    assert PASSWORD not in text and DEMO_PASSWORD not in text
    assert f"ssh -F {directory / 'ssh_config'} v1-aio" in text
    assert "OS_CLOUD=v1-demo" in text
    evaluated = subprocess.run(
        ["bash", "-c", 'eval "$(cat)"; echo "$OS_CLOUD"'],
        input=text, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert evaluated == "v1"


def test_env_of_a_lab_without_nodes_written_yet_still_names_the_clouds(tmp_path: Path) -> None:
    text = environment_text("v1", tmp_path, ())
    assert "export OS_CLOUD=v1" in text and "ssh -F" not in text
