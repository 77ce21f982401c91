"""EC2 calls for a lab's network: zones, VPC, subnets, gateway, routes, security groups."""

from __future__ import annotations

from collections.abc import Sequence

from stacklab.providers.aws.adapter import shapes
from stacklab.providers.aws.adapter.client import Ec2Client
from stacklab.providers.aws.records import (
    Filters,
    IngressRule,
    InternetGateway,
    RouteTable,
    SecurityGroup,
    Subnet,
    Tags,
    Vpc,
)


class NetworkCalls(Ec2Client):
    # zones

    def availability_zones(self) -> tuple[str, ...]:
        zones = self._describe("describe_availability_zones", "AvailabilityZones")
        return tuple(
            sorted(
                zone["ZoneName"]
                for zone in zones
                if zone.get("State") == "available"
                and zone.get("ZoneType", "availability-zone") == "availability-zone"
            )
        )

    def zones_offering(self, instance_types: Sequence[str]) -> dict[str, frozenset[str]]:
        offers = self._describe(
            "describe_instance_type_offerings",
            "InstanceTypeOfferings",
            {"instance-type": tuple(instance_types)},
            LocationType="availability-zone",
        )
        zones: dict[str, set[str]] = {}
        for offer in offers:
            zones.setdefault(offer["Location"], set()).add(offer["InstanceType"])
        return {zone: frozenset(types) for zone, types in zones.items()}

    # VPC, subnets, gateway, routes

    def vpcs(self, filters: Filters) -> list[Vpc]:
        return [shapes.vpc(item) for item in self._describe("describe_vpcs", "Vpcs", filters)]

    def create_vpc(self, cidr: str, tags: Tags) -> Vpc:
        raw = self._call("create_vpc", CidrBlock=cidr, TagSpecifications=shapes.tagged("vpc", tags))
        return shapes.vpc(raw["Vpc"])

    def add_vpc_cidr(self, vpc_id: str, cidr: str) -> None:
        self._visible("associate_vpc_cidr_block", VpcId=vpc_id, CidrBlock=cidr)

    def subnets(self, filters: Filters) -> list[Subnet]:
        return [
            shapes.subnet(item) for item in self._describe("describe_subnets", "Subnets", filters)
        ]

    def create_subnet(self, vpc_id: str, cidr: str, zone: str, tags: Tags) -> Subnet:
        raw = self._visible(
            "create_subnet",
            frozenset({"InvalidSubnet.Range"}),  # while an added VPC CIDR is still associating
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=zone,
            TagSpecifications=shapes.tagged("subnet", tags),
        )
        return shapes.subnet(raw["Subnet"])

    def internet_gateways(self, filters: Filters) -> list[InternetGateway]:
        raw = self._describe("describe_internet_gateways", "InternetGateways", filters)
        return [shapes.gateway(item) for item in raw]

    def create_internet_gateway(self, tags: Tags) -> InternetGateway:
        raw = self._call(
            "create_internet_gateway", TagSpecifications=shapes.tagged("internet-gateway", tags)
        )
        return shapes.gateway(raw["InternetGateway"])

    def attach_internet_gateway(self, gateway_id: str, vpc_id: str) -> None:
        self._visible("attach_internet_gateway", InternetGatewayId=gateway_id, VpcId=vpc_id)

    def detach_internet_gateway(self, gateway_id: str, vpc_id: str) -> bool:
        return self._delete(
            "detach_internet_gateway",
            f"the attachment of {gateway_id} to {vpc_id}",
            InternetGatewayId=gateway_id,
            VpcId=vpc_id,
        )

    def route_tables(self, filters: Filters) -> list[RouteTable]:
        raw = self._describe("describe_route_tables", "RouteTables", filters)
        return [shapes.route_table(item) for item in raw]

    def create_route_table(self, vpc_id: str, tags: Tags) -> RouteTable:
        raw = self._visible(
            "create_route_table", VpcId=vpc_id, TagSpecifications=shapes.tagged("route-table", tags)
        )
        return shapes.route_table(raw["RouteTable"])

    def associate_route_table(self, route_table_id: str, subnet_id: str) -> None:
        self._visible("associate_route_table", RouteTableId=route_table_id, SubnetId=subnet_id)

    def set_route(
        self,
        route_table_id: str,
        destination: str,
        *,
        gateway_id: str | None = None,
        network_interface_id: str | None = None,
        replace: bool = False,
    ) -> None:
        target = (
            {"GatewayId": gateway_id}
            if gateway_id
            else {"NetworkInterfaceId": network_interface_id}
        )
        self._visible(
            "replace_route" if replace else "create_route",
            RouteTableId=route_table_id,
            DestinationCidrBlock=destination,
            **target,
        )

    # security groups

    def security_groups(self, filters: Filters) -> list[SecurityGroup]:
        raw = self._describe("describe_security_groups", "SecurityGroups", filters)
        return [shapes.security_group(item) for item in raw]

    def create_security_group(self, vpc_id: str, name: str, description: str, tags: Tags) -> str:
        raw = self._visible(
            "create_security_group",
            VpcId=vpc_id,
            GroupName=name,
            Description=description,
            TagSpecifications=shapes.tagged("security-group", tags),
        )
        return str(raw["GroupId"])

    def authorize_ingress(self, group_id: str, rules: Sequence[IngressRule]) -> None:
        self._visible(
            "authorize_security_group_ingress",
            GroupId=group_id,
            IpPermissions=shapes.permissions(rules),
        )

    def revoke_ingress(self, group_id: str, rules: Sequence[IngressRule]) -> None:
        self._call(
            "revoke_security_group_ingress",
            GroupId=group_id,
            IpPermissions=shapes.permissions(rules),
        )
