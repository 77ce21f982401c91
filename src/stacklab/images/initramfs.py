"""A deterministic initramfs writer (cpio "newc", the format the Linux kernel unpacks).

Deterministic means the same inputs give the same bytes: entries are sorted by path,
every mtime is fixed, owners are root and inode numbers follow the sorted order.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import PurePosixPath

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"
FIXED_MTIME = 0


@dataclass(frozen=True)
class CpioEntry:
    path: str  # relative, without a leading slash: "bin/busybox"
    mode: int  # file type and permission bits, as in st_mode
    data: bytes = b""  # file content, or the target of a symlink
    rdev_major: int = 0
    rdev_minor: int = 0


class Initramfs:
    """Files, directories, symlinks and device nodes, written out as one newc archive."""

    def __init__(self) -> None:
        self._entries: dict[str, CpioEntry] = {}

    def add_directory(self, path: str, permissions: int = 0o755) -> None:
        self._add(CpioEntry(_relative(path), stat.S_IFDIR | permissions))

    def add_file(self, path: str, data: bytes, permissions: int = 0o644) -> None:
        self._add(CpioEntry(_relative(path), stat.S_IFREG | permissions, data))

    def add_symlink(self, path: str, target: str) -> None:
        self._add(CpioEntry(_relative(path), stat.S_IFLNK | 0o777, target.encode()))

    def add_char_device(self, path: str, major: int, minor: int, permissions: int = 0o600) -> None:
        self._add(CpioEntry(_relative(path), stat.S_IFCHR | permissions, b"", major, minor))

    def entries(self) -> list[CpioEntry]:
        return [self._entries[path] for path in sorted(self._entries)]

    def to_bytes(self) -> bytes:
        chunks: list[bytes] = []
        for inode, entry in enumerate(self.entries(), start=1):
            chunks.append(_member(entry, inode))
        chunks.append(_member(CpioEntry(TRAILER, 0), 0))
        return b"".join(chunks)

    def _add(self, entry: CpioEntry) -> None:
        parent = PurePosixPath(entry.path).parent
        # The kernel creates nothing implicitly: a file needs its directories before it.
        while str(parent) != ".":
            self._entries.setdefault(str(parent), CpioEntry(str(parent), stat.S_IFDIR | 0o755))
            parent = parent.parent
        self._entries[entry.path] = entry


def _relative(path: str) -> str:
    relative = str(PurePosixPath("/", path).relative_to("/"))
    if relative in ("", ".") or ".." in PurePosixPath(relative).parts:
        raise ValueError(f"not a usable path inside an initramfs: {path!r}")
    return relative


def _member(entry: CpioEntry, inode: int) -> bytes:
    name = entry.path.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = (
        inode,
        entry.mode,
        0,  # uid
        0,  # gid
        nlink,
        FIXED_MTIME,
        len(entry.data),
        0,  # devmajor
        0,  # devminor
        entry.rdev_major,
        entry.rdev_minor,
        len(name),
        0,  # check
    )
    header = NEWC_MAGIC + b"".join(f"{value:08X}".encode() for value in fields)
    return _pad4(header + name) + _pad4(entry.data)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def read_archive(archive: bytes) -> list[CpioEntry]:
    """The entries of a newc archive (up to its trailer), to inspect what an image holds."""
    entries: list[CpioEntry] = []
    offset = 0
    while True:
        if archive[offset : offset + 6] != NEWC_MAGIC:
            raise ValueError(f"no cpio newc header at byte {offset}")
        fields = [int(archive[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rdev_major, rdev_minor, name_size = (fields[i] for i in (1, 6, 9, 10, 11))
        name_start = offset + 110
        name = archive[name_start : name_start + name_size - 1].decode()
        data_start = name_start + name_size
        data_start += -data_start % 4
        if name == TRAILER:
            return entries
        data = archive[data_start : data_start + size]
        entries.append(CpioEntry(name, mode, data, rdev_major, rdev_minor))
        offset = data_start + size + (-size % 4)


def busybox_initramfs(busybox: bytes, init_script: str, applets: list[str]) -> Initramfs:
    """A minimal initramfs: static busybox, its applets as symlinks, /dev/console and /init.

    /dev/console must be in the archive: the kernel opens it for init's stdio before
    anything could mount devtmpfs, and without it init's output goes nowhere.
    """
    image = Initramfs()
    for directory in ("bin", "dev", "proc", "sys", "tmp"):
        image.add_directory(directory)
    image.add_file("bin/busybox", busybox, 0o755)
    for applet in sorted(set(applets)):
        image.add_symlink(f"bin/{applet}", "busybox")
    image.add_char_device("dev/console", 5, 1)
    image.add_file("init", init_script.encode(), 0o755)
    return image
