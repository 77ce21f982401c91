"""The parts of an unpacked Debian kernel package a small guest needs: vmlinuz and modules.

Modules come back uncompressed, whatever the package ships (.ko, .ko.xz, .ko.gz,
.ko.zst), so that busybox's insmod loads them without knowing about compression.
"""

from __future__ import annotations

import gzip
import lzma
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stacklab.errors import HostError
from stacklab.runner import Runner

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
MODULES_PARENTS = ("lib/modules", "usr/lib/modules")  # before and after the /usr merge


@dataclass(frozen=True)
class KernelModule:
    name: str  # with underscores, as insmod and modules.builtin know it: "virtio_pci"
    data: bytes  # the uncompressed .ko


@dataclass(frozen=True)
class KernelParts:
    version: str  # "6.1.0-56-amd64", the directory under lib/modules
    vmlinuz: Path
    modules: tuple[KernelModule, ...]  # in the order asked for, built-in ones left out
    builtin: tuple[str, ...]  # asked-for modules compiled into the kernel


def kernel_parts(
    runner: Runner, root: Path, package: str, module_names: tuple[str, ...]
) -> KernelParts:
    """vmlinuz and the named modules from a kernel package unpacked at root."""
    modules_dir = _modules_directory(root, package)
    version = modules_dir.name
    vmlinuz = root / "boot" / f"vmlinuz-{version}"
    if not vmlinuz.is_file():
        raise HostError(f"{package} has no boot/vmlinuz-{version}", fix=_fix(package))
    files = _module_files(modules_dir)
    builtin = _builtin_names(modules_dir)
    modules: list[KernelModule] = []
    builtin_asked: list[str] = []
    for name in module_names:
        key = _normalised(name)
        if key in files:
            modules.append(KernelModule(key, _uncompressed(runner, files[key])))
        elif key in builtin:
            builtin_asked.append(key)
        else:
            raise HostError(
                f"{package} has no module {name}, neither as a file nor built in",
                fix=_fix(package),
            )
    return KernelParts(version, vmlinuz, tuple(modules), tuple(builtin_asked))


def _modules_directory(root: Path, package: str) -> Path:
    found = [
        d for parent in MODULES_PARENTS for d in sorted((root / parent).glob("*")) if d.is_dir()
    ]
    if len(found) != 1:
        names = ", ".join(d.name for d in found) or "none"
        raise HostError(
            f"{package} should hold one lib/modules/<version> directory; found {names}",
            fix=_fix(package),
        )
    return found[0]


def _module_files(modules_dir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted((modules_dir / "kernel").rglob("*.ko*")):
        for suffix in MODULE_SUFFIXES:
            if path.name.endswith(suffix):
                files[_normalised(path.name.removesuffix(suffix))] = path
    return files


def _builtin_names(modules_dir: Path) -> set[str]:
    try:
        lines = (modules_dir / "modules.builtin").read_text().splitlines()
    except FileNotFoundError:
        return set()
    return {_normalised(Path(line.strip()).name.removesuffix(".ko")) for line in lines if line}


def _uncompressed(runner: Runner, path: Path) -> bytes:
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(path.read_bytes())
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(path.read_bytes())
    if path.name.endswith(".ko.zst"):
        # The standard library has no zstd before Python 3.14.
        with tempfile.TemporaryDirectory() as scratch:
            plain = Path(scratch) / path.name.removesuffix(".zst")
            runner.run(
                ["zstd", "-d", "-q", "-f", "-o", str(plain), str(path)],
                timeout=60.0,
                fix="apt-get install zstd",
            )
            return plain.read_bytes()
    return path.read_bytes()


def _normalised(name: str) -> str:
    return name.replace("-", "_")


def _fix(package: str) -> str:
    return f"check that {package} is a complete Debian kernel package (`dpkg-deb -c` lists it)"
