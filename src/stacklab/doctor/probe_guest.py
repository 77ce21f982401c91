"""The probe guest: Debian's kernel and a busybox initramfs that prints a marker and powers off.

Built once from this host's apt and cached under cache_dir()/probe/.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stacklab.errors import HostError
from stacklab.images.debian_packages import AptPackages, extract_package
from stacklab.images.initramfs import busybox_initramfs
from stacklab.runner import Runner
from stacklab.state.paths import cache_dir

PROBE_MARKER = "STACKLAB-PROBE-OK"
KERNEL_METAPACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"
# The pause keeps the marker from being cut off by the power-off while the UART still
# sends it; it costs nothing, since the prober stops as soon as it reads the marker.
PROBE_INIT = f"""#!/bin/sh
echo {PROBE_MARKER}
sleep 1
poweroff -f
"""
PROBE_APPLETS = ["echo", "poweroff", "sh", "sleep"]


@dataclass(frozen=True)
class ProbeGuest:
    kernel: Path
    initramfs: Path
    kernel_package: str


def probe_directory() -> Path:
    return cache_dir() / "probe"


def ensure_probe_guest(runner: Runner, directory: Path | None = None) -> ProbeGuest:
    """The cached probe guest, built first if it is not there yet."""
    directory = directory or probe_directory()
    cached = _cached_guest(directory)
    if cached is not None:
        return cached
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "guest.json").unlink(missing_ok=True)
    apt = AptPackages(runner)
    kernel_package = apt.dependency_of(KERNEL_METAPACKAGE, "linux-image-")
    with tempfile.TemporaryDirectory(prefix="build-", dir=directory) as work_dir:
        work = Path(work_dir)
        debs = apt.download([kernel_package, BUSYBOX_PACKAGE], work / "debs")
        kernel_root = extract_package(runner, debs[kernel_package], work / "kernel")
        busybox_root = extract_package(runner, debs[BUSYBOX_PACKAGE], work / "busybox")
        vmlinuz = _single(sorted((kernel_root / "boot").glob("vmlinuz-*")), kernel_package)
        busybox = busybox_root / "bin" / "busybox"
        if not busybox.is_file():
            raise HostError(f"{BUSYBOX_PACKAGE} has no bin/busybox", fix=_fix_apt())
        initramfs = busybox_initramfs(busybox.read_bytes(), PROBE_INIT, PROBE_APPLETS)
        _write_atomically(directory / "vmlinuz", vmlinuz.read_bytes())
        _write_atomically(directory / "initramfs.cpio", initramfs.to_bytes())
    # Written last: its presence says the guest is complete.
    manifest = {"kernel_package": kernel_package, "busybox_package": debs[BUSYBOX_PACKAGE].name}
    _write_atomically(directory / "guest.json", json.dumps(manifest, indent=2).encode())
    return ProbeGuest(directory / "vmlinuz", directory / "initramfs.cpio", kernel_package)


def _cached_guest(directory: Path) -> ProbeGuest | None:
    kernel, initramfs = directory / "vmlinuz", directory / "initramfs.cpio"
    try:
        manifest = json.loads((directory / "guest.json").read_text())
    except (OSError, ValueError):
        return None
    if not (kernel.is_file() and initramfs.is_file()) or not isinstance(manifest, dict):
        return None
    return ProbeGuest(kernel, initramfs, str(manifest.get("kernel_package", "unknown")))


def _single(matches: list[Path], package: str) -> Path:
    if len(matches) != 1:
        raise HostError(f"{package} has {len(matches)} boot/vmlinuz-* files", fix=_fix_apt())
    return matches[0]


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _fix_apt() -> str:
    return f"check that `apt-get download {KERNEL_METAPACKAGE} {BUSYBOX_PACKAGE}` works here"
