"""Node images as layers in the cache dir: a Debian base made once with debootstrap, shared
read-only by every node of every lab as the lowest layer of the node's overlayfs root.

Layers are plain directories, listed top first as overlayfs wants its `lowerdir`. A
package layer (OpenStack's packages installed, see package_layers.py) goes on top of the
base by the same means.
A layer is built in a hidden directory beside its final place and renamed into place only
when complete, so an interrupted build never leaves a half image that is used later.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacklab.catalog.releases import codenames
from stacklab.core.nodes import ProgressCallback
from stacklab.errors import CommandError, ProviderError
from stacklab.providers.local.mounts import unmount_all_below
from stacklab.runner import Runner
from stacklab.state.paths import cache_dir

# What a booted, SSH-reachable node needs; everything OpenStack needs comes in later layers.
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "iproute2",
    "iputils-ping",
    "nftables",
    "ca-certificates",
    "procps",
    "netbase",
)
RECIPE_VERSION = 1  # bump when `_finish_base` changes what a base image holds
STAMP = "etc/stacklab-image"
DEBOOTSTRAP_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class BaseImage:
    release: str
    packages: tuple[str, ...] = BASE_PACKAGES

    @property
    def name(self) -> str:
        recipe = json.dumps([RECIPE_VERSION, self.release, sorted(self.packages)])
        digest = hashlib.sha256(recipe.encode()).hexdigest()[:8]
        return f"debian-{self.release}-base-{digest}"


def images_dir() -> Path:
    return cache_dir() / "images"


def is_complete(layer: Path) -> bool:
    return (layer / STAMP).is_file()


@contextmanager
def build_lock(directory: Path, name: str) -> Iterator[None]:
    """One build of a layer at a time on this host; others wait, then find it done."""
    with (directory / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_base_image(
    runner: Runner,
    image: BaseImage,
    mirror: str,
    proxy: str | None,
    progress: ProgressCallback,
) -> Path:
    """The base layer's directory, built now if the cache does not hold it yet."""
    if image.release not in codenames():
        raise ProviderError(
            f"The local provider has no image for Debian {image.release}.",
            fix=f"use one of: {', '.join(codenames())}",
        )
    directory = images_dir()
    target = directory / image.name
    if is_complete(target):
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with build_lock(directory, image.name):
        if is_complete(target):
            return target
        for leftover in directory.glob(f".{image.name}.build-*"):
            _remove_tree(runner, leftover)  # an interrupted build's, never used
        build = directory / f".{image.name}.build-{os.getpid()}"
        progress(f"building the Debian {image.release} base image (once; cached in {directory})")
        try:
            _debootstrap(runner, image, build, mirror, proxy)
            _finish_base(runner, image, build)
            build.rename(target)
        except BaseException:
            _remove_tree(runner, build)
            raise
    return target


def node_layers(
    runner: Runner, release: str, mirror: str, proxy: str | None, progress: ProgressCallback
) -> tuple[Path, ...]:
    """The read-only layers of a node's root, top first."""
    return (ensure_base_image(runner, BaseImage(release), mirror, proxy, progress),)


def _debootstrap(
    runner: Runner, image: BaseImage, build: Path, mirror: str, proxy: str | None
) -> None:
    command = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(image.packages)}",
        "--components=main",
        image.release,
        str(build),
        mirror,
    ]
    if proxy:
        command = ["env", f"http_proxy={proxy}", *command]
    try:
        runner.run(command, timeout=DEBOOTSTRAP_TIMEOUT_S, fix="install debootstrap")
    except CommandError as error:
        log = build / "debootstrap" / "debootstrap.log"
        tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
        raise ProviderError(
            f"debootstrap of Debian {image.release} from {mirror} failed.",
            details=error.render() + ("\ndebootstrap.log:\n" + "\n".join(tail) if tail else ""),
            fix="check that the mirror serves this release (`stacklab doctor`)",
        ) from error


def _finish_base(runner: Runner, image: BaseImage, root: Path) -> None:
    """Make the debootstrapped tree a base that many nodes share."""
    # Per-node identity comes later: host keys and machine-id must not be shared.
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc" / "machine-id").write_text("", encoding="utf-8")
    (root / "etc" / "hostname").write_text("debian\n", encoding="utf-8")
    # Nodes get their own sources (the spec's mirror) and cache settings.
    (root / "etc" / "apt" / "sources.list").unlink(missing_ok=True)
    for stale in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        stale.unlink()
    for lists in (root / "var" / "lib" / "apt" / "lists").iterdir():
        if lists.is_file() and lists.name != "lock":
            lists.unlink()
    systemctl = ["systemctl", f"--root={root}"]
    runner.run([*systemctl, "enable", "systemd-networkd"])
    # Unattended apt runs would hold the dpkg lock while the installer works.
    runner.run([*systemctl, "mask", "apt-daily.timer", "apt-daily-upgrade.timer"])
    stamp = {
        "image": image.name,
        "release": image.release,
        "packages": list(image.packages),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (root / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _remove_tree(runner: Runner, path: Path) -> None:
    if path.exists():
        unmount_all_below(runner, path)  # debootstrap mounts /proc and /sys in its target
        shutil.rmtree(path, ignore_errors=True)
