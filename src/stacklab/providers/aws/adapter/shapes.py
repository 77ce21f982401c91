"""EC2's response dicts (untyped) into records, and records into request dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from stacklab.providers.aws.records import (
    Address,
    Image,
    IngressRule,
    Instance,
    InternetGateway,
    KeyPair,
    NetworkInterface,
    Route,
    RouteTable,
    RouteTableAssociation,
    SecurityGroup,
    Subnet,
    Tags,
    Vpc,
)


def tagged(resource_type: str, tags: Tags) -> list[dict[str, Any]]:
    pairs = [{"Key": key, "Value": value} for key, value in tags.items()]
    return [{"ResourceType": resource_type, "Tags": pairs}]


def tags(raw: Any) -> dict[str, str]:
    items = raw.get("Tags") or raw.get("TagSet") or []
    return {item["Key"]: item["Value"] for item in items}


def optional(value: Any) -> str | None:
    return str(value) if value else None


def image(raw: Any) -> Image:
    return Image(
        id=raw["ImageId"],
        name=raw.get("Name", ""),
        creation_date=raw.get("CreationDate", ""),
        root_device_name=raw.get("RootDeviceName", "/dev/xvda"),
        owner=raw.get("OwnerId", ""),
        state=raw.get("State", ""),
        snapshot_ids=tuple(
            mapping["Ebs"]["SnapshotId"]
            for mapping in raw.get("BlockDeviceMappings", [])
            if mapping.get("Ebs", {}).get("SnapshotId")
        ),
        tags=tags(raw),
    )


def vpc(raw: Any) -> Vpc:
    blocks = [
        block["CidrBlock"]
        for block in raw.get("CidrBlockAssociationSet", [])
        if block.get("CidrBlockState", {}).get("State", "associated")
        in ("associated", "associating")
    ]
    return Vpc(raw["VpcId"], tuple(blocks or [raw["CidrBlock"]]), tags(raw))


def subnet(raw: Any) -> Subnet:
    return Subnet(
        raw["SubnetId"], raw["VpcId"], raw["CidrBlock"], raw["AvailabilityZone"], tags(raw)
    )


def gateway(raw: Any) -> InternetGateway:
    attached = tuple(a["VpcId"] for a in raw.get("Attachments", []) if a.get("VpcId"))
    return InternetGateway(raw["InternetGatewayId"], attached, tags(raw))


def route_table(raw: Any) -> RouteTable:
    associations = tuple(
        RouteTableAssociation(
            item["RouteTableAssociationId"], optional(item.get("SubnetId")), bool(item.get("Main"))
        )
        for item in raw.get("Associations", [])
    )
    routes = tuple(
        Route(
            item.get("DestinationCidrBlock", ""),
            optional(item.get("GatewayId")),
            optional(item.get("NetworkInterfaceId")),
        )
        for item in raw.get("Routes", [])
    )
    return RouteTable(raw["RouteTableId"], raw["VpcId"], associations, routes, tags(raw))


def security_group(raw: Any) -> SecurityGroup:
    rules = tuple(
        IngressRule(
            protocol=str(permission["IpProtocol"]),
            cidr=ip_range["CidrIp"],
            from_port=None if permission["IpProtocol"] == "-1" else permission.get("FromPort"),
            to_port=None if permission["IpProtocol"] == "-1" else permission.get("ToPort"),
            description=ip_range.get("Description", ""),
        )
        for permission in raw.get("IpPermissions", [])
        for ip_range in permission.get("IpRanges", [])
    )
    return SecurityGroup(raw["GroupId"], raw.get("VpcId", ""), raw["GroupName"], rules, tags(raw))


def permissions(rules: Sequence[IngressRule]) -> list[dict[str, Any]]:
    permissions = []
    for rule in rules:
        permission: dict[str, Any] = {
            "IpProtocol": rule.protocol,
            "IpRanges": [{"CidrIp": rule.cidr, "Description": rule.description}],
        }
        if rule.protocol != "-1":
            permission["FromPort"] = rule.from_port
            permission["ToPort"] = rule.to_port
        permissions.append(permission)
    return permissions


def key_pair(raw: Any) -> KeyPair:
    return KeyPair(raw["KeyName"], raw.get("KeyPairId", ""), tags(raw))


def interface(raw: Any) -> NetworkInterface:
    attachment = raw.get("Attachment") or {}
    secondary = tuple(
        item["PrivateIpAddress"]
        for item in raw.get("PrivateIpAddresses", [])
        if not item.get("Primary") and item["PrivateIpAddress"] != raw.get("PrivateIpAddress")
    )
    return NetworkInterface(
        id=raw["NetworkInterfaceId"],
        subnet_id=raw["SubnetId"],
        private_address=raw.get("PrivateIpAddress", ""),
        secondary_addresses=secondary,
        status=raw.get("Status", ""),
        source_dest_check=bool(raw.get("SourceDestCheck", True)),
        attachment_id=optional(attachment.get("AttachmentId")),
        instance_id=optional(attachment.get("InstanceId")),
        tags=tags(raw),
    )


def instance(raw: Any) -> Instance:
    launched = raw.get("LaunchTime")
    if not isinstance(launched, datetime):
        launched = datetime.now(UTC)
    return Instance(
        id=raw["InstanceId"],
        state=raw.get("State", {}).get("Name", "unknown"),
        instance_type=raw.get("InstanceType", ""),
        launch_time=launched if launched.tzinfo else launched.replace(tzinfo=UTC),
        tags=tags(raw),
        state_reason=raw.get("StateReason", {}).get("Message", ""),
    )


def address(raw: Any) -> Address:
    return Address(
        allocation_id=raw["AllocationId"],
        public_ip=raw["PublicIp"],
        association_id=optional(raw.get("AssociationId")),
        network_interface_id=optional(raw.get("NetworkInterfaceId")),
        tags=tags(raw),
    )
