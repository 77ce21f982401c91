"""The offline test image in Glance, as FIELD-NOTES says Nova boots it: kernel, ramdisk and
root disk all raw/bare and public, the root carrying kernel_id, ramdisk_id and
os_command_line. Each carries the hash of the build's inputs, so a rebuilt image replaces
the old one and the same image is never uploaded twice."""

from __future__ import annotations

from stacklab.bootstrap.decisions import Action, Change, image_decision
from stacklab.bootstrap.resources import IMAGE_HASH_PROPERTY, IMAGE_USER
from stacklab.images.image_manifest import MIN_RAM_MB, BuiltImage, ImageFile
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import ImageRecord


def part_name(image: BuiltImage, part: ImageFile) -> str:
    return image.name if part.role == "disk" else f"{image.name}-{part.role}"


def ensure_test_image(cloud: OpenStackCloud, image: BuiltImage) -> tuple[str, list[Change]]:
    """The root image's id, uploading what is missing; stale uploads are deleted last."""
    hashed = {IMAGE_HASH_PROPERTY: image.inputs_hash}
    existing = cloud.images()
    changes: list[Change] = []
    stale: list[ImageRecord] = []
    ids: dict[str, str] = {}
    for part in (image.kernel, image.ramdisk):
        ids[part.role], replaced = _ensure_part(cloud, image, part, hashed, existing, changes)
        stale += replaced
    root_properties = {
        **hashed,
        **image.root_properties(ids["kernel"], ids["ramdisk"]),
        "os_admin_user": IMAGE_USER,
    }
    root_id, replaced = _ensure_part(cloud, image, image.disk, root_properties, existing, changes)
    stale += replaced
    for old in stale:
        cloud.delete_image(old.id)
    return root_id, changes


def _ensure_part(
    cloud: OpenStackCloud,
    image: BuiltImage,
    part: ImageFile,
    properties: dict[str, str],
    existing: list[ImageRecord],
    changes: list[Change],
) -> tuple[str, tuple[ImageRecord, ...]]:
    name = part_name(image, part)
    decision = image_decision(existing, name, properties)
    if decision.keep is not None:
        changes.append(Change("image", name, Action.FOUND))
        return decision.keep.id, decision.stale
    min_ram = MIN_RAM_MB if part.role == "disk" else 0
    image_id = cloud.upload_image(name, part.path, properties, min_ram_mb=min_ram)
    action = Action.REPLACED if decision.stale else Action.CREATED
    changes.append(Change("image", name, action, f"{part.size / 1024 / 1024:.1f} MiB"))
    return image_id, decision.stale
