"""Golden images (seed 000): custom images of a configured lab's boot disks, to start the next
lab from in minutes instead of installing for an hour. The Plan's fixed private addresses
bring every node back with the addresses its configuration names.

Each instance is stopped for its image (a consistent disk) and started again. Golden images
carry `stacklab-golden=<lab>`, not the lab label: `down` keeps them; `delete_golden_images`
removes them when asked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from stacklab.core.nodes import ProgressCallback
from stacklab.errors import ProviderError
from stacklab.providers.base import FoundResource
from stacklab.providers.gcp.labels import (
    GOLDEN_LABEL,
    LAB_LABEL,
    NODE_LABEL,
    SNAPSHOT_LABEL,
    Labeller,
    label_filter,
    resource_name,
)
from stacklab.providers.gcp.nodes import STOPPED_STATES
from stacklab.providers.gcp.records import Image

if TYPE_CHECKING:
    from stacklab.providers.gcp.adapter import ComputeAdapter

LATEST = "latest"
SNAPSHOT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,22}$")


def snapshot_name(now: datetime | None = None) -> str:
    """The default name of a snapshot: when it was made, in UTC."""
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def make_golden_images(
    gcp: ComputeAdapter, labeller: Labeller, zone: str, name: str, progress: ProgressCallback
) -> dict[str, Image]:
    """An image of every node's boot disk, labelled with the snapshot's name; node -> image."""
    lab = labeller.lab
    if not SNAPSHOT_NAME.match(name):
        raise ProviderError(
            f"Snapshot name {name} cannot label a GCP image.",
            fix="use 1-23 of a-z, 0-9 and '-', starting with a letter or digit",
        )
    instances = gcp.instances(zone, labeller.lab_filter())
    if not instances:
        raise ProviderError(
            f"Lab {lab} has no instances in {zone} to make images of.",
            fix=f"`stacklab up` the lab first; `stacklab status {lab}` shows what exists",
        )
    if golden_images(gcp, lab, name):
        raise ProviderError(
            f"Lab {lab} has a snapshot named {name} already.", fix="choose another name"
        )
    made: dict[str, Image] = {}
    for instance in instances:
        node = instance.labels.get(NODE_LABEL, instance.name)
        was_running = instance.status not in STOPPED_STATES
        if was_running:
            progress(f"stopping {node} for a consistent image of its disk")
            gcp.stop_instance(zone, instance.name)
        image = resource_name(lab, node, name)
        progress(f"making image {image} of {node}")
        labels = {
            **{key: value for key, value in labeller.labels(node).items() if key != LAB_LABEL},
            GOLDEN_LABEL: lab,
            SNAPSHOT_LABEL: name,
        }
        gcp.insert_image(image, instance.boot_disk, f"stacklab lab {lab}, node {node}", labels)
        if was_running:
            gcp.start_instance(zone, instance.name)
    found = golden_images(gcp, lab, name)
    for node in (i.labels.get(NODE_LABEL, i.name) for i in instances):
        made[node] = found[node]
    return made


def golden_images(gcp: ComputeAdapter, lab: str, name: str = LATEST) -> dict[str, Image]:
    """node -> image of the named snapshot of the lab, or of its newest one."""
    found = [i for i in gcp.images(label_filter(GOLDEN_LABEL, lab)) if i.status == "READY"]
    if not found:
        return {}
    chosen = name
    if name == LATEST:
        chosen = max(found, key=lambda image: image.created).labels.get(SNAPSHOT_LABEL, "")
    return {
        image.labels.get(NODE_LABEL, image.name): image
        for image in found
        if image.labels.get(SNAPSHOT_LABEL, "") == chosen
    }


def delete_golden_images(
    gcp: ComputeAdapter, lab: str, name: str, progress: ProgressCallback
) -> list[FoundResource]:
    removed = []
    for node, image in sorted(golden_images(gcp, lab, name).items()):
        progress(f"deleting image {image.name} ({node})")
        if gcp.delete_image(image.name):
            removed.append(FoundResource("image", image.name, details={"node": node}))
    return removed
