"""The whole build over fake packages: files, manifest, cache, and byte-identical rebuilds."""

from __future__ import annotations

import gzip
import hashlib
import json
import stat
from pathlib import Path

import pytest
from fakes import KERNEL_PACKAGE, KERNEL_VERSION, FakeDebian, module_bytes

from stacklab.bootstrap.glance_image import alternative_disk
from stacklab.errors import HostError
from stacklab.images import test_image
from stacklab.images.guest_init import VIRTIO_MODULES
from stacklab.images.image_manifest import read_manifest
from stacklab.images.initramfs import read_archive
from stacklab.images.test_image import ImageRecipe, build_test_image


def members(path: Path) -> dict[str, tuple[int, bytes]]:
    archive = gzip.decompress(path.read_bytes())
    return {m.path: (m.mode, m.data) for m in read_archive(archive)}


def test_the_image_is_built_with_its_manifest_and_everything_the_guest_needs(
    tmp_path: Path,
) -> None:
    built = build_test_image(FakeDebian(), images_dir=tmp_path)
    image = built.image

    assert not built.cached
    assert image.directory.parent == tmp_path
    assert image.directory.name == f"stacklab-test-{image.inputs_hash[:16]}"
    assert sorted(p.name for p in image.directory.iterdir()) == [
        "disk.raw",
        "initramfs.cpio.gz",
        "manifest.json",
        "vmlinuz",
    ]
    assert image.kernel.path.read_bytes() == f"VMLINUZ {KERNEL_VERSION}".encode()
    assert image.disk.path.read_bytes() == bytes(1 << 20)
    for file in image.files:
        assert file.size == file.path.stat().st_size
        assert file.sha256 == hashlib.sha256(file.path.read_bytes()).hexdigest()

    files = members(image.ramdisk.path)
    assert files["bin/busybox"][1] == b"BUSYBOX 1"
    for name in VIRTIO_MODULES:  # the odd ones were .ko.xz in the package
        assert files[f"lib/modules/{name}.ko"][1] == module_bytes(name)
    assert "usr/sbin/dropbear" in files and "lib/x86_64-linux-gnu/libc.so.6" in files
    assert stat.S_ISLNK(files["lib64/ld-linux-x86-64.so.2"][0])
    assert stat.S_IMODE(files["init"][0]) == 0o755
    assert stat.S_IMODE(files["root"][0]) == 0o700
    assert b"STACKLAB-BOOTED" in files["init"][1]

    manifest = json.loads((image.directory / "manifest.json").read_text())
    assert manifest["kernel_version"] == KERNEL_VERSION
    assert manifest["kernel_package"] == KERNEL_PACKAGE
    assert manifest["files"]["ramdisk"] == {
        "path": "initramfs.cpio.gz",
        "size": image.ramdisk.size,
        "sha256": image.ramdisk.sha256,
    }
    assert manifest["glance"]["disk_format"] == "raw"
    assert manifest["glance"]["container_format"] == "bare"
    assert manifest["glance"]["root_properties"] == {"os_command_line": "console=ttyS0 quiet"}
    assert image.root_properties("k-1", "r-2") == {
        "kernel_id": "k-1",
        "ramdisk_id": "r-2",
        "os_command_line": "console=ttyS0 quiet",
    }
    assert set(manifest["packages"]) == {KERNEL_PACKAGE, "busybox-static", "dropbear-bin", "libc6"}


def test_a_second_build_comes_from_the_cache_and_only_asks_apt(tmp_path: Path) -> None:
    first = build_test_image(FakeDebian(), images_dir=tmp_path)
    debian = FakeDebian()
    again = build_test_image(debian, images_dir=tmp_path)

    assert again.cached and again.image == first.image
    assert debian.used("dpkg-deb") == 0
    assert not any("download" in c and "--print-uris" not in c for c in debian.commands)


def test_the_same_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    one = build_test_image(FakeDebian(), images_dir=tmp_path / "one").image
    two = build_test_image(FakeDebian(), images_dir=tmp_path / "two").image

    for name in ("vmlinuz", "initramfs.cpio.gz", "disk.raw", "manifest.json"):
        assert (one.directory / name).read_bytes() == (two.directory / name).read_bytes()
    assert one.ramdisk.path.read_bytes()[4:8] == bytes(4)  # gzip's mtime field


def test_a_new_kernel_package_is_a_new_image_beside_the_old_one(tmp_path: Path) -> None:
    old = build_test_image(FakeDebian(kernel_release="1"), images_dir=tmp_path).image
    new = build_test_image(FakeDebian(kernel_release="2"), images_dir=tmp_path)

    assert not new.cached and new.image.directory != old.directory
    assert read_manifest(old.directory) == old


def test_without_ssh_there_is_no_dropbear_and_no_dependency_walk(tmp_path: Path) -> None:
    debian = FakeDebian()
    image = build_test_image(debian, ImageRecipe(ssh=False), images_dir=tmp_path).image
    with_ssh = build_test_image(FakeDebian(), images_dir=tmp_path).image

    assert not image.ssh and with_ssh.ssh
    assert image.directory != with_ssh.directory
    assert not any(path.startswith("usr/sbin") for path in members(image.ramdisk.path))
    assert not any("--recurse" in command for command in debian.commands)


def test_an_incomplete_cached_image_is_built_again(tmp_path: Path) -> None:
    image = build_test_image(FakeDebian(), images_dir=tmp_path).image
    image.ramdisk.path.write_bytes(b"truncated")

    again = build_test_image(FakeDebian(), images_dir=tmp_path)
    assert not again.cached
    assert again.image.ramdisk.path.stat().st_size == image.ramdisk.size


def test_a_download_that_is_not_what_the_index_promised_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="not the busybox-static"):
        build_test_image(FakeDebian(corrupt_downloads=("busybox-static",)), images_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == []  # no image, no leftovers


def test_a_bad_disk_size_is_refused_before_anything_is_asked() -> None:
    with pytest.raises(ValueError, match="multiple of 512"):
        ImageRecipe(disk_bytes=1000)


def test_the_json_for_the_cli_says_whether_it_was_cached(tmp_path: Path) -> None:
    built = build_test_image(FakeDebian(), images_dir=tmp_path)
    shown = built.to_dict()

    assert shown["cached"] is False and isinstance(shown["seconds"], float)
    assert shown["directory"] == str(built.image.directory)
    assert json.loads(json.dumps(shown)) == shown
    assert test_image.FILE_NAMES["ramdisk"] == "initramfs.cpio.gz"


def test_the_alternative_root_disk_is_as_big_but_has_a_checksum_of_its_own(
    tmp_path: Path,
) -> None:
    image = build_test_image(FakeDebian(), images_dir=tmp_path / "images").image
    (tmp_path / "alt").mkdir()
    alternative = alternative_disk(image, tmp_path / "alt")

    assert alternative.role == "disk" and alternative.path.parent == tmp_path / "alt"
    assert alternative.size == image.disk.size == alternative.path.stat().st_size
    data = alternative.path.read_bytes()
    assert alternative.sha256 == hashlib.sha256(data).hexdigest() != image.disk.sha256
    assert data.startswith(b"stacklab-test-alt\n")
    assert sorted(p.name for p in image.directory.iterdir()) == [  # the cache is left alone
        "disk.raw",
        "initramfs.cpio.gz",
        "manifest.json",
        "vmlinuz",
    ]
