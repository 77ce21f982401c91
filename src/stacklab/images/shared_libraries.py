"""Copy a dynamically linked program into an initramfs with the libraries it needs.

The program and its libraries come from unpacked Debian packages (one tree holding them
all). Each file keeps the path its package gives it, and symlinks stay symlinks, so the
dynamic linker finds everything where its own package would have put it.
"""

from __future__ import annotations

import posixpath
import stat
from pathlib import Path

from stacklab.errors import HostError
from stacklab.images.elf import dynamic_linking
from stacklab.images.initramfs import Initramfs

# Where Debian's packages put shared libraries for amd64, before and after the /usr merge.
LIBRARY_DIRECTORIES = (
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib64",
    "usr/lib64",
    "lib",
    "usr/lib",
)
MAX_SYMLINK_HOPS = 40


def add_program(image: Initramfs, root: Path, program: str) -> list[str]:
    """Add root/program, its interpreter and every library it needs (transitively).

    Returns the paths added, sorted. A library that none of the packages has is an error
    here rather than a guest whose program will not start.
    """
    added: set[str] = set()
    pending = [_relative(program)]
    while pending:
        path = pending.pop()
        if path in added:
            continue
        target = _add_path(image, root, path, added)
        linking = dynamic_linking((root / target).read_bytes())
        if linking.interpreter:
            pending.append(_relative(linking.interpreter))
        pending.extend(_find_library(root, soname, program) for soname in linking.needed)
    return sorted(added)


def _add_path(image: Initramfs, root: Path, path: str, added: set[str]) -> str:
    """Add path (symlinks and what they point to); returns the regular file it ends at."""
    for _ in range(MAX_SYMLINK_HOPS):
        source = root / path
        if source.is_symlink():
            link = str(source.readlink())
            image.add_symlink(path, link)
            added.add(path)
            # An absolute link means the same inside the guest as inside the unpacked tree.
            joined = posixpath.join(posixpath.dirname(path), link)
            path = _relative(posixpath.normpath(joined))
            continue
        if not source.is_file():
            raise HostError(f"{path} is in none of the unpacked packages", fix=_FIX)
        image.add_file(path, source.read_bytes(), stat.S_IMODE(source.stat().st_mode))
        added.add(path)
        return path
    raise HostError(f"too many symbolic links at {path} in the unpacked packages", fix=_FIX)


def _find_library(root: Path, soname: str, program: str) -> str:
    for directory in LIBRARY_DIRECTORIES:
        candidate = f"{directory}/{soname}"
        if (root / candidate).is_symlink() or (root / candidate).is_file():
            return candidate
    raise HostError(f"{program} needs {soname}, which none of its dependencies has", fix=_FIX)


def _relative(path: str) -> str:
    return path.lstrip("/")


_FIX = "check the program's Depends with `apt-cache depends`; the image build follows them"
