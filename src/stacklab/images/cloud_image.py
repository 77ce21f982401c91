"""The spec's `image_url`: a cloud image (cirros, a Debian or Ubuntu cloud image) for users
with internet. Downloaded once into the cache, keyed by its URL, then inspected: Glance must
be told its disk format. It goes to the lab besides the offline test image, named after the
URL's file name, for `stacklab launch --image NAME`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from stacklab.images.disk_format import DiskInfo, ImageFormatError, inspect_disk
from stacklab.images.download import download
from stacklab.runner import Runner
from stacklab.state.paths import cache_dir

MAX_BYTES = 4 * 1024**3  # a wrong URL must not fill the disk; cloud images are far smaller
CACHE_SUBDIR = "cloud-images"
KEY_LENGTH = 16
IMAGE_SUFFIXES = frozenset({".img", ".qcow2", ".qcow", ".raw", ".vmdk", ".vdi", ".vhd", ".vhdx"})
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Who logs in on well-known cloud images (Glance's os_admin_user, which launch and the
# inventory use); by the start of the file name, since the images say it nowhere else.
LOGIN_USERS = (("cirros", "cirros"), ("debian", "debian"), ("ubuntu", "ubuntu"))
FIX = (
    "check image_url in the spec (`curl -I URL` shows what the server answers), or remove "
    "image_url: the offline test image needs no internet"
)


@dataclass(frozen=True)
class CloudImage:
    url: str
    name: str  # in Glance
    path: Path
    size: int
    disk: DiskInfo
    login_user: str | None
    downloaded: bool  # False: it came from the cache


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:KEY_LENGTH]


def url_file_name(url: str) -> str:
    """The URL's last path segment, made safe as a file and image name."""
    name = UNSAFE.sub("-", unquote(PurePosixPath(urlsplit(url).path).name)).strip("-.")
    return name or f"cloud-image-{url_key(url)[:8]}"


def image_name_for(url: str) -> str:
    """`.../cirros-0.6.2-x86_64-disk.img` -> `cirros-0.6.2-x86_64-disk`."""
    name = url_file_name(url)
    while (suffix := PurePosixPath(name).suffix.lower()) in IMAGE_SUFFIXES and name != suffix:
        name = name[: -len(suffix)]
    return name


def login_user_for(name: str) -> str | None:
    lowered = name.lower()
    return next((user for prefix, user in LOGIN_USERS if lowered.startswith(prefix)), None)


def cached_path(url: str) -> Path:
    return cache_dir() / CACHE_SUBDIR / url_key(url) / url_file_name(url)


def fetch_cloud_image(
    url: str,
    runner: Runner,
    *,
    progress: Callable[[str], None] = lambda message: None,
    max_bytes: int = MAX_BYTES,
) -> CloudImage:
    """The image of url from the cache, downloaded first if it is not there, and inspected."""
    path = cached_path(url)
    downloaded = not path.exists()
    if downloaded:
        progress(f"downloading {url}")
        download(url, path, max_bytes=max_bytes, fix=FIX, progress=progress)
    try:
        disk = inspect_disk(runner, path, url)
    except ImageFormatError:
        path.unlink()  # so that a corrected file on the server is fetched again
        raise
    name = image_name_for(url)
    return CloudImage(url, name, path, path.stat().st_size, disk, login_user_for(name), downloaded)
