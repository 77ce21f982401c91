"""EC2 calls for a lab's nodes: images, key pairs, ENIs, instances, volumes, addresses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from stacklab.providers.aws.adapter import shapes
from stacklab.providers.aws.adapter.client import Ec2Client
from stacklab.providers.aws.errors import RESUME_FIX, AwsFailure, is_gone
from stacklab.providers.aws.records import (
    Address,
    Filters,
    Image,
    Instance,
    KeyPair,
    LaunchRequest,
    NetworkInterface,
    Tags,
    Volume,
)
from stacklab.providers.aws.retry import poll

_GONE_STATES = frozenset({"shutting-down", "terminated"})


class ComputeCalls(Ec2Client):
    # images

    def images(self, *, owner: str, name_pattern: str, architecture: str | None) -> list[Image]:
        filters = {"name": (name_pattern,), "state": ("available",)}
        if architecture:
            filters["architecture"] = (architecture,)
        raw = self._describe("describe_images", "Images", filters, Owners=[owner])
        return [shapes.image(item) for item in raw]

    def image(self, image_id: str) -> Image | None:
        try:
            raw = self._describe("describe_images", "Images", ImageIds=[image_id])
        except AwsFailure as failure:
            if is_gone(failure.code):
                return None
            raise
        return shapes.image(raw[0]) if raw else None

    def own_images(self, filters: Filters) -> list[Image]:
        raw = self._describe("describe_images", "Images", filters, Owners=["self"])
        return [shapes.image(item) for item in raw]

    def create_image(self, instance_id: str, name: str, description: str, tags: Tags) -> str:
        """An AMI of the instance; EC2 reboots it first so the disk is consistent."""
        raw = self._visible(
            "create_image",
            InstanceId=instance_id,
            Name=name,
            Description=description,
            TagSpecifications=shapes.tagged("image", tags),
        )
        return str(raw["ImageId"])

    def tag(self, resource_ids: Sequence[str], tags: Tags) -> None:
        pairs = [{"Key": key, "Value": value} for key, value in tags.items()]
        self._visible("create_tags", Resources=list(resource_ids), Tags=pairs)

    def wait_for_images(
        self, image_ids: Sequence[str], timeout: float | None = None
    ) -> list[Image]:
        seen: list[Image] = []

        def check() -> list[Image] | None:
            nonlocal seen
            seen = self.own_images({"image-id": tuple(image_ids)})
            for image in seen:
                if image.state in ("failed", "error", "invalid"):
                    raise AwsFailure("CreateImage", "ImageFailed", f"{image.id} is {image.state}")
            done = len(seen) == len(image_ids) and all(i.state == "available" for i in seen)
            return seen if done else None

        return poll(
            check,
            timeout=timeout or self.instance_timeout,
            what=f"images {', '.join(image_ids)} to be available",
            fix="check the AMIs in the EC2 console (an image of a big disk takes a while); "
            "`stacklab snapshot` again makes new ones",
            pacing=self.pacing,
            last_seen=lambda: ", ".join(f"{i.id} {i.state}" for i in seen),
        )

    # key pairs

    def key_pairs(self, filters: Filters) -> list[KeyPair]:
        return [
            shapes.key_pair(item)
            for item in self._describe("describe_key_pairs", "KeyPairs", filters)
        ]

    def key_pair(self, name: str) -> KeyPair | None:
        try:
            raw = self._describe("describe_key_pairs", "KeyPairs", KeyNames=[name])
        except AwsFailure as failure:
            if is_gone(failure.code):
                return None
            raise
        return shapes.key_pair(raw[0]) if raw else None

    def import_key_pair(self, name: str, public_key: str, tags: Tags) -> KeyPair:
        raw = self._call(
            "import_key_pair",
            KeyName=name,
            PublicKeyMaterial=public_key.encode(),
            TagSpecifications=shapes.tagged("key-pair", tags),
        )
        return KeyPair(name=raw["KeyName"], id=raw.get("KeyPairId", ""), tags=dict(tags))

    # network interfaces

    def network_interfaces(self, filters: Filters) -> list[NetworkInterface]:
        raw = self._describe("describe_network_interfaces", "NetworkInterfaces", filters)
        return [shapes.interface(item) for item in raw]

    def create_network_interface(
        self,
        *,
        subnet_id: str,
        address: str,
        secondary: Sequence[str],
        group_id: str,
        description: str,
        tags: Tags,
    ) -> NetworkInterface:
        addresses = [{"PrivateIpAddress": address, "Primary": True}]
        addresses += [{"PrivateIpAddress": extra, "Primary": False} for extra in secondary]
        raw = self._visible(
            "create_network_interface",
            SubnetId=subnet_id,
            PrivateIpAddresses=addresses,
            Groups=[group_id],
            Description=description,
            TagSpecifications=shapes.tagged("network-interface", tags),
        )
        return shapes.interface(raw["NetworkInterface"])

    def set_source_dest_check(self, interface_id: str, enabled: bool) -> None:
        self._visible(
            "modify_network_interface_attribute",
            NetworkInterfaceId=interface_id,
            SourceDestCheck={"Value": enabled},
        )

    # instances and volumes

    def instances(self, filters: Filters) -> list[Instance]:
        reservations = self._describe("describe_instances", "Reservations", filters)
        return [shapes.instance(item) for r in reservations for item in r.get("Instances", [])]

    def run_instance(self, request: LaunchRequest) -> Instance:
        ebs: dict[str, Any] = {
            "VolumeSize": request.root_volume_gb,
            "VolumeType": "gp3",
            "DeleteOnTermination": True,
        }
        if request.iops is not None:
            ebs["Iops"] = request.iops
        kwargs: dict[str, Any] = {
            "ImageId": request.image_id,
            "InstanceType": request.instance_type,
            "KeyName": request.key_name,
            "MinCount": 1,
            "MaxCount": 1,
            "NetworkInterfaces": [
                {"DeviceIndex": nic.device_index, "NetworkInterfaceId": nic.network_interface_id}
                for nic in request.nics
            ],
            "BlockDeviceMappings": [{"DeviceName": request.root_device_name, "Ebs": ebs}],
            "EbsOptimized": request.ebs_optimized,
            "UserData": request.user_data,
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "TagSpecifications": shapes.tagged("instance", request.tags)
            + shapes.tagged("volume", request.tags),
            # The same token on every retry: EC2 then launches at most one instance.
            "ClientToken": uuid.uuid4().hex,
        }
        if request.nested_virtualization:
            kwargs["CpuOptions"] = {"NestedVirtualization": "enabled"}
        # An ENI of a terminated instance stays "in use" for a while as it detaches.
        raw = self._visible("run_instances", frozenset({"InvalidNetworkInterface.InUse"}), **kwargs)
        return shapes.instance(raw["Instances"][0])

    def start_instances(self, instance_ids: Sequence[str]) -> None:
        self._visible("start_instances", InstanceIds=list(instance_ids))

    def terminate_instances(self, instance_ids: Sequence[str]) -> None:
        self._visible("terminate_instances", InstanceIds=list(instance_ids))

    def wait_for_instances(
        self, instance_ids: Sequence[str], target: str, timeout: float | None = None
    ) -> list[Instance]:
        """Until every instance is `running` or `terminated`; a launch that dies fails at once."""
        seen: list[Instance] = []

        def check() -> list[Instance] | None:
            nonlocal seen
            seen = self.instances({"instance-id": tuple(instance_ids)})
            if target == "running":
                for instance in seen:
                    if instance.state in _GONE_STATES:
                        raise AwsFailure(
                            "RunInstances",
                            "InstanceTerminated",
                            f"{instance.id} ended while starting: {instance.state_reason}",
                        )
            # Terminated instances drop out of EC2's answers after a while: missing is ended.
            complete = target == "terminated" or len(seen) == len(instance_ids)
            if complete and all(instance.state == target for instance in seen):
                return seen
            return None

        return poll(
            check,
            timeout=timeout or self.instance_timeout,
            what=f"instances {', '.join(instance_ids)} to be {target}",
            fix=f"check the instances in the EC2 console; {RESUME_FIX}",
            pacing=self.pacing,
            last_seen=lambda: ", ".join(f"{i.id} {i.state}" for i in seen),
        )

    def volumes(self, filters: Filters) -> list[Volume]:
        raw = self._describe("describe_volumes", "Volumes", filters)
        return [Volume(item["VolumeId"], item["State"], shapes.tags(item)) for item in raw]

    # elastic IPs

    def addresses(self, filters: Filters) -> list[Address]:
        return [
            shapes.address(item)
            for item in self._describe("describe_addresses", "Addresses", filters)
        ]

    def allocate_address(self, tags: Tags) -> Address:
        raw = self._call(
            "allocate_address", Domain="vpc", TagSpecifications=shapes.tagged("elastic-ip", tags)
        )
        return Address(raw["AllocationId"], raw["PublicIp"], None, None, dict(tags))

    def associate_address(
        self, allocation_id: str, interface_id: str, private_address: str
    ) -> None:
        self._visible(
            "associate_address",
            AllocationId=allocation_id,
            NetworkInterfaceId=interface_id,
            PrivateIpAddress=private_address,
        )
