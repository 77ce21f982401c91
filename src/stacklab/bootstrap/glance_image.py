"""The offline test image in Glance, as FIELD-NOTES says Nova boots it: kernel, ramdisk and
root disk all raw/bare and public, the root carrying kernel_id, ramdisk_id and
os_command_line; and a second root image on the same kernel and ramdisk, for tests that
need two distinct images. Each carries the hash of the build's inputs, so a rebuilt image
replaces the old one and the same image is never uploaded twice."""

from __future__ import annotations

import tempfile
from pathlib import Path

from stacklab.bootstrap.decisions import Action, Change, image_decision
from stacklab.bootstrap.resources import ALT_TEST_IMAGE, IMAGE_HASH_PROPERTY, IMAGE_USER
from stacklab.images.image_assembly import write_labelled_disk
from stacklab.images.image_manifest import MIN_RAM_MB, BuiltImage, ImageFile
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import ImageRecord

ALT_PROPERTY = "stacklab_alternative_of"  # on the second root image: which one it stands beside


def part_name(image: BuiltImage, part: ImageFile) -> str:
    return image.name if part.role == "disk" else f"{image.name}-{part.role}"


def ensure_test_image(cloud: OpenStackCloud, image: BuiltImage) -> tuple[str, list[Change]]:
    """The root image's id, uploading what is missing (the alternative root image too);
    stale uploads are deleted last."""
    hashed = {IMAGE_HASH_PROPERTY: image.inputs_hash}
    existing = cloud.images()
    changes: list[Change] = []
    stale: list[ImageRecord] = []
    ids: dict[str, str] = {}
    for part in (image.kernel, image.ramdisk):
        name = part_name(image, part)
        ids[part.role], replaced = _ensure_part(cloud, name, part, hashed, existing, changes)
        stale += replaced
    root_properties = {
        **hashed,
        **image.root_properties(ids["kernel"], ids["ramdisk"]),
        "os_admin_user": IMAGE_USER,
    }
    root_id, replaced = _ensure_part(
        cloud, image.name, image.disk, root_properties, existing, changes
    )
    stale += replaced
    with tempfile.TemporaryDirectory(prefix="stacklab-alt-image-") as scratch:
        alt_disk = alternative_disk(image, Path(scratch))
        alt_properties = {**root_properties, ALT_PROPERTY: image.name}
        _, replaced = _ensure_part(
            cloud, ALT_TEST_IMAGE, alt_disk, alt_properties, existing, changes
        )
    stale += replaced
    for old in stale:
        cloud.delete_image(old.id)
    return root_id, changes


def alternative_disk(image: BuiltImage, directory: Path) -> ImageFile:
    """The root disk again, labelled at its start: same size, its own checksum."""
    path = directory / "disk-alt.raw"
    label = f"{ALT_TEST_IMAGE}\n".encode()
    sha256 = write_labelled_disk(path, image.disk.size, label)
    return ImageFile("disk", path, image.disk.size, sha256)


def _ensure_part(
    cloud: OpenStackCloud,
    name: str,
    part: ImageFile,
    properties: dict[str, str],
    existing: list[ImageRecord],
    changes: list[Change],
) -> tuple[str, tuple[ImageRecord, ...]]:
    decision = image_decision(existing, name, properties)
    if decision.keep is not None:
        changes.append(Change("image", name, Action.FOUND))
        return decision.keep.id, decision.stale
    min_ram = MIN_RAM_MB if part.role == "disk" else 0
    image_id = cloud.upload_image(name, part.path, properties, min_ram_mb=min_ram)
    action = Action.REPLACED if decision.stale else Action.CREATED
    changes.append(Change("image", name, action, f"{part.size / 1024 / 1024:.1f} MiB"))
    return image_id, decision.stale
