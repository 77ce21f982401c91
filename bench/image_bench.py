"""How long `stacklab image build` takes on this host, cold (packages downloaded, image
assembled, in an empty temporary cache) and warm (cached: only apt is asked), how big
the image is with and without SSH, and how soon it boots under QEMU TCG.

Run as root: .venv/bin/python bench/image_bench.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from stacklab.images.console_markers import read_markers
from stacklab.images.image_manifest import BuiltImage
from stacklab.images.qemu_guest import QemuGuest, direct_boot_command
from stacklab.images.test_image import ImageRecipe, build_test_image
from stacklab.runner import LocalRunner

BOOT_TIMEOUT_S = 60.0


def boot_to_address(image: BuiltImage, work: Path) -> tuple[float | None, float | None]:
    """Seconds from starting qemu to STACKLAB-BOOTED and to STACKLAB-ADDRESS."""
    serial_log = work / "serial.log"
    command = direct_boot_command(
        image.kernel.path,
        image.ramdisk.path,
        image.command_line,
        serial_log,
        extra=("-drive", f"file={image.disk.path},format=raw,if=virtio,readonly=on",
               "-nic", "user,model=virtio-net-pci"),
    )  # fmt: skip
    booted_at: float | None = None
    with QemuGuest(command, serial_log, work / "qemu.stderr") as guest:
        started = time.monotonic()
        guest.start()
        if guest.wait_for(lambda console: read_markers(console).booted, BOOT_TIMEOUT_S):
            booted_at = time.monotonic() - started
        if guest.wait_for(lambda console: read_markers(console).address is not None, 30.0):
            return booted_at, time.monotonic() - started
    return booted_at, None


def main() -> None:
    runner = LocalRunner()
    with tempfile.TemporaryDirectory(prefix="stacklab-image-bench-") as scratch:
        images = Path(scratch) / "images"
        cold = build_test_image(runner, images_dir=images)
        warm = [build_test_image(runner, images_dir=images) for _ in range(3)]
        assert all(build.cached for build in warm) and not cold.cached
        without_ssh = build_test_image(runner, ImageRecipe(ssh=False), images_dir=images)
        booted, addressed = boot_to_address(cold.image, Path(scratch))
    image = cold.image
    print(f"kernel package: {image.kernel_package}")
    print(f"build cold (download, unpack, assemble): {cold.seconds:.1f} s")
    print(f"build warm (cached; apt asked), best of 3: {min(b.seconds for b in warm):.1f} s")
    print(f"build cold without SSH: {without_ssh.seconds:.1f} s")
    for file in image.files:
        print(f"{file.role:8} {file.path.name:18} {file.size / 2**20:6.2f} MiB")
    print(f"ramdisk without SSH: {without_ssh.image.ramdisk.size / 2**20:.2f} MiB")
    shown = {"booted": booted, "address": addressed}
    for marker, seconds in shown.items():
        print(f"qemu TCG start to {marker} marker: " + (f"{seconds:.1f} s" if seconds else "never"))


if __name__ == "__main__":
    main()
