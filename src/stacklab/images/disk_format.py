"""What kind of disk image a file is, as `qemu-img info` sees it, in Glance's terms.

qemu-img calls anything it does not recognise "raw", so a compressed download or a web page
served instead of the image would go to Glance as a broken raw disk: those are told apart
by their first bytes before qemu-img is asked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stacklab.errors import InputError
from stacklab.runner import Runner

# qemu-img's format names -> Glance's disk_format
GLANCE_FORMATS = {
    "qcow2": "qcow2",
    "raw": "raw",
    "vmdk": "vmdk",
    "vdi": "vdi",
    "vpc": "vhd",
    "vhdx": "vhdx",
}
NOT_DISKS = (
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"PK\x03\x04", "a zip archive"),
)
ISO_MAGIC_OFFSET = 0x8001
ISO_MAGIC = b"CD001"
HEAD_BYTES = ISO_MAGIC_OFFSET + len(ISO_MAGIC)


class ImageFormatError(InputError):
    """A downloaded file is not a disk image that Glance and Nova can use."""


@dataclass(frozen=True)
class DiskInfo:
    disk_format: str  # as Glance names it
    virtual_size: int  # bytes the guest sees


def not_a_disk(head: bytes) -> str | None:
    """What the file is instead, judged by its first bytes; None when it may be a disk."""
    for magic, what in NOT_DISKS:
        if head.startswith(magic):
            return what
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "a web page"
    return None


def disk_info(qemu_img_json: str, head: bytes, source: str) -> DiskInfo:
    """The disk format and virtual size from `qemu-img info --output=json`; head: the file's
    first HEAD_BYTES bytes, which tell an ISO image from a raw disk."""
    info = json.loads(qemu_img_json)
    found = str(info.get("format", ""))
    if info.get("backing-filename"):
        raise ImageFormatError(
            f"{source} is a {found} image on a backing file ({info['backing-filename']}); "
            "Glance takes only images that stand alone.",
            fix="use a cloud image made to be uploaded (`qemu-img convert` flattens one)",
        )
    glance = GLANCE_FORMATS.get(found)
    if glance is None:
        raise ImageFormatError(
            f"{source} is a {found or 'unknown'} image, which Glance does not take.",
            fix=f"use an image in one of {', '.join(sorted(GLANCE_FORMATS.values()))}, or "
            "convert it with `qemu-img convert -O qcow2`",
        )
    if glance == "raw" and head[ISO_MAGIC_OFFSET:HEAD_BYTES] == ISO_MAGIC:
        glance = "iso"
    return DiskInfo(glance, int(info.get("virtual-size", 0)))


def inspect_disk(runner: Runner, path: Path, source: str) -> DiskInfo:
    """source: where the file came from, for the errors (its URL)."""
    with path.open("rb") as image:
        head = image.read(HEAD_BYTES)
    instead = not_a_disk(head)
    if instead is not None:
        raise ImageFormatError(
            f"{source} is {instead}, not a disk image.",
            fix="point image_url at the disk image itself (.qcow2 or .img), not at an archive "
            "or a download page",
        )
    result = runner.run(
        ["qemu-img", "info", "--output=json", str(path)],
        fix="install qemu-img (Debian: apt-get install qemu-utils)",
    )
    return disk_info(result.stdout, head, source)
