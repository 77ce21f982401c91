"""Golden images (seed 000): AMIs of a configured lab's nodes, to launch the next lab from in
minutes instead of installing for an hour. The Plan's fixed private addresses bring every
node back with the addresses its configuration names.

Golden images carry `stacklab:golden=<lab>`, not the lab tag: `down` keeps them, and
`delete_golden_images` removes them (with their EBS snapshots) when asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stacklab.core.nodes import ProgressCallback
from stacklab.errors import ProviderError
from stacklab.providers.aws.records import Image, Tags
from stacklab.providers.aws.tags import NAME_TAG, NODE_TAG, OWNER_TAG, lab_filter, resource_name
from stacklab.providers.base import FoundResource

if TYPE_CHECKING:
    from stacklab.providers.aws.adapter import Ec2Adapter

GOLDEN_TAG = "stacklab:golden"  # the lab an image was made from
SNAPSHOT_TAG = "stacklab:snapshot"  # which snapshot of it: a UTC time stamp unless named
LATEST = "latest"


def snapshot_name(now: datetime | None = None) -> str:
    """The default name of a snapshot: when it was made, in UTC."""
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def make_golden_images(
    ec2: Ec2Adapter, lab: str, name: str, owner: str, progress: ProgressCallback
) -> dict[str, Image]:
    """An AMI of every node of the lab, tagged with the snapshot's name; node -> image."""
    instances = ec2.instances({**lab_filter(lab), "instance-state-name": ("running", "stopped")})
    if not instances:
        raise ProviderError(
            f"Lab {lab} has no running or stopped instances to make images of.",
            fix=f"`stacklab up` the lab first; `stacklab status {lab}` shows what exists",
        )
    if golden_images(ec2, lab, name):
        raise ProviderError(
            f"Lab {lab} has a snapshot named {name} already.", fix="choose another name"
        )
    made: dict[str, str] = {}
    tags_of: dict[str, Tags] = {}
    for instance in instances:
        node = instance.tags.get(NODE_TAG, instance.id)
        progress(f"making an image of {node} (EC2 reboots it for a consistent disk)")
        tags = {
            GOLDEN_TAG: lab,
            SNAPSHOT_TAG: name,
            NODE_TAG: node,
            NAME_TAG: resource_name(lab, node, name),
            OWNER_TAG: owner,
        }
        tags_of[node] = tags
        made[node] = ec2.create_image(
            instance.id, resource_name(lab, node, name), f"stacklab lab {lab}, node {node}", tags
        )
    progress(f"waiting for {len(made)} images to be available")
    images = {image.id: image for image in ec2.wait_for_images(list(made.values()))}
    for node, image_id in made.items():
        if images[image_id].snapshot_ids:  # tagged once they exist, to be found in the console
            ec2.tag(images[image_id].snapshot_ids, tags_of[node])
    return {node: images[image_id] for node, image_id in made.items()}


def golden_images(ec2: Ec2Adapter, lab: str, name: str = LATEST) -> dict[str, Image]:
    """node -> image of the named snapshot of the lab, or of its newest one."""
    filters = {f"tag:{GOLDEN_TAG}": (lab,)}
    if name != LATEST:
        filters[f"tag:{SNAPSHOT_TAG}"] = (name,)
    found = ec2.own_images(filters)
    if not found:
        return {}
    newest = max(found, key=lambda image: image.creation_date)
    chosen = name if name != LATEST else newest.tags.get(SNAPSHOT_TAG, "")
    return {
        image.tags.get(NODE_TAG, image.id): image
        for image in found
        if image.tags.get(SNAPSHOT_TAG, "") == chosen
    }


def delete_golden_images(
    ec2: Ec2Adapter, lab: str, name: str, progress: ProgressCallback
) -> list[FoundResource]:
    removed = []
    for node, image in sorted(golden_images(ec2, lab, name).items()):
        progress(f"deregistering {image.id} ({node}) and deleting its snapshots")
        ec2.delete("image", image.id)
        removed.append(FoundResource("image", image.id, details={"node": node}))
        for snapshot_id in image.snapshot_ids:
            ec2.delete("snapshot", snapshot_id)
            removed.append(FoundResource("snapshot", snapshot_id, details={"node": node}))
    return removed
