"""From unpacked Debian packages to the test image's files: the initramfs and the root disk.

Pure and deterministic: the same package trees give byte-identical files (the cpio
writer fixes order and mtimes, gzip is told mtime=0 and stores no file name).
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from stacklab.images import guest_init
from stacklab.images.initramfs import Initramfs, busybox_initramfs
from stacklab.images.kernel_package import KernelModule
from stacklab.images.shared_libraries import add_program

GZIP_LEVEL = 9
SECTOR = 512
_ZEROS = bytes(1 << 20)


def initramfs_archive(
    busybox: bytes, modules: tuple[KernelModule, ...], ssh_root: Path | None
) -> Initramfs:
    """The guest's whole initramfs; ssh_root is the unpacked dropbear closure, if SSH is in."""
    init = guest_init.render_init(tuple(module.name for module in modules))
    # /init installs every other applet itself (`busybox --install`); only sh must exist.
    image = busybox_initramfs(busybox, init, ["sh"])
    for module in modules:
        image.add_file(f"{guest_init.MODULES_DIRECTORY}/{module.name}.ko", module.data)
    image.add_file(guest_init.DHCP_SCRIPT_PATH, guest_init.DHCP_SCRIPT.encode(), 0o755)
    image.add_file(guest_init.LSBLK_PATH, guest_init.LSBLK_SCRIPT.encode(), 0o755)
    for path, text in guest_init.ETC_FILES.items():
        image.add_file(path, text.encode())
    image.add_directory("root", 0o700)
    if ssh_root is not None:
        add_program(image, ssh_root, guest_init.DROPBEAR_PATH)
    return image


def compressed(archive: Initramfs) -> bytes:
    return gzip.compress(archive.to_bytes(), compresslevel=GZIP_LEVEL, mtime=0)


def write_empty_disk(path: Path, size: int) -> str:
    """A raw disk of zeros (sparse on disk); returns its sha256."""
    if size <= 0 or size % SECTOR:
        raise ValueError(f"disk size must be a positive multiple of {SECTOR} bytes, not {size}")
    with path.open("wb") as disk:
        disk.truncate(size)
    digest = hashlib.sha256()
    remaining = size
    while remaining:
        chunk = min(remaining, len(_ZEROS))
        digest.update(_ZEROS[:chunk])
        remaining -= chunk
    return digest.hexdigest()


def write_labelled_disk(path: Path, size: int, label: bytes) -> str:
    """A raw disk of zeros but for `label` at its start, so that it has a checksum of its
    own; returns its sha256."""
    if size <= 0 or size % SECTOR or len(label) > SECTOR:
        raise ValueError(f"disk size must be a positive multiple of {SECTOR} bytes, not {size}")
    data = label + bytes(size - len(label))
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()
