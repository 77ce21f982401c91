"""vmlinuz and modules out of an unpacked kernel package, whatever the modules' compression."""

from __future__ import annotations

import gzip
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest
from fakes import KERNEL_VERSION, module_bytes, write_kernel_tree

from stacklab.errors import HostError
from stacklab.images.kernel_package import kernel_parts
from stacklab.runner import LocalRunner

PACKAGE = f"linux-image-{KERNEL_VERSION}"


def test_modules_come_uncompressed_in_the_order_asked_and_built_ins_are_left_out(
    tmp_path: Path,
) -> None:
    write_kernel_tree(
        tmp_path,
        {
            "virtio_ring.ko": module_bytes("virtio_ring"),
            "virtio.ko.xz": lzma.compress(module_bytes("virtio")),
            "virtio_net.ko.gz": gzip.compress(module_bytes("virtio_net")),
            "virtio-blk.ko": module_bytes("virtio_blk"),  # dashes name the same module
        },
        builtin=["virtio_pci"],
    )
    parts = kernel_parts(
        LocalRunner(),
        tmp_path,
        PACKAGE,
        ("virtio_ring", "virtio", "virtio_pci", "virtio_net", "virtio_blk"),
    )

    assert parts.version == KERNEL_VERSION
    assert parts.vmlinuz == tmp_path / "boot" / f"vmlinuz-{KERNEL_VERSION}"
    assert [m.name for m in parts.modules] == ["virtio_ring", "virtio", "virtio_net", "virtio_blk"]
    assert [m.data for m in parts.modules] == [
        module_bytes(name) for name in ("virtio_ring", "virtio", "virtio_net", "virtio_blk")
    ]
    assert parts.builtin == ("virtio_pci",)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is not installed")
def test_zstd_compressed_modules_are_decompressed_too(tmp_path: Path) -> None:
    write_kernel_tree(tmp_path / "pkg", {}, builtin=[])
    plain = tmp_path / "virtio.ko"
    plain.write_bytes(module_bytes("virtio"))
    drivers = tmp_path / "pkg" / "lib" / "modules" / KERNEL_VERSION / "kernel" / "drivers"
    subprocess.run(["zstd", "-q", "-o", str(drivers / "virtio.ko.zst"), str(plain)], check=True)

    parts = kernel_parts(LocalRunner(), tmp_path / "pkg", PACKAGE, ("virtio",))
    assert parts.modules[0].data == module_bytes("virtio")


def test_a_module_neither_shipped_nor_built_in_is_an_error_that_names_it(tmp_path: Path) -> None:
    write_kernel_tree(tmp_path, {"virtio.ko": b"x"}, builtin=[])
    with pytest.raises(HostError, match="no module virtio_net"):
        kernel_parts(LocalRunner(), tmp_path, PACKAGE, ("virtio", "virtio_net"))


def test_a_package_with_two_kernels_or_no_vmlinuz_is_an_error(tmp_path: Path) -> None:
    write_kernel_tree(tmp_path, {}, builtin=[])
    (tmp_path / "lib" / "modules" / "6.1.0-98-amd64").mkdir()
    with pytest.raises(HostError, match="one lib/modules/<version>"):
        kernel_parts(LocalRunner(), tmp_path, PACKAGE, ())

    shutil.rmtree(tmp_path / "lib" / "modules" / "6.1.0-98-amd64")
    (tmp_path / "boot" / f"vmlinuz-{KERNEL_VERSION}").unlink()
    with pytest.raises(HostError, match="no boot/vmlinuz"):
        kernel_parts(LocalRunner(), tmp_path, PACKAGE, ())


def test_modules_under_usr_lib_after_the_usr_merge_are_found(tmp_path: Path) -> None:
    write_kernel_tree(tmp_path, {"virtio.ko.xz": lzma.compress(b"V")}, builtin=[])
    (tmp_path / "usr").mkdir()
    (tmp_path / "lib").rename(tmp_path / "usr" / "lib")

    parts = kernel_parts(LocalRunner(), tmp_path, PACKAGE, ("virtio",))
    assert parts.modules[0].data == b"V"
