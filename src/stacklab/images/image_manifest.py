"""A built test image as a value, and its manifest.json: what each file is and how to upload it.

The manifest is written last, so its presence says the image directory is complete. It
holds nothing that varies between builds (no dates), so the whole directory is
byte-identical for the same inputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
ROLES = ("kernel", "ramdisk", "disk")
GLANCE_FORMATS = {"disk_format": "raw", "container_format": "bare"}
# The root disk points at the other two by their Glance ids, known only after their upload.
ROOT_LINKS = {"kernel_id": "kernel", "ramdisk_id": "ramdisk"}
MIN_RAM_MB = 256


@dataclass(frozen=True)
class ImageFile:
    role: str  # "kernel", "ramdisk" or "disk" (the root image that Nova boots)
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class BuiltImage:
    name: str
    directory: Path
    inputs_hash: str
    kernel_package: str
    kernel_version: str
    command_line: str
    ssh: bool  # whether the guest runs an SSH server for the injected key
    modules: tuple[str, ...]
    packages: dict[str, str]  # package -> .deb file name
    kernel: ImageFile
    ramdisk: ImageFile
    disk: ImageFile

    @property
    def files(self) -> tuple[ImageFile, ImageFile, ImageFile]:
        return (self.kernel, self.ramdisk, self.disk)

    def root_properties(self, kernel_id: str, ramdisk_id: str) -> dict[str, str]:
        """Glance properties of the root disk image, once kernel and ramdisk are uploaded."""
        return {
            "kernel_id": kernel_id,
            "ramdisk_id": ramdisk_id,
            "os_command_line": self.command_line,
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "directory": str(self.directory),
            "inputs_hash": self.inputs_hash,
            "kernel_package": self.kernel_package,
            "kernel_version": self.kernel_version,
            "ssh": self.ssh,
            "modules": list(self.modules),
            "packages": dict(sorted(self.packages.items())),
            "files": {
                f.role: {"path": f.path.name, "size": f.size, "sha256": f.sha256}
                for f in self.files
            },
            "glance": {
                **GLANCE_FORMATS,
                "min_ram_mb": MIN_RAM_MB,
                "root_properties": {"os_command_line": self.command_line},
                "root_links": ROOT_LINKS,
            },
        }


def write_manifest(image: BuiltImage) -> None:
    partial = image.directory / (MANIFEST + ".partial")
    manifest = {key: value for key, value in image.to_dict().items() if key != "directory"}
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    partial.replace(image.directory / MANIFEST)


def read_manifest(directory: Path) -> BuiltImage | None:
    """The image in directory if its manifest is readable and every file has its size."""
    try:
        raw = json.loads((directory / MANIFEST).read_text())
        files = {role: _image_file(directory, role, raw["files"][role]) for role in ROLES}
        image = BuiltImage(
            name=str(raw["name"]),
            directory=directory,
            inputs_hash=str(raw["inputs_hash"]),
            kernel_package=str(raw["kernel_package"]),
            kernel_version=str(raw["kernel_version"]),
            command_line=str(raw["glance"]["root_properties"]["os_command_line"]),
            ssh=bool(raw["ssh"]),
            modules=tuple(str(m) for m in raw["modules"]),
            packages={str(k): str(v) for k, v in raw["packages"].items()},
            kernel=files["kernel"],
            ramdisk=files["ramdisk"],
            disk=files["disk"],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not all(f.path.is_file() and f.path.stat().st_size == f.size for f in image.files):
        return None
    return image


def _image_file(directory: Path, role: str, raw: dict[str, object]) -> ImageFile:
    name = str(raw["path"])
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"bad file name in the manifest: {name!r}")
    size = raw["size"]
    if not isinstance(size, int):
        raise TypeError("file size in the manifest is not a number")
    return ImageFile(role, directory / name, size, str(raw["sha256"]))
