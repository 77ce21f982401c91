"""The probe guest is built from (fake) apt packages, cached, and reused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stacklab.doctor.probe_guest import PROBE_MARKER, ensure_probe_guest
from stacklab.errors import HostError
from stacklab.images.initramfs import read_archive
from stacklab.runner import Completed


class FakeDebian:
    """apt-cache, apt-get download and dpkg-deb -x over made-up packages."""

    where = "host"

    def __init__(self, kernel_files: tuple[str, ...] = ("vmlinuz-6.1.0-99-amd64",)) -> None:
        self.commands: list[list[str]] = []
        self.kernel_files = kernel_files

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed:
        self.commands.append(command)
        out = ""
        if command[:2] == ["apt-cache", "depends"]:
            out = "linux-image-amd64\n  Depends: linux-image-6.1.0-99-amd64\n"
        elif "download" in command:
            for package in command[5:]:
                (Path(command[2]) / f"{package}_1_amd64.deb").write_text(package)
        elif command[:2] == ["dpkg-deb", "-x"]:
            package, root = Path(command[2]).read_text(), Path(command[3])
            if package.startswith("linux-image"):
                (root / "boot").mkdir(parents=True)
                for name in self.kernel_files:
                    (root / "boot" / name).write_bytes(b"KERNEL")
            else:
                (root / "bin").mkdir(parents=True)
                (root / "bin" / "busybox").write_bytes(b"BUSYBOX")
        return Completed(tuple(command), 0, out, "")


def test_guest_is_built_from_the_packages_and_then_served_from_the_cache(tmp_path: Path) -> None:
    debian = FakeDebian()
    guest = ensure_probe_guest(debian, tmp_path)

    assert guest.kernel.read_bytes() == b"KERNEL"
    assert guest.kernel_package == "linux-image-6.1.0-99-amd64"
    members = {m.path: m for m in read_archive(guest.initramfs.read_bytes())}
    assert members["bin/busybox"].data == b"BUSYBOX"
    assert PROBE_MARKER.encode() in members["init"].data
    assert b"poweroff -f" in members["init"].data
    assert stat.S_ISLNK(members["bin/poweroff"].mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guest.json", "initramfs.cpio", "vmlinuz"]

    used = len(debian.commands)
    again = ensure_probe_guest(debian, tmp_path)
    assert again == guest
    assert len(debian.commands) == used  # nothing downloaded or unpacked the second time


def test_an_incomplete_cache_is_rebuilt(tmp_path: Path) -> None:
    ensure_probe_guest(FakeDebian(), tmp_path)
    (tmp_path / "initramfs.cpio").unlink()

    debian = FakeDebian()
    guest = ensure_probe_guest(debian, tmp_path)
    assert guest.initramfs.is_file()
    assert any("download" in command for command in debian.commands)


def test_a_kernel_package_without_exactly_one_vmlinuz_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(HostError):
        ensure_probe_guest(FakeDebian(kernel_files=()), tmp_path)
    assert not (tmp_path / "guest.json").exists()
