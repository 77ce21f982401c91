"""Fakes shared by the test image's unit tests (this module has no tests of its own):
a writer of small but valid ELF files, and apt/dpkg over made-up Debian packages."""

from __future__ import annotations

import hashlib
import lzma
import struct
from pathlib import Path

from stacklab.images.guest_init import VIRTIO_MODULES
from stacklab.runner import Completed

BASE_ADDRESS = 0x400000
KERNEL_VERSION = "6.1.0-99-amd64"
KERNEL_PACKAGE = f"linux-image-{KERNEL_VERSION}"
INTERPRETER = "/lib64/ld-linux-x86-64.so.2"


def make_elf(interpreter: str | None, needed: list[str]) -> bytes:
    """A 64-bit little-endian ELF with PT_INTERP, one PT_LOAD and a PT_DYNAMIC of DT_NEEDEDs."""
    header_size, program_header_size = 64, 56
    count = 3 if interpreter else 2
    body_offset = header_size + count * program_header_size
    interp = interpreter.encode() + b"\0" if interpreter else b""
    strtab = b"\0" + b"".join(name.encode() + b"\0" for name in needed)
    strtab_offset = body_offset + len(interp)
    dynamic_offset = strtab_offset + len(strtab) + (-(strtab_offset + len(strtab)) % 8)
    entries, position = [], 1
    for name in needed:
        entries.append((1, position))  # DT_NEEDED
        position += len(name) + 1
    entries += [(5, BASE_ADDRESS + strtab_offset), (10, len(strtab)), (0, 0)]
    dynamic = b"".join(struct.pack("<qQ", tag, value) for tag, value in entries)
    total = dynamic_offset + len(dynamic)

    def program_header(kind: int, offset: int, size: int) -> bytes:
        return struct.pack("<IIQQQQQQ", kind, 4, offset, BASE_ADDRESS + offset, 0, size, size, 8)

    headers = program_header(1, 0, total)  # PT_LOAD covering the whole file
    if interpreter:
        headers = program_header(3, body_offset, len(interp)) + headers
    headers += program_header(2, dynamic_offset, len(dynamic))
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    elf_header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 3, 0x3E, 1, 0, header_size, 0, 0, header_size, 56, count, 64, 0, 0
    )
    padding = bytes(dynamic_offset - strtab_offset - len(strtab))
    return elf_header + headers + interp + strtab + padding + dynamic


def write_kernel_tree(root: Path, modules: dict[str, bytes], builtin: list[str]) -> None:
    """An unpacked kernel package: boot/vmlinuz and lib/modules/<version>/..."""
    (root / "boot").mkdir(parents=True, exist_ok=True)
    (root / "boot" / f"vmlinuz-{KERNEL_VERSION}").write_bytes(b"VMLINUZ " + KERNEL_VERSION.encode())
    modules_dir = root / "lib" / "modules" / KERNEL_VERSION
    drivers = modules_dir / "kernel" / "drivers"
    drivers.mkdir(parents=True, exist_ok=True)
    for file_name, data in modules.items():
        (drivers / file_name).write_bytes(data)
    listed = "".join(f"kernel/drivers/{name}.ko\n" for name in builtin)
    (modules_dir / "modules.builtin").write_text(listed)


def module_bytes(name: str) -> bytes:
    return f"MODULE {name}".encode()


class FakeDebian:
    """apt-cache, apt-get download (--print-uris too) and dpkg-deb -x over made-up packages.

    Every package's .deb holds just its name and version; unpacking it builds a small tree:
    a kernel with the virtio modules (some xz-compressed), busybox, and dropbear whose
    ELF needs libc6's libraries.
    """

    where = "host"

    def __init__(self, kernel_release: str = "1", corrupt_downloads: tuple[str, ...] = ()) -> None:
        self.commands: list[list[str]] = []
        self.corrupt_downloads = corrupt_downloads
        self.versions = {
            KERNEL_PACKAGE: kernel_release,
            "busybox-static": "1",
            "dropbear-bin": "1",
            "libc6": "1",
        }

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
        if command[:3] == ["apt-cache", "depends", "--recurse"]:
            out = "dropbear-bin\n  Depends: libc6\nlibc6\n  Depends: <virtual-thing>\n"
        elif command[:2] == ["apt-cache", "depends"]:
            out = f"linux-image-amd64\n  Depends: {KERNEL_PACKAGE}\n"
        elif command[:3] == ["apt-get", "download", "--print-uris"]:
            out = "".join(self._uri_line(package) for package in command[3:])
        elif command[:3] == ["env", "-C", command[2]] and "download" in command:
            for package in command[5:]:
                damage = b"!" if package in self.corrupt_downloads else b""
                deb = Path(command[2]) / self.filename(package)
                deb.write_bytes(self.content(package) + damage)
        elif command[:2] == ["dpkg-deb", "-x"]:
            package = Path(command[2]).read_bytes().decode().split()[0]
            self._unpack(package, Path(command[3]))
        return Completed(tuple(command), 0, out, "")

    def filename(self, package: str) -> str:
        return f"{package}_{self.versions[package]}_amd64.deb"

    def content(self, package: str) -> bytes:
        return f"{package} {self.versions[package]}".encode()

    def used(self, program: str) -> int:
        return sum(1 for command in self.commands if program in command)

    def _uri_line(self, package: str) -> str:
        digest = hashlib.sha256(self.content(package)).hexdigest()
        size = len(self.content(package))
        name = self.filename(package)
        return f"'file:/pool/{name}' {name} {size} SHA256:{digest}\n"

    def _unpack(self, package: str, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        if package == KERNEL_PACKAGE:
            modules = {
                f"{name}.ko.xz" if index % 2 else f"{name}.ko": (
                    lzma.compress(module_bytes(name)) if index % 2 else module_bytes(name)
                )
                for index, name in enumerate(VIRTIO_MODULES)
            }
            write_kernel_tree(root, modules, builtin=["virtio_rng"])
        elif package == "busybox-static":
            (root / "bin").mkdir(parents=True, exist_ok=True)
            (root / "bin" / "busybox").write_bytes(b"BUSYBOX " + self.versions[package].encode())
        elif package == "dropbear-bin":
            (root / "usr" / "sbin").mkdir(parents=True, exist_ok=True)
            dropbear = make_elf(INTERPRETER, ["libc.so.6"])
            (root / "usr" / "sbin" / "dropbear").write_bytes(dropbear)
        elif package == "libc6":
            libs = root / "lib" / "x86_64-linux-gnu"
            libs.mkdir(parents=True, exist_ok=True)
            (libs / "libc.so.6").write_bytes(make_elf(INTERPRETER, ["ld-linux-x86-64.so.2"]))
            (libs / "ld-linux-x86-64.so.2").write_bytes(make_elf(None, []))
            (root / "lib64").mkdir(exist_ok=True)
            (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to(
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
            )
