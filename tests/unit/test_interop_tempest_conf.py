"""tempest.conf from the lab's facts: every value Tempest needs, feature flags that follow
what the lab runs, the volume service only with Cinder, and the file private."""

from __future__ import annotations

import configparser
import dataclasses
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from stacklab.errors import CloudError
from stacklab.openstack_records import Credentials
from stacklab.state.secrets import Secret
from stacklab.verify.interop.run import stestr_conf, write_workspace
from stacklab.verify.interop.tempest_conf import (
    LabFacts,
    project_network_cidr,
    render_tempest_conf,
    volume_catalog_type,
)
from stacklab.verify.interop.tempest_env import TempestEnv

WORKSPACE = Path("/state/labs/v1/interop")
PASSWORD = "3f9c$0d1e2b4a5968"
FACTS = LabFacts(
    admin=Credentials("http://10.150.1.10:5000/v3", "admin", Secret(PASSWORD), "admin"),
    image_ref="11111111-aaaa-4000-8000-000000000001",
    image_ref_alt="22222222-bbbb-4000-8000-000000000002",
    flavor_ref="f-tiny",
    flavor_ref_alt="f-small",
    public_network_id="33333333-cccc-4000-8000-000000000003",
    public_network_name="public",
    compute_microversions=("2.1", "2.100"),
    volume_microversions=None,
    network_extensions=("external-net", "port-security", "router", "security-group"),
    compute_nodes=1,
    software_emulation=True,
    project_network_cidr=IPv4Network("192.168.128.0/17"),
)


def parsed(facts: LabFacts = FACTS) -> configparser.RawConfigParser:
    conf = configparser.RawConfigParser()
    conf.read_string(render_tempest_conf(facts, WORKSPACE))
    return conf


def test_the_admin_and_keystone_are_the_labs() -> None:
    conf = parsed()
    assert conf["identity"]["uri_v3"] == "http://10.150.1.10:5000/v3"
    assert conf["identity"]["region"] == "RegionOne"
    assert conf["auth"]["admin_username"] == "admin"
    assert conf["auth"]["admin_project_name"] == "admin"
    assert conf["auth"]["admin_domain_name"] == "Default"
    # oslo.config would read "$0d1e…" as a reference to another option.
    assert conf["auth"]["admin_password"] == PASSWORD.replace("$", "$$")
    assert conf["auth"]["use_dynamic_credentials"] == "true"


def test_images_flavors_network_and_microversions_are_the_labs() -> None:
    conf = parsed()
    compute = conf["compute"]
    assert compute["image_ref"] == FACTS.image_ref
    assert compute["image_ref_alt"] == FACTS.image_ref_alt
    assert (compute["flavor_ref"], compute["flavor_ref_alt"]) == ("f-tiny", "f-small")
    assert (compute["min_microversion"], compute["max_microversion"]) == ("2.1", "2.100")
    network = conf["network"]
    assert network["public_network_id"] == FACTS.public_network_id
    assert network["floating_network_name"] == "public"
    assert network["project_network_cidr"] == "192.168.128.0/17"
    assert conf["validation"]["image_ssh_user"] == "root"
    assert conf["validation"]["connect_method"] == "floating"
    assert conf["validation"]["run_validation"] == "true"
    assert conf["network-feature-enabled"]["api_extensions"] == (
        "external-net,port-security,router,security-group"
    )
    assert conf["network-feature-enabled"]["port_security"] == "true"


def test_no_cinder_no_volume_service() -> None:
    conf = parsed()
    assert conf["service_available"]["cinder"] == "false"
    assert not conf.has_section("volume")
    assert conf["compute-feature-enabled"]["attach_encrypted_volume"] == "false"


def test_cinder_gives_the_volume_service_and_its_microversions() -> None:
    conf = parsed(
        dataclasses.replace(
            FACTS, volume_microversions=("3.0", "3.70"), volume_catalog_type="volumev3"
        )
    )
    assert conf["service_available"]["cinder"] == "true"
    assert conf["volume"]["catalog_type"] == "volumev3"
    assert (conf["volume"]["min_microversion"], conf["volume"]["max_microversion"]) == (
        "3.0",
        "3.70",
    )


def test_migration_needs_two_compute_nodes_and_resize_is_on() -> None:
    one = parsed()["compute-feature-enabled"]
    assert (one["live_migration"], one["cold_migration"]) == ("false", "false")
    assert one["resize"] == "true"
    two = parsed(dataclasses.replace(FACTS, compute_nodes=2))["compute-feature-enabled"]
    assert (two["live_migration"], two["cold_migration"]) == ("true", "true")


def test_timeouts_follow_the_hypervisor_and_no_port_security_without_its_extension() -> None:
    assert parsed()["compute"]["build_timeout"] == "900"
    kvm = parsed(
        dataclasses.replace(FACTS, software_emulation=False, network_extensions=("router",))
    )
    assert kvm["compute"]["build_timeout"] == "300"
    assert kvm["network-feature-enabled"]["port_security"] == "false"


def test_validation_is_off_where_this_host_does_not_reach_floating_ips() -> None:
    assert parsed(dataclasses.replace(FACTS, validation=False))["validation"]["run_validation"] == (
        "false"
    )


def test_tempest_logs_and_locks_in_the_labs_workspace() -> None:
    conf = parsed()
    assert conf["DEFAULT"]["log_file"] == str(WORKSPACE / "tempest.log")
    assert conf["oslo_concurrency"]["lock_path"] == str(WORKSPACE / "locks")


def test_project_networks_avoid_the_labs_networks() -> None:
    lab = (IPv4Network("10.150.1.0/24"), IPv4Network("10.150.2.0/24"))
    assert project_network_cidr(lab) == IPv4Network("192.168.128.0/17")
    taken = (*lab, IPv4Network("192.168.200.0/24"))
    assert project_network_cidr(taken) == IPv4Network("172.30.0.0/16")
    with pytest.raises(CloudError, match="overlaps a network of the lab"):
        project_network_cidr((IPv4Network("192.168.0.0/16"), IPv4Network("172.16.0.0/12")))


def test_the_workspace_keeps_tempest_conf_private(tmp_path: Path) -> None:
    env = TempestEnv(tmp_path / "tempest")
    (env.root / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    workspace = tmp_path / "interop"
    (workspace / ".stestr").mkdir(parents=True)  # stestr's repository, made by `stestr init`
    path = write_workspace(env, workspace, render_tempest_conf(FACTS, workspace))
    assert path == workspace / "etc" / "tempest.conf"
    assert path.stat().st_mode & 0o777 == 0o600
    assert workspace.stat().st_mode & 0o777 == 0o700
    assert "admin_password = " in path.read_text(encoding="utf-8")
    stestr = (workspace / ".stestr.conf").read_text(encoding="utf-8")
    assert stestr == stestr_conf(env)
    assert f"test_path={env.site_packages}/tempest/test_discover" in stestr


def test_thevolume_catalog_type_is_the_one_the_lab_registered() -> None:
    assert volume_catalog_type(["compute", "identity", "volumev3"]) == "volumev3"
    assert volume_catalog_type(["block-storage", "volumev3"]) == "block-storage"
    with pytest.raises(CloudError, match="no Block Storage endpoint"):
        volume_catalog_type(["compute", "identity", "image", "network"])


def test_image_listing_tests_upload_only_data_glance_accepts() -> None:
    """With enforcement off, Tempest uploads random bytes once per configured disk format;
    Glance checks content against disk_format, and random bytes are only a raw image."""
    conf = parsed()
    assert conf["image-feature-enabled"]["image_format_enforcement"] == "false"
    assert conf["image"]["disk_formats"].split(",") == ["raw"]
    assert conf["image"]["container_formats"].split(",") == ["bare"]
