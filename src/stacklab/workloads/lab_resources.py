"""Finding what bootstrap made, by the names it used, as the demo user sees them."""

from __future__ import annotations

from dataclasses import dataclass

from stacklab.bootstrap.decisions import find_network
from stacklab.bootstrap.resources import (
    EXTERNAL_NETWORK,
    IMAGE_USER,
    TENANT_NETWORK,
    keypair_name,
)
from stacklab.errors import CloudError
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import ImageRecord

BOOTSTRAP_FIX = "run `stacklab up`: its bootstrap step makes it"


class NotBootstrapped(CloudError):
    """Something bootstrap makes is missing from the lab's cloud."""


@dataclass(frozen=True)
class BootTarget:
    """What a new demo server needs: image, flavor, networks and keypair."""

    image_id: str
    image_name: str
    user: str  # who logs in on the image (its os_admin_user)
    flavor_id: str
    network_id: str
    external_network_id: str
    key_name: str
    network_mtu: int | None = None  # the tenant network's, as Neutron gives it by DHCP


def pick_image(images: list[ImageRecord], name: str) -> ImageRecord | None:
    """The active image of this name (or id)."""
    active = [image for image in images if image.status == "active"]
    return next((i for i in active if name in (i.name, i.id)), None)


def boot_target(cloud: OpenStackCloud, lab: str, image: str, flavor: str) -> BootTarget:
    found_image = pick_image(cloud.images(), image)
    if found_image is None:
        raise NotBootstrapped(
            f"No active image {image!r} in lab {lab}.",
            fix=f"`openstack --os-cloud {lab}-demo image list` shows the images; {BOOTSTRAP_FIX}",
        )
    flavors = cloud.flavors()
    flavor_id = next((f.id for f in flavors if flavor in (f.name, f.id)), None)
    if flavor_id is None:
        raise NotBootstrapped(
            f"No flavor {flavor!r} in lab {lab}.",
            fix=f"use one of: {', '.join(sorted(f.name for f in flavors))}",
        )
    networks = cloud.networks()
    tenant = find_network(networks, TENANT_NETWORK, project_id=cloud.project_id)
    if tenant is None:
        raise NotBootstrapped(f"Lab {lab} has no network {TENANT_NETWORK}.", fix=BOOTSTRAP_FIX)
    external = find_network(networks, EXTERNAL_NETWORK)
    if external is None:
        raise NotBootstrapped(f"Lab {lab} has no network {EXTERNAL_NETWORK}.", fix=BOOTSTRAP_FIX)
    key = keypair_name(lab)
    if cloud.keypair_public_key(key) is None:
        raise NotBootstrapped(
            f"The demo user of lab {lab} has no keypair {key}.", fix=BOOTSTRAP_FIX
        )
    return BootTarget(
        image_id=found_image.id,
        image_name=found_image.name,
        user=found_image.properties.get("os_admin_user", IMAGE_USER),
        flavor_id=flavor_id,
        network_id=tenant.id,
        external_network_id=external.id,
        key_name=key,
        network_mtu=tenant.mtu,
    )
