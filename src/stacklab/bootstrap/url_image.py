"""The spec's image_url in Glance, besides the offline test image (verify keeps booting that
one: only it prints the console markers verify reads). Found by name and source URL, so a
second run uploads nothing; an image of the name from another URL, or a cut upload, is
replaced. Images without the source property are the user's and are never touched."""

from __future__ import annotations

import math

from stacklab.bootstrap.decisions import Action, Change, image_decision
from stacklab.images.cloud_image import CloudImage
from stacklab.openstack_api import OpenStackCloud

SOURCE_PROPERTY = "stacklab_source_url"
GiB = 1024**3


def url_image_properties(image: CloudImage) -> dict[str, str]:
    properties = {SOURCE_PROPERTY: image.url}
    if image.login_user is not None:
        properties["os_admin_user"] = image.login_user
    return properties


def ensure_url_image(cloud: OpenStackCloud, image: CloudImage) -> tuple[str, Change]:
    """The image's id in Glance, uploaded when missing."""
    ours = [found for found in cloud.images(image.name) if SOURCE_PROPERTY in found.properties]
    decision = image_decision(ours, image.name, {SOURCE_PROPERTY: image.url})
    if decision.keep is not None:
        return decision.keep.id, Change("image", image.name, Action.FOUND, image.url)
    image_id = cloud.upload_image(
        image.name,
        image.path,
        url_image_properties(image),
        disk_format=image.disk.disk_format,
        # Nova then refuses a flavor whose disk is too small with a clear message, instead of
        # an instance that fails to boot.
        min_disk_gb=math.ceil(image.disk.virtual_size / GiB),
    )
    for old in decision.stale:
        cloud.delete_image(old.id)
    action = Action.REPLACED if decision.stale else Action.CREATED
    detail = f"{image.disk.disk_format}, {image.size / 1024 / 1024:.1f} MiB from {image.url}"
    return image_id, Change("image", image.name, action, detail)
