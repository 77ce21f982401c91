"""Reading an ELF's interpreter and DT_NEEDED, and copying a program with its libraries."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from fakes import INTERPRETER, make_elf

from stacklab.errors import HostError
from stacklab.images.elf import dynamic_linking
from stacklab.images.initramfs import Initramfs, read_archive
from stacklab.images.shared_libraries import add_program


def test_interpreter_and_needed_libraries_are_read_in_file_order() -> None:
    linking = dynamic_linking(make_elf(INTERPRETER, ["libz.so.1", "libc.so.6"]))

    assert linking.interpreter == INTERPRETER
    assert linking.needed == ("libz.so.1", "libc.so.6")


def test_a_library_without_interpreter_and_a_program_without_libraries() -> None:
    assert dynamic_linking(make_elf(None, ["libc.so.6"])).interpreter is None
    assert dynamic_linking(make_elf(INTERPRETER, [])).needed == ()


@pytest.mark.parametrize("data", [b"#!/bin/sh\n", b"\x7fELF\x01\x01" + bytes(60)])
def test_anything_but_a_64_bit_little_endian_elf_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        dynamic_linking(data)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils' readelf is not installed")
def test_binutils_reads_the_same_from_a_real_program_of_this_host() -> None:
    program = Path("/bin/ls").resolve()
    shown = subprocess.run(
        ["readelf", "-d", "-l", str(program)], capture_output=True, text=True, check=True
    ).stdout
    linking = dynamic_linking(program.read_bytes())

    assert linking.needed
    needed_lines = [line for line in shown.splitlines() if "(NEEDED)" in line]
    assert [line.split("[")[1].rstrip("]") for line in needed_lines] == list(linking.needed)
    assert f"[Requesting program interpreter: {linking.interpreter}]" in shown


def package_tree(root: Path, *, with_libz: bool = True) -> Path:
    """dropbear needing libz (through a version symlink) and libc; ld.so behind /lib64."""
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "sbin" / "dropbear").write_bytes(
        make_elf(INTERPRETER, ["libz.so.1", "libc.so.6"])
    )
    (root / "usr" / "sbin" / "dropbear").chmod(0o755)
    libs = root / "lib" / "x86_64-linux-gnu"
    libs.mkdir(parents=True)
    (libs / "libc.so.6").write_bytes(make_elf(INTERPRETER, ["ld-linux-x86-64.so.2"]))
    (libs / "ld-linux-x86-64.so.2").write_bytes(make_elf(None, []))
    (root / "lib64").mkdir()
    (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to(
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    )
    if with_libz:
        usr_libs = root / "usr" / "lib" / "x86_64-linux-gnu"
        usr_libs.mkdir(parents=True)
        (usr_libs / "libz.so.1.2.13").write_bytes(make_elf(None, ["libc.so.6"]))
        (usr_libs / "libz.so.1").symlink_to("libz.so.1.2.13")
    return root


def test_a_program_comes_with_its_libraries_and_interpreter_where_the_packages_put_them(
    tmp_path: Path,
) -> None:
    image = Initramfs()
    added = add_program(image, package_tree(tmp_path), "/usr/sbin/dropbear")

    assert added == [
        "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "lib/x86_64-linux-gnu/libc.so.6",
        "lib64/ld-linux-x86-64.so.2",
        "usr/lib/x86_64-linux-gnu/libz.so.1",
        "usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
        "usr/sbin/dropbear",
    ]
    members = {member.path: member for member in read_archive(image.to_bytes())}
    loader = members["lib64/ld-linux-x86-64.so.2"]
    assert stat.S_ISLNK(loader.mode)
    assert loader.data == b"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    assert members["usr/lib/x86_64-linux-gnu/libz.so.1"].data == b"libz.so.1.2.13"
    assert stat.S_IMODE(members["usr/sbin/dropbear"].mode) == 0o755
    assert members["lib/x86_64-linux-gnu/libc.so.6"].data.startswith(b"\x7fELF")


def test_a_library_no_package_has_is_an_error_that_names_it(tmp_path: Path) -> None:
    with pytest.raises(HostError, match=r"needs libz\.so\.1"):
        add_program(Initramfs(), package_tree(tmp_path, with_libz=False), "usr/sbin/dropbear")
