"""The cpio newc writer: its archive read back by our own reader and by cpio(1)."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess

import pytest

from stacklab.images.initramfs import Initramfs, busybox_initramfs, read_archive


def mtimes(archive: bytes) -> set[int]:
    """Every member's mtime field, the trailer's too, straight from the headers."""
    return {
        int(archive[m.start() + 46 : m.start() + 54], 16) for m in re.finditer(b"070701", archive)
    }


def sample() -> Initramfs:
    image = Initramfs()
    image.add_file("/usr/share/doc/readme", b"hello", 0o644)
    image.add_symlink("bin/sh", "busybox")
    image.add_file("bin/busybox", b"\x7fELF-odd-length", 0o755)
    image.add_char_device("dev/console", 5, 1)
    return image


def test_archive_reads_back_with_contents_types_and_parents_first() -> None:
    members = {m.path: m for m in read_archive(sample().to_bytes())}

    assert list(members) == sorted(members)  # sorted: every parent comes before its children
    assert set(members) >= {"usr", "usr/share", "usr/share/doc", "bin", "dev"}
    assert stat.S_ISDIR(members["usr/share"].mode)
    assert members["usr/share/doc/readme"].data == b"hello"
    assert stat.S_IMODE(members["bin/busybox"].mode) == 0o755
    assert stat.S_ISLNK(members["bin/sh"].mode) and members["bin/sh"].data == b"busybox"
    assert stat.S_ISCHR(members["dev/console"].mode) and (
        members["dev/console"].rdev_major,
        members["dev/console"].rdev_minor,
    ) == (5, 1)
    assert mtimes(sample().to_bytes()) == {0}


def test_output_is_deterministic_whatever_the_order_things_were_added() -> None:
    reordered = Initramfs()
    reordered.add_char_device("dev/console", 5, 1)
    reordered.add_file("bin/busybox", b"\x7fELF-odd-length", 0o755)
    reordered.add_symlink("bin/sh", "busybox")
    reordered.add_file("usr/share/doc/readme", b"hello", 0o644)

    assert reordered.to_bytes() == sample().to_bytes()


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio(1) is not installed")
def test_cpio_tool_lists_the_same_entries() -> None:
    listing = subprocess.run(
        ["cpio", "-it", "--quiet"], input=sample().to_bytes(), capture_output=True, check=True
    )
    names = listing.stdout.decode().split()
    assert names == [m.path for m in read_archive(sample().to_bytes())]


@pytest.mark.parametrize("path", ["../etc/passwd", "/", "a/../../b"])
def test_paths_outside_the_archive_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        Initramfs().add_file(path, b"")


def test_busybox_initramfs_has_init_console_and_applets() -> None:
    image = busybox_initramfs(b"BUSYBOX", "#!/bin/sh\necho hi\n", ["sh", "echo", "sh"])
    members = {m.path: m for m in read_archive(image.to_bytes())}

    assert members["init"].data == b"#!/bin/sh\necho hi\n"
    assert stat.S_IMODE(members["init"].mode) == 0o755
    assert members["bin/busybox"].data == b"BUSYBOX"
    assert members["bin/echo"].data == b"busybox"
    assert (members["dev/console"].rdev_major, members["dev/console"].rdev_minor) == (5, 1)
