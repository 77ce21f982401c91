"""The lab's nodes on GCP, find-or-create: the image, and each node's instance on the lab's
networks at the plan's addresses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stacklab.catalog.models import ImageSource
from stacklab.errors import ProviderError
from stacklab.providers.gcp.labels import Labeller
from stacklab.providers.gcp.layout import LabLayout, NodeLayout
from stacklab.providers.gcp.network import DOWN_FIRST
from stacklab.providers.gcp.records import AttachedNic, Image, Instance, InstanceRequest
from stacklab.providers.rented import Created

if TYPE_CHECKING:
    from stacklab.providers.gcp.adapter import ComputeAdapter

STOPPED_STATES = frozenset({"STOPPING", "STOPPED", "TERMINATED", "SUSPENDED"})
IMAGE_LINK_PARTS = ("projects", "global", "images")


@dataclass(frozen=True)
class LaunchSettings:
    """What every instance of the lab shares."""

    zone: str
    region: str
    image: Image
    boot_disk_gb: int


def resolve_image(
    gcp: ComputeAdapter, image: str | None, source: ImageSource | None, os: str
) -> Image:
    """The spec's image (projects/P/global/images/NAME), else the newest image of the public
    family for the spec's OS."""
    if image:
        parts = image.strip("/").split("/")
        if len(parts) != 5 or tuple(parts[i] for i in (0, 2, 3)) != IMAGE_LINK_PARTS:
            raise ProviderError(
                f"provider.image {image} is not of the form projects/PROJECT/global/images/NAME.",
                fix="name the image by its path, or remove provider.image for the newest "
                "official Debian image",
            )
        found = gcp.image(parts[1], parts[4])
        if found is None:
            raise ProviderError(
                f"provider.image {image} does not exist (or this account may not use it).",
                fix="name an image that exists, or remove provider.image for the newest "
                "official Debian image",
            )
        return found
    family = source.families.get(os) if source else None
    if source is None or family is None:
        raise ProviderError(
            f"The GCP catalog names no image family for {os}.",
            fix="set provider.image to projects/PROJECT/global/images/NAME",
        )
    newest = gcp.image_from_family(source.owner, family)
    if newest is None:
        raise ProviderError(
            f"Project {source.owner} has no image in family {family} (for {os}).",
            fix="set provider.image to projects/PROJECT/global/images/NAME",
        )
    return newest


def ensure_instance(
    gcp: ComputeAdapter,
    node: NodeLayout,
    layout: LabLayout,
    launch: LaunchSettings,
    metadata: Mapping[str, str],
    labeller: Labeller,
    created: Created,
) -> bool:
    """The node's instance, inserted or started if need be; True if it was inserted now."""
    found = gcp.instances(launch.zone, labeller.node_filter(node.name))
    if found:
        instance = found[0]
        _check_addresses(instance, node, layout.lab)
        if instance.status in STOPPED_STATES:
            gcp.start_instance(launch.zone, instance.name)
        return False
    request = InstanceRequest(
        name=node.instance,
        zone=launch.zone,
        machine_type=node.machine_type,
        image=launch.image.self_link,
        boot_disk_gb=launch.boot_disk_gb,
        nics=tuple(
            AttachedNic(
                network=layout.network(nic.network).name,
                subnetwork=layout.network(nic.network).name,
                address=str(nic.address),
                alias_ranges=tuple(f"{alias}/32" for alias in nic.alias_addresses),
                external=nic.external,
            )
            for nic in node.nics
        ),
        can_ip_forward=node.can_ip_forward,
        nested_virtualization=node.nested_virtualization,
        network_tags=node.network_tags,
        metadata=metadata,
        labels=labeller.labels(node.name),
    )
    gcp.insert_instance(launch.region, request)
    nested = ", nested virtualization" if node.nested_virtualization else ""
    created("instance", node.instance, f"instance {node.instance}: {node.machine_type}{nested}")
    return True


def _check_addresses(instance: Instance, node: NodeLayout, lab: str) -> None:
    has = [nic.address for nic in instance.nics]
    wanted = [str(nic.address) for nic in node.nics]
    if has != wanted:
        raise ProviderError(
            f"{node.name}'s instance has the addresses {', '.join(has)}, the plan says "
            f"{', '.join(wanted)}.",
            fix=DOWN_FIRST.format(lab=lab),
        )


def external_address(instance: Instance) -> str:
    return next((nic.external_address for nic in instance.nics if nic.external_address), "")
