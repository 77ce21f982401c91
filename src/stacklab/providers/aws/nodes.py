"""The lab's nodes on AWS, find-or-create: key pair, image, one ENI per lab network with the
Plan's address, the instance on those ENIs, and the access node's Elastic IP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stacklab.catalog.models import ImageSource
from stacklab.config.models import AwsProvider as AwsSettings
from stacklab.config.models import NetworkName
from stacklab.errors import ProviderError
from stacklab.providers.aws.layout import NodeLayout
from stacklab.providers.aws.network import DOWN_FIRST, LabNetwork
from stacklab.providers.aws.records import (
    Address,
    AttachedNic,
    Image,
    Instance,
    LaunchRequest,
    NetworkInterface,
)
from stacklab.providers.aws.tags import Tagger, lab_filter, resource_name
from stacklab.providers.rented import Created

if TYPE_CHECKING:
    from stacklab.providers.aws.adapter import Ec2Adapter

LIVE_STATES = ("pending", "running", "stopping", "stopped")
PUBLIC_ADDRESS_PART = "public-address"


@dataclass(frozen=True)
class LaunchSettings:
    """What every instance of the lab shares."""

    image: Image
    key_name: str
    root_volume_gb: int
    iops: int | None
    ebs_optimized: bool


def ensure_key_pair(
    ec2: Ec2Adapter, settings: AwsSettings, public_key: str, tagger: Tagger, created: Created
) -> str:
    """The spec's key pair if it names one that exists (the user's, never deleted by us);
    else the lab's key imported under that name or stacklab-<lab>."""
    name = settings.key_pair_name or resource_name(tagger.lab)
    if ec2.key_pair(name) is not None:
        return name
    pair = ec2.import_key_pair(name, public_key, tagger.tags(part="key-pair"))
    created("key-pair", pair.name, f"key pair {pair.name}")
    return name


def resolve_image(
    ec2: Ec2Adapter, image_id: str | None, source: ImageSource | None, os: str
) -> Image:
    """The spec's AMI, else the newest official image of the spec's OS."""
    if image_id:
        image = ec2.image(image_id)
        if image is None:
            raise ProviderError(
                f"provider.image {image_id} does not exist in {ec2.region} (or is not shared "
                "with this account).",
                fix="use an AMI id from this region, or remove provider.image for the "
                "official Debian image",
            )
        return image
    pattern = source.name_patterns.get(os) if source else None
    if source is None or pattern is None:
        raise ProviderError(
            f"The AWS catalog names no official image for {os}.",
            fix="set provider.image to an AMI id",
        )
    images = ec2.images(owner=source.owner, name_pattern=pattern, architecture=source.architecture)
    if not images:
        raise ProviderError(
            f"No {os} image named {pattern} from account {source.owner} is available in "
            f"{ec2.region}.",
            fix="choose another provider.region, or set provider.image to an AMI id",
        )
    return max(images, key=lambda image: image.creation_date)


def ensure_interfaces(
    ec2: Ec2Adapter, node: NodeLayout, network: LabNetwork, tagger: Tagger, created: Created
) -> dict[NetworkName, NetworkInterface]:
    interfaces = {}
    for nic in node.nics:
        wanted = str(nic.address)
        filters = lab_filter(tagger.lab, node=node.name, network=nic.network.value)
        found = ec2.network_interfaces(filters)
        if found:
            interface = found[0]
            if interface.private_address != wanted:
                raise ProviderError(
                    f"{node.name}'s {nic.network} interface has {interface.private_address}, "
                    f"the plan says {wanted}.",
                    fix=DOWN_FIRST.format(lab=tagger.lab),
                )
        else:
            interface = ec2.create_network_interface(
                subnet_id=network.subnet_ids[nic.network],
                address=wanted,
                secondary=[str(extra) for extra in nic.secondary_addresses],
                group_id=network.security_group_id,
                description=f"stacklab {tagger.lab} {node.name} {nic.network}",
                tags=tagger.tags(
                    node.name, nic.network.value, node=node.name, network=nic.network.value
                ),
            )
            created(
                "network-interface",
                interface.id,
                f"interface {interface.id} of {node.name} on {nic.network} ({wanted})",
            )
        if interface.source_dest_check != nic.source_dest_check:
            ec2.set_source_dest_check(interface.id, nic.source_dest_check)
        interfaces[nic.network] = interface
    return interfaces


def ensure_instance(
    ec2: Ec2Adapter,
    node: NodeLayout,
    interfaces: dict[NetworkName, NetworkInterface],
    launch: LaunchSettings,
    user_data: str,
    tagger: Tagger,
    created: Created,
) -> tuple[Instance, bool]:
    """The node's instance, launched or started if need be; True if it was launched now."""
    found = ec2.instances(
        {**lab_filter(tagger.lab, node=node.name), "instance-state-name": LIVE_STATES}
    )
    if found:
        instance = found[0]
        if instance.state == "stopping":
            ec2.wait_for_instances([instance.id], "stopped")
        if instance.state in ("stopping", "stopped"):
            ec2.start_instances([instance.id])
        return instance, False
    request = LaunchRequest(
        image_id=launch.image.id,
        instance_type=node.machine_type,
        key_name=launch.key_name,
        nics=tuple(AttachedNic(nic.device_index, interfaces[nic.network].id) for nic in node.nics),
        root_device_name=launch.image.root_device_name,
        root_volume_gb=launch.root_volume_gb,
        iops=launch.iops,
        ebs_optimized=launch.ebs_optimized,
        nested_virtualization=node.nested_virtualization,
        user_data=user_data,
        tags=tagger.tags(node.name, node=node.name),
    )
    instance = ec2.run_instance(request)
    nested = ", nested virtualization" if node.nested_virtualization else ""
    created(
        "instance", instance.id, f"instance {instance.id}: {node.name}, {node.machine_type}{nested}"
    )
    return instance, True


def ensure_public_address(
    ec2: Ec2Adapter, interface: NetworkInterface, tagger: Tagger, created: Created
) -> Address:
    found = ec2.addresses(lab_filter(tagger.lab, part=PUBLIC_ADDRESS_PART))
    if found:
        address = found[0]
    else:
        address = ec2.allocate_address(tagger.tags("eip", part=PUBLIC_ADDRESS_PART))
        created("elastic-ip", address.allocation_id, f"Elastic IP {address.public_ip}")
    if address.network_interface_id != interface.id:
        ec2.associate_address(address.allocation_id, interface.id, interface.private_address)
    return address
