"""Package layers of the local provider: their key, what of a node they leave out, which
nodes give one, and saving one (into a cache dir under tmp_path)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import Spec
from stacklab.core.nodes import NodeAccess
from stacklab.errors import ProviderError
from stacklab.installer.inventory import build_inventory
from stacklab.installer.package_layer import configured_before
from stacklab.plan.models import Plan
from stacklab.plan.packages import node_packages
from stacklab.plan.planner import plan
from stacklab.providers.local.images import STAMP as BASE_STAMP
from stacklab.providers.local.layer_contents import UNITS_TO_ENABLE, Keep, keep, units_to_enable
from stacklab.providers.local.layer_saving import NodeLayerSource, why_not
from stacklab.providers.local.node_files import AptSettings, node_files
from stacklab.providers.local.nodes import NodeMarker, node_dirs, write_marker
from stacklab.providers.local.package_layers import (
    STAMP,
    LayerKey,
    cached_layer,
    cached_layers,
    layer_key,
    layers_for,
    save_layer,
)
from stacklab.providers.local.provider import LocalProvider
from stacklab.runner import LocalRunner
from stacklab.state.db import JournalEntry

BASE = "debian-bookworm-base-0123abcd"
APT = AptSettings("http://mirror.invalid/debian", None, "http://10.1.0.1:3142/")


def lab_plan(preset: str = "aio") -> Plan:
    spec = Spec.model_validate({"name": "t1", "topology": {"preset": preset}})
    return plan(spec, load_catalog(with_host=False))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache dir with a base image in it; returns the base's directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    base = tmp_path / "cache" / "stacklab" / "images" / BASE
    (base / "etc").mkdir(parents=True)
    (base / BASE_STAMP).write_text(json.dumps({"built_at": "2026-01-01T00:00:00+00:00"}))
    return base


# the key


def test_key_ignores_the_order_and_repeats_of_packages() -> None:
    one = LayerKey(BASE, "t0", "bookworm", ("nova-api", "keystone"))
    two = LayerKey(BASE, "t0", "bookworm", ("keystone", "nova-api", "keystone"))
    assert one.name == two.name
    assert one.name.startswith(f"{BASE}-packages-")


@pytest.mark.parametrize(
    "other",
    [
        LayerKey("debian-bookworm-base-ffffffff", "t0", "bookworm", ("keystone",)),
        LayerKey(BASE, "t1", "bookworm", ("keystone",)),  # the same recipe, built again
        LayerKey(BASE, "t0", "trixie", ("keystone",)),
        LayerKey(BASE, "t0", "bookworm", ("keystone", "glance")),
    ],
)
def test_key_changes_with_the_base_its_build_the_release_and_the_packages(
    other: LayerKey,
) -> None:
    assert LayerKey(BASE, "t0", "bookworm", ("keystone",)).name != other.name


def test_key_reads_the_base_images_build(cache: Path) -> None:
    key = layer_key(cache, "bookworm", ["b", "a"])
    assert key == LayerKey(BASE, "2026-01-01T00:00:00+00:00", "bookworm", ("a", "b"))


def test_node_packages_are_the_inventorys() -> None:
    planned = lab_plan("multinode")
    accesses = tuple(NodeAccess(n.name, "10.0.0.1", "root", 22, Path("k")) for n in planned.nodes)
    hosts = build_inventory(planned, accesses)["all"]["hosts"]
    for node in planned.nodes:
        assert node_packages(planned, node) == hosts[node.name]["node_packages"]


def test_nodes_with_the_same_packages_share_a_layer(cache: Path) -> None:
    planned = lab_plan("multinode")
    names = {
        node.name: layer_key(cache, planned.release, node_packages(planned, node)).name
        for node in planned.nodes
    }
    assert names["compute1"] == names["compute2"]
    assert len({names["controller"], names["network"], names["compute1"]}) == 3


# what a layer leaves out


@pytest.mark.parametrize(
    "path",
    [
        "etc/ssh/ssh_host_ed25519_key",
        "etc/ssh/ssh_host_rsa_key.pub",
        "etc/machine-id",
        "var/lib/dbus/machine-id",
        "etc/resolv.conf",
        "root/.ssh/known_hosts",
        "root/.ansible/tmp/x",
        "var/cache/apt/archives/nova-api_26.0_all.deb",
        "var/cache/apt/pkgcache.bin",
        "var/lib/apt/lists/mirror.invalid_debian_dists_bookworm_InRelease",
        "var/log/journal/0123456789abcdef/system.journal",
        "tmp/ansible-xyz",
        "var/tmp/systemd-private-1/tmp",
        "etc/keystone/fernet-keys/0",
        "etc/keystone/credential-keys/1",
        "var/lib/rabbitmq/.erlang.cookie",
        "etc/ssl/private/ssl-cert-snakeoil.key",
    ],
)
def test_what_is_the_nodes_own_is_left_out(path: str) -> None:
    assert keep(path, regular_file=True) is Keep.NOTHING


def test_every_file_stacklab_writes_into_a_node_is_left_out() -> None:
    planned = lab_plan("multinode")
    for node in planned.nodes:
        for path in node_files(planned, node, APT, "ssh-ed25519 AAAA k"):
            assert keep(path, regular_file=True) is Keep.NOTHING, path


@pytest.mark.parametrize(
    "path",
    [
        "usr/bin/nova-api",
        "etc/nova/nova.conf",
        "etc/ssh/sshd_config",
        "var/lib/mysql/ibdata1",
        "var/lib/dpkg/status",
        "var/cache/debconf/config.dat",
        "var/lib/apt/lists/lock",
        "var/cache/apt/archives/partial",
        "etc/systemd/system/multi-user.target.wants/nova-api.service",
        "tmp",
        "var/log",
        "var/log/nova",
    ],
)
def test_what_installing_made_is_kept(path: str) -> None:
    is_file = "." in path.rsplit("/", 1)[-1] or path.startswith(("usr/", "var/lib/"))
    assert keep(path, regular_file=is_file) is Keep.ALL


def test_links_that_start_services_at_boot_are_deferred_aliases_kept() -> None:
    wants = "etc/systemd/system/multi-user.target.wants/nginx.service"
    assert keep(wants, regular_file=False, symlink=True) is Keep.DEFERRED
    socket = "etc/systemd/system/sockets.target.wants/libvirtd.socket"
    assert keep(socket, regular_file=False, symlink=True) is Keep.DEFERRED
    alias = "etc/systemd/system/mysql.service"
    assert keep(alias, regular_file=False, symlink=True) is Keep.ALL
    assert units_to_enable([("b", "/t/b"), ("a", "/t/a")]) == "a /t/a\nb /t/b\n"


def test_logs_are_kept_empty_and_whiteouts_as_they_are() -> None:
    assert keep("var/log/nova/nova-manage.log", regular_file=True) is Keep.EMPTY
    assert keep("var/log/old.log", regular_file=False) is Keep.ALL  # a whiteout


# which nodes give one


def test_only_a_node_of_bare_packages_gives_a_layer(tmp_path: Path, cache: Path) -> None:
    planned = lab_plan()
    node = planned.nodes[0]
    dirs = node_dirs(tmp_path / "lab", node.name)
    source = NodeLayerSource(planned.lab, node, dirs)
    assert why_not(source, cache, set(), False) is not None  # no marker: not ours
    write_marker(dirs, NodeMarker(planned.lab, node.name, (str(cache),)))
    assert why_not(source, cache, {"systemd", "sshd"}, False) is None
    assert why_not(source, cache, set(), True) == "its layer is cached already"
    assert "mariadbd" in (why_not(source, cache, {"mariadbd"}, False) or "")
    layered = (str(cache.with_name(f"{BASE}-packages-x")), str(cache))
    write_marker(dirs, NodeMarker(planned.lab, node.name, layered))
    assert why_not(source, cache, set(), False) == "it was not made on the bare base image"


def journal(*steps: str) -> list[JournalEntry]:
    return [
        JournalEntry(index, "t1", step, "h", "ok", "2026-01-01T00:00:00", None, None)
        for index, step in enumerate(steps)
    ]


def test_no_layer_from_a_lab_a_later_phase_touched() -> None:
    assert not configured_before(journal("preflight", "networks", "nodes", "packages"))
    assert configured_before(journal("nodes", "packages", "database", "packages"))


# saving and finding


def test_a_saved_layer_is_whole_found_and_goes_under_new_nodes(tmp_path: Path, cache: Path) -> None:
    upper = tmp_path / "upper"
    for path, text in {
        "usr/bin/keystone-manage": "#!/bin/sh\n",
        "etc/ssh/ssh_host_ed25519_key": "secret",
        "etc/hostname": "aio\n",
        "var/log/keystone/keystone.log": "lines",
        "var/cache/apt/archives/keystone_1_all.deb": "deb",
        "tmp/scratch": "x",
    }.items():
        (upper / path).parent.mkdir(parents=True, exist_ok=True)
        (upper / path).write_text(text)
    (upper / "var/log/keystone/keystone.log").chmod(0o640)
    (upper / "var/cache/apt/archives/partial").mkdir()
    wants = upper / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "nginx.service").symlink_to("/lib/systemd/system/nginx.service")
    planned = lab_plan()
    node = planned.nodes[0]
    key = layer_key(cache, planned.release, node_packages(planned, node))
    leftover = cache.parent / f".{key.name}.build-1"
    leftover.mkdir()
    assert layers_for(planned, node, (cache,)) == (cache,)
    messages: list[str] = []

    saved = save_layer(LocalRunner(), key, upper, "t1/aio", messages.append)

    assert saved is not None and saved.path == cached_layer(key)
    layer = saved.path
    assert not leftover.exists()
    assert (layer / "usr/bin/keystone-manage").read_text() == "#!/bin/sh\n"
    for gone in ("etc/ssh/ssh_host_ed25519_key", "etc/hostname", "tmp/scratch"):
        assert not (layer / gone).exists(), gone
    assert (layer / "tmp").is_dir()
    assert list((layer / "var/cache/apt/archives").iterdir()) == [
        layer / "var/cache/apt/archives/partial"
    ]
    log = layer / "var/log/keystone/keystone.log"
    assert log.read_text() == "" and stat.S_IMODE(log.stat().st_mode) == 0o640
    assert json.loads((layer / STAMP).read_text())["saved_from"] == "t1/aio"
    assert not (layer / "etc/systemd/system/multi-user.target.wants/nginx.service").is_symlink()
    assert (layer / UNITS_TO_ENABLE).read_text() == (
        "etc/systemd/system/multi-user.target.wants/nginx.service "
        "/lib/systemd/system/nginx.service\n"
    )
    assert cached_layers() == [layer]
    assert layers_for(planned, node, (cache,)) == (layer, cache)
    assert save_layer(LocalRunner(), key, upper, "t1/aio", messages.append) is None


def test_a_layer_without_its_stamp_is_not_used(cache: Path) -> None:
    key = LayerKey(BASE, "t0", "bookworm", ("keystone",))
    (cache.parent / key.name / "usr").mkdir(parents=True)
    assert cached_layer(key) is None
    assert cached_layers() == []


def test_a_node_whose_package_layer_is_gone_is_refused(tmp_path: Path, cache: Path) -> None:
    dirs = node_dirs(tmp_path / "lab", "aio")
    gone = cache.with_name(f"{BASE}-packages-0123456789ab")
    write_marker(dirs, NodeMarker("t1", "aio", (str(gone), str(cache))))
    provider = LocalProvider(runner=LocalRunner())
    with pytest.raises(ProviderError, match="gone from the cache") as refused:
        provider._layers_of(dirs, (cache,), lambda message: None)
    assert "stacklab down t1" in (refused.value.fix or "")
