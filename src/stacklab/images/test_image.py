"""`stacklab image build`: the OpenStack test image, built offline from Debian packages, cached.

Three files, all uploaded to Glance as raw/bare (FIELD-NOTES, "The test image"): Debian's
kernel, a busybox initramfs with the virtio modules (and dropbear for SSH), and a small
empty root disk that carries kernel_id, ramdisk_id and os_command_line. The cache key is
a hash of every input: the exact .deb files apt would fetch (known from its index before
downloading anything), the recipe, and what the guest runs. A warm build only asks apt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stacklab.errors import HostError
from stacklab.images import guest_init
from stacklab.images.debian_packages import AptPackages, DebFile, extract_package
from stacklab.images.image_assembly import (
    SECTOR,
    compressed,
    initramfs_archive,
    write_empty_disk,
)
from stacklab.images.image_manifest import BuiltImage, ImageFile, read_manifest, write_manifest
from stacklab.images.kernel_package import KernelParts, kernel_parts
from stacklab.runner import Runner
from stacklab.state.paths import cache_dir

IMAGE_NAME = "stacklab-test"
# Bump when the same inputs would be assembled differently, so cached images are rebuilt.
FORMAT_VERSION = 1
KERNEL_METAPACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"
SSH_PACKAGE = "dropbear-bin"
COMMAND_LINE = "console=ttyS0 quiet"
FILE_NAMES = {"kernel": "vmlinuz", "ramdisk": "initramfs.cpio.gz", "disk": "disk.raw"}
HASH_LENGTH = 16


@dataclass(frozen=True)
class ImageRecipe:
    name: str = IMAGE_NAME
    kernel_metapackage: str = KERNEL_METAPACKAGE
    modules: tuple[str, ...] = guest_init.VIRTIO_MODULES
    ssh: bool = True
    disk_bytes: int = 1 << 20
    command_line: str = COMMAND_LINE

    def __post_init__(self) -> None:
        if self.disk_bytes <= 0 or self.disk_bytes % SECTOR:
            raise ValueError(f"disk size must be a positive multiple of {SECTOR} bytes")


@dataclass(frozen=True)
class ImageInputs:
    recipe: ImageRecipe
    kernel_package: str
    ssh_packages: tuple[str, ...]  # dropbear and everything it depends on; empty without SSH
    debs: dict[str, DebFile] = field(repr=False)  # every package the build unpacks

    @property
    def digest(self) -> str:
        described = {
            "format": FORMAT_VERSION,
            "recipe": asdict(self.recipe),
            "guest": guest_init.templates_fingerprint(),
            "kernel_package": self.kernel_package,
            "ssh_packages": list(self.ssh_packages),
            "debs": {name: deb.checksum for name, deb in sorted(self.debs.items())},
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ImageBuild:
    image: BuiltImage
    cached: bool  # True when nothing was built: the same inputs had been built before
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {"cached": self.cached, "seconds": round(self.seconds, 2), **self.image.to_dict()}


def images_directory() -> Path:
    return cache_dir() / "images"


def build_test_image(
    runner: Runner, recipe: ImageRecipe | None = None, images_dir: Path | None = None
) -> ImageBuild:
    """The test image for this host's apt, from the cache if these inputs were built before."""
    started = time.monotonic()
    recipe = recipe or ImageRecipe()
    apt = AptPackages(runner)
    inputs = resolve_inputs(apt, recipe)
    directory = (images_dir or images_directory()) / f"{recipe.name}-{inputs.digest[:HASH_LENGTH]}"
    image = read_manifest(directory)
    cached = image is not None
    if image is None:
        image = _build(runner, apt, inputs, directory)
    return ImageBuild(image, cached, time.monotonic() - started)


def resolve_inputs(apt: AptPackages, recipe: ImageRecipe) -> ImageInputs:
    kernel_package = apt.dependency_of(recipe.kernel_metapackage, "linux-image-")
    ssh_packages = tuple(apt.dependency_closure(SSH_PACKAGE)) if recipe.ssh else ()
    debs = apt.package_files(sorted({kernel_package, BUSYBOX_PACKAGE, *ssh_packages}))
    return ImageInputs(recipe, kernel_package, ssh_packages, debs)


def _build(runner: Runner, apt: AptPackages, inputs: ImageInputs, directory: Path) -> BuiltImage:
    directory.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{directory.name}"
    with tempfile.TemporaryDirectory(prefix=f"{prefix}.work-", dir=directory.parent) as work_dir:
        kernel, busybox, ssh_root = _unpack(runner, apt, inputs, Path(work_dir))
        ramdisk = compressed(initramfs_archive(busybox, kernel.modules, ssh_root))
        staging = Path(tempfile.mkdtemp(prefix=f"{prefix}.build-", dir=directory.parent))
        try:
            staging.chmod(0o755)  # mkdtemp's 0700 would hide an image that holds no secret
            image = BuiltImage(
                name=inputs.recipe.name,
                directory=staging,
                inputs_hash=inputs.digest,
                kernel_package=inputs.kernel_package,
                kernel_version=kernel.version,
                command_line=inputs.recipe.command_line,
                ssh=ssh_root is not None,
                modules=tuple(module.name for module in kernel.modules),
                packages={name: deb.filename for name, deb in inputs.debs.items()},
                kernel=_write(staging, "kernel", kernel.vmlinuz.read_bytes()),
                ramdisk=_write(staging, "ramdisk", ramdisk),
                disk=_write_disk(staging, inputs.recipe.disk_bytes),
            )
            write_manifest(image)
            _publish(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    published = read_manifest(directory)
    if published is None:
        raise HostError(f"the image built in {directory} does not read back", fix=_FIX)
    return published


def _unpack(
    runner: Runner, apt: AptPackages, inputs: ImageInputs, work: Path
) -> tuple[KernelParts, bytes, Path | None]:
    """Download and unpack the inputs: (kernel parts, busybox, the unpacked dropbear closure)."""
    debs = apt.download(sorted(inputs.debs), work / "debs")
    for package, deb in debs.items():
        _check_download(deb, inputs.debs[package])
    kernel_root = extract_package(runner, debs[inputs.kernel_package], work / "kernel")
    kernel = kernel_parts(runner, kernel_root, inputs.kernel_package, inputs.recipe.modules)
    busybox = extract_package(runner, debs[BUSYBOX_PACKAGE], work / "busybox") / "bin" / "busybox"
    if not busybox.is_file():
        raise HostError(f"{BUSYBOX_PACKAGE} has no bin/busybox", fix=_FIX)
    ssh_root = None
    for package in inputs.ssh_packages:  # one tree, as dpkg would install them together
        ssh_root = extract_package(runner, debs[package], work / "ssh")
    return kernel, busybox.read_bytes(), ssh_root


def _check_download(path: Path, expected: DebFile) -> None:
    """The hash names what apt's index promised; make sure that is what was unpacked."""
    algorithm, _, digest = expected.checksum.partition(":")
    actual = hashlib.new(algorithm.lower().replace("-", ""), path.read_bytes()).hexdigest()
    if path.name != expected.filename or actual != digest.lower():
        raise HostError(
            f"{path.name} is not the {expected.filename} that apt's index describes",
            fix="run `apt-get update` and build the image again",
        )


def _write(staging: Path, role: str, data: bytes) -> ImageFile:
    path = staging / FILE_NAMES[role]
    path.write_bytes(data)
    return ImageFile(role, path, len(data), hashlib.sha256(data).hexdigest())


def _write_disk(staging: Path, size: int) -> ImageFile:
    path = staging / FILE_NAMES["disk"]
    return ImageFile("disk", path, size, write_empty_disk(path, size))


def _publish(staging: Path, directory: Path) -> None:
    """Rename the finished build into place; another build of the same inputs may have won."""
    if read_manifest(directory) is not None:
        return
    if directory.exists():
        shutil.rmtree(directory)  # a broken leftover: no manifest or a file missing
    try:
        staging.rename(directory)
    except OSError:
        if read_manifest(directory) is None:
            raise


_FIX = f"check that `apt-get download {BUSYBOX_PACKAGE} {KERNEL_METAPACKAGE}` works here"
