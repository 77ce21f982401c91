"""The spec's image_url: downloaded once into the cache from a server on 127.0.0.1, with clear
errors (HTTP status, network, size limit), its disk format from qemu-img, and its image in
Glance found or created (a fake cloud)."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from image_server import UNSIZED, ImageServer

from stacklab import api
from stacklab.bootstrap.decisions import Action
from stacklab.bootstrap.url_image import SOURCE_PROPERTY, ensure_url_image
from stacklab.errors import StepError
from stacklab.images.cloud_image import (
    CloudImage,
    cached_path,
    fetch_cloud_image,
    image_name_for,
    login_user_for,
)
from stacklab.images.disk_format import DiskInfo, ImageFormatError, disk_info, not_a_disk
from stacklab.images.download import DownloadError
from stacklab.openstack_records import ImageRecord
from stacklab.orchestration import up as orchestration_up
from stacklab.runner import LocalRunner

MiB = 1024 * 1024
needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ImageServer]:
    root = tmp_path / "www"
    root.mkdir()
    if shutil.which("qemu-img"):
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", str(root / "small.qcow2"), "64M"],
            check=True,
        )
    (root / "disk.raw").write_bytes(bytes(2 * MiB))
    (root / "packed.img").write_bytes(gzip.compress(bytes(MiB)))
    with ImageServer(root) as server:
        yield server


@needs_qemu_img
def test_downloaded_once_then_from_the_cache(served: ImageServer, cache: Path) -> None:
    messages: list[str] = []
    url = served.url("small.qcow2")
    first = fetch_cloud_image(url, LocalRunner(), progress=messages.append)
    assert first.downloaded and first.path == cached_path(url)
    assert first.path.is_relative_to(cache / "stacklab")
    assert first.disk == DiskInfo("qcow2", 64 * MiB) and first.name == "small"
    assert any(m.startswith("downloading small.qcow2:") for m in messages)
    again = fetch_cloud_image(url, LocalRunner())
    assert not again.downloaded and again.path == first.path and again.disk == first.disk
    assert served.asked == ["/small.qcow2"]


def test_a_missing_image_names_the_url_the_status_and_the_fix(served: ImageServer) -> None:
    url = served.url("gone.img")
    with pytest.raises(DownloadError) as failed:
        fetch_cloud_image(url, LocalRunner())
    assert url in failed.value.message and "HTTP 404" in failed.value.message
    assert failed.value.fix and "image_url" in failed.value.fix
    assert not cached_path(url).parent.exists() or not any(cached_path(url).parent.iterdir())


def test_an_image_over_the_limit_is_refused_by_its_announced_size(served: ImageServer) -> None:
    url = served.url("disk.raw")
    with pytest.raises(DownloadError, match="more than the limit of 1 MiB") as failed:
        fetch_cloud_image(url, LocalRunner(), max_bytes=MiB)
    assert "its size is 2 MiB" in failed.value.message
    assert not cached_path(url).exists()


def test_an_image_over_the_limit_is_cut_off_when_its_size_is_not_announced(
    served: ImageServer,
) -> None:
    url = served.url(UNSIZED + "disk.raw")
    with pytest.raises(DownloadError, match="sent more than 1 MiB"):
        fetch_cloud_image(url, LocalRunner(), max_bytes=MiB)
    assert not cached_path(url).exists()
    assert not cached_path(url).with_name("disk.raw.part").exists()


@needs_qemu_img
def test_an_unsized_download_within_the_limit_is_whole(served: ImageServer) -> None:
    image = fetch_cloud_image(served.url(UNSIZED + "disk.raw"), LocalRunner())
    assert image.size == 2 * MiB and image.disk == DiskInfo("raw", 2 * MiB)


def test_a_network_error_says_so_with_the_proxy_hint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/image.qcow2"  # nothing listens there any more
    with pytest.raises(DownloadError, match="network error") as failed:
        fetch_cloud_image(url, LocalRunner())
    assert url in failed.value.message and failed.value.fix and "https_proxy" in failed.value.fix


def test_a_compressed_download_is_refused_and_not_kept(served: ImageServer) -> None:
    url = served.url("packed.img")
    with pytest.raises(ImageFormatError, match="gzip-compressed file, not a disk image"):
        fetch_cloud_image(url, LocalRunner())
    assert not cached_path(url).exists()


def qemu_img_json(**fields: Any) -> str:
    return json.dumps({"virtual-size": 3 * 1024**3, **fields})


@pytest.mark.parametrize(
    ("qemu_format", "glance_format"),
    [("qcow2", "qcow2"), ("raw", "raw"), ("vpc", "vhd"), ("vmdk", "vmdk"), ("vhdx", "vhdx")],
)
def test_qemu_img_formats_in_glance_terms(qemu_format: str, glance_format: str) -> None:
    info = disk_info(qemu_img_json(format=qemu_format), b"", "u")
    assert info == DiskInfo(glance_format, 3 * 1024**3)


def test_an_iso_is_told_from_a_raw_disk_by_its_magic() -> None:
    head = bytes(0x8001) + b"CD001"
    assert disk_info(qemu_img_json(format="raw"), head, "u").disk_format == "iso"


def test_images_glance_cannot_take_are_refused_with_the_url() -> None:
    with pytest.raises(
        ImageFormatError, match=re.escape("https://h/a.img is a qcow2 image on a backing")
    ):
        disk_info(
            qemu_img_json(format="qcow2", **{"backing-filename": "base"}), b"", "https://h/a.img"
        )
    with pytest.raises(ImageFormatError, match="dmg image, which Glance does not take"):
        disk_info(qemu_img_json(format="dmg"), b"", "u")


def test_a_web_page_is_not_a_disk() -> None:
    assert not_a_disk(b"\n<!DOCTYPE html><html>") == "a web page"
    assert not_a_disk(b"QFI\xfb") is None


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://example.org/images/cirros-0.6.2-x86_64-disk.img", "cirros-0.6.2-x86_64-disk"),
        ("https://example.org/debian-12-genericcloud-amd64.qcow2", "debian-12-genericcloud-amd64"),
        ("https://example.org/a/b%20c.raw?x=1", "b-c"),
        ("https://example.org/disk.img.qcow2", "disk"),
    ],
)
def test_the_image_is_named_after_the_url_file_name(url: str, name: str) -> None:
    assert image_name_for(url) == name


def test_a_url_without_a_file_name_gets_a_stable_name() -> None:
    name = image_name_for("https://example.org/")
    assert name.startswith("cloud-image-") and name == image_name_for("https://example.org/")


def test_login_users_of_well_known_images() -> None:
    assert login_user_for("cirros-0.6.2-x86_64-disk") == "cirros"
    assert login_user_for("debian-12-genericcloud-amd64") == "debian"
    assert login_user_for("my-own") is None


class FakeGlance:
    def __init__(self, images: list[ImageRecord]) -> None:
        self.stored = list(images)
        self.uploads: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def images(self, name: str | None = None) -> list[ImageRecord]:
        return [image for image in self.stored if name is None or image.name == name]

    def upload_image(
        self, name: str, path: Path, properties: Mapping[str, str], **options: Any
    ) -> str:
        image_id = f"id-{len(self.uploads) + 1}"
        self.uploads.append({"name": name, "properties": dict(properties), **options})
        self.stored.append(ImageRecord(image_id, name, "active", "public", dict(properties)))
        return image_id

    def delete_image(self, image_id: str) -> None:
        self.deleted.append(image_id)
        self.stored = [image for image in self.stored if image.id != image_id]


URL = "https://example.org/cirros-0.6.2-x86_64-disk.img"


def cloud_image(url: str = URL) -> CloudImage:
    name = image_name_for(url)
    disk = DiskInfo("qcow2", 112 * MiB)
    return CloudImage(url, name, Path("/c/x.img"), 21 * MiB, disk, login_user_for(name), True)


def test_uploaded_once_with_its_format_then_found() -> None:
    users_own = ImageRecord("mine", "cirros-0.6.2-x86_64-disk", "active", "public", {})
    glance = FakeGlance([users_own])
    image_id, change = ensure_url_image(glance, cloud_image())  # type: ignore[arg-type]
    assert change.action is Action.CREATED and image_id == "id-1"
    (upload,) = glance.uploads
    assert upload["disk_format"] == "qcow2" and upload["min_disk_gb"] == 1
    assert upload["properties"] == {SOURCE_PROPERTY: URL, "os_admin_user": "cirros"}
    again_id, again = ensure_url_image(glance, cloud_image())  # type: ignore[arg-type]
    assert again.action is Action.FOUND and again_id == image_id and len(glance.uploads) == 1
    assert glance.deleted == []  # the user's own image of the same name stays


def test_an_image_of_the_name_from_another_url_or_cut_short_is_replaced() -> None:
    old_url = URL.replace("example.org", "old.example.org")
    glance = FakeGlance(
        [
            ImageRecord(
                "old", "cirros-0.6.2-x86_64-disk", "active", "public", {SOURCE_PROPERTY: old_url}
            ),
            ImageRecord(
                "cut", "cirros-0.6.2-x86_64-disk", "queued", "public", {SOURCE_PROPERTY: URL}
            ),
        ]
    )
    _, change = ensure_url_image(glance, cloud_image())  # type: ignore[arg-type]
    assert change.action is Action.REPLACED and sorted(glance.deleted) == ["cut", "old"]


class NothingMadeYet:
    """A provider that records whether `up` got past its preflight."""

    kind = "aws"

    def __init__(self) -> None:
        self.made: list[str] = []

    def check(self, plan: Any) -> None:
        pass

    def create_networks(self, plan: Any, context: Any) -> None:
        self.made.append("networks")


def test_up_with_a_bad_image_url_fails_in_preflight_before_anything_is_made(
    served: ImageServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    spec = tmp_path / "stacklab.yaml"
    spec.write_text(
        "name: cl\nprovider: {kind: aws}\naccess: {admin_cidr: 192.0.2.1/32}\n"
        f"image_url: {served.url('gone.img')}\n"
    )
    provider = NothingMadeYet()
    monkeypatch.setattr(orchestration_up, "provider_for", lambda spec, from_snapshot=None: provider)
    with pytest.raises(StepError) as failed:
        api.up(spec)
    assert failed.value.step == "preflight" and isinstance(failed.value.cause, DownloadError)
    assert "HTTP 404" in failed.value.render() and provider.made == []
