"""The typed adapter over openstacksdk: the one module of stacklab that imports it.

Methods take and return the plain values of `openstack_records`; every SDK or HTTP error
becomes a `CloudError` that names the call that failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openstack
from keystoneauth1 import exceptions as auth_errors
from openstack import exceptions as sdk_errors
from openstack.connection import Connection
from openstack.identity.v3._proxy import Proxy as IdentityV3

from stacklab.errors import CloudError, CloudUnreachable
from stacklab.openstack_records import (
    Credentials,
    FlavorRecord,
    FloatingIpRecord,
    ImageRecord,
    NetworkRecord,
    RouterRecord,
    RuleRecord,
    ServerRecord,
    ServiceRecord,
    SubnetRecord,
)

API_TIMEOUT_S = 60
ROUTER_INTERFACE_OWNERS = ("network:router_interface", "network:router_interface_distributed")


def _transient(error: Exception) -> bool:
    if isinstance(error, auth_errors.connection.ConnectionError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and status >= 500


@contextmanager
def _calling(what: str) -> Iterator[None]:
    try:
        yield
    except (sdk_errors.SDKException, auth_errors.ClientException, OSError) as error:
        kind = CloudUnreachable if _transient(error) else CloudError
        raise kind(
            f"OpenStack call failed: {what}: {type(error).__name__}: {error}",
            fix="check the lab's services with `stacklab status`; the step can be run again",
        ) from error


def connect(credentials: Credentials) -> OpenStackCloud:
    """A connection with these credentials only: no clouds.yaml, no OS_* variables."""
    with _calling(f"connect to {credentials.auth_url} as {credentials.username}"):
        connection = openstack.connect(
            load_yaml_config=False,
            load_envvars=False,
            auth={
                "auth_url": credentials.auth_url,
                "username": credentials.username,
                "password": str(credentials.password),
                "project_name": credentials.project_name,
                "user_domain_name": credentials.domain,
                "project_domain_name": credentials.domain,
            },
            region_name=credentials.region_name,
            identity_api_version="3",
            interface="public",
            api_timeout=API_TIMEOUT_S,
            # The proxy's self-signed certificate where the lab is reached through it.
            cacert=credentials.cacert,
        )
        connection.authorize()
    return OpenStackCloud(connection)


def can_log_in(credentials: Credentials) -> bool:
    """False only when Keystone refuses these credentials; other failures raise."""
    try:
        connect(credentials).close()
    except CloudError as error:
        if _refused(error):
            return False
        raise
    return True


def _refused(error: BaseException) -> bool:
    """Whether Keystone's 401 is somewhere in the chain (openstacksdk re-raises it as a
    plain SDKException)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, auth_errors.Unauthorized):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class OpenStackCloud:
    """One authenticated session of one user in one project."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    @property
    def project_id(self) -> str:
        return _str(self._conn.current_project_id)

    @property
    def user_id(self) -> str:
        return _str(self._conn.current_user_id)

    def close(self) -> None:
        self._conn.close()

    @property
    def _identity(self) -> IdentityV3:
        identity = self._conn.identity
        if not isinstance(identity, IdentityV3):
            raise CloudError(
                "The lab's Keystone does not offer the identity API v3.",
                fix="check identity_api_version in the lab's clouds.yaml",
            )
        return identity

    # Identity

    def project_id_of(self, name: str) -> str | None:
        with _calling(f"find project {name}"):
            project = self._identity.find_project(name, ignore_missing=True)
        return None if project is None else _str(project.id)

    def create_project(self, name: str, description: str) -> str:
        with _calling(f"create project {name}"):
            return _str(self._identity.create_project(name=name, description=description).id)

    def user_id_of(self, name: str) -> str | None:
        with _calling(f"find user {name}"):
            user = self._identity.find_user(name, ignore_missing=True)
        return None if user is None else _str(user.id)

    def create_user(self, name: str, password: str, project_id: str) -> str:
        with _calling(f"create user {name}"):
            user = self._identity.create_user(
                name=name, password=password, default_project_id=project_id
            )
        return _str(user.id)

    def update_user_password(self, user_id: str, password: str) -> None:
        with _calling(f"set the password of user {user_id}"):
            self._identity.update_user(user_id, password=password)

    def role_id_of(self, name: str) -> str | None:
        with _calling(f"find role {name}"):
            role = self._identity.find_role(name, ignore_missing=True)
        return None if role is None else _str(role.id)

    def has_project_role(self, project_id: str, user_id: str, role_id: str) -> bool:
        with _calling("check a role assignment"):
            return bool(self._identity.validate_user_has_project_role(project_id, user_id, role_id))

    def assign_project_role(self, project_id: str, user_id: str, role_id: str) -> None:
        with _calling("assign a role"):
            self._identity.assign_project_role_to_user(project_id, user_id, role_id)

    def projects(self) -> list[str]:
        with _calling("list projects"):
            return [_str(p.name) for p in self._identity.projects()]

    def users(self) -> list[str]:
        with _calling("list users"):
            return [_str(u.name) for u in self._identity.users()]

    # Quotas

    def compute_quotas(self, project_id: str, names: tuple[str, ...]) -> dict[str, int]:
        with _calling("read compute quotas"):
            quotas = self._conn.compute.get_quota_set(project_id)
        return {name: int(getattr(quotas, name)) for name in names}

    def set_compute_quotas(self, project_id: str, values: Mapping[str, int]) -> None:
        with _calling("set compute quotas"):
            # Typed with a `user` keyword, which **values could not hold anyway.
            update: Any = self._conn.compute.update_quota_set
            update(project_id, **values)

    def network_quotas(self, project_id: str, names: tuple[str, ...]) -> dict[str, int]:
        with _calling("read network quotas"):
            quotas = self._conn.network.get_quota(project_id)
        return {name: int(getattr(quotas, name)) for name in names}

    def set_network_quotas(self, project_id: str, values: Mapping[str, int]) -> None:
        with _calling("set network quotas"):
            self._conn.network.update_quota(project_id, **values)

    # Compute

    def flavors(self) -> list[FlavorRecord]:
        with _calling("list flavors"):
            return [
                FlavorRecord(_str(f.id), _str(f.name), int(f.ram), int(f.vcpus), int(f.disk))
                for f in self._conn.compute.flavors(is_public=None)
            ]

    def create_flavor(self, name: str, ram_mb: int, vcpus: int, disk_gb: int) -> str:
        with _calling(f"create flavor {name}"):
            flavor = self._conn.compute.create_flavor(
                name=name, ram=ram_mb, vcpus=vcpus, disk=disk_gb, is_public=True
            )
        return _str(flavor.id)

    def keypair_public_key(self, name: str) -> str | None:
        """The public key of the current user's keypair `name`, if there is one."""
        with _calling(f"find keypair {name}"):
            keypair = self._conn.compute.find_keypair(name, ignore_missing=True)
        return None if keypair is None else _str(keypair.public_key)

    def create_keypair(self, name: str, public_key: str) -> None:
        with _calling(f"create keypair {name}"):
            self._conn.compute.create_keypair(name=name, public_key=public_key)

    def delete_keypair(self, name: str) -> None:
        with _calling(f"delete keypair {name}"):
            self._conn.compute.delete_keypair(name, ignore_missing=True)

    def keypairs(self) -> list[str]:
        with _calling("list keypairs"):
            return [_str(k.name) for k in self._conn.compute.keypairs()]

    def services(self) -> list[ServiceRecord]:
        """Nova's and Cinder's services and Neutron's agents, each up or not."""
        with _calling("list compute and volume services and network agents"):
            found = [
                ServiceRecord("compute", _str(s.binary), _str(s.host), s.state == "up")
                for s in self._conn.compute.services()
            ]
            found += [
                ServiceRecord("network", _str(a.agent_type), _str(a.host), bool(a.is_alive))
                for a in self._conn.network.agents()
            ]
            if self._conn.has_service("block-storage"):
                found += [
                    ServiceRecord("volume", _str(s.binary), _str(s.host), s.state == "up")
                    for s in self._conn.block_storage.services()
                ]
        return found

    # Servers

    def create_server(
        self,
        name: str,
        *,
        image_id: str,
        flavor_id: str,
        network_id: str,
        key_name: str,
        metadata: Mapping[str, str],
    ) -> str:
        with _calling(f"create server {name}"):
            server = self._conn.compute.create_server(
                name=name,
                image_id=image_id,
                flavor_id=flavor_id,
                networks=[{"uuid": network_id}],
                key_name=key_name,
                metadata=dict(metadata),
            )
        return _str(server.id)

    def server(self, server_id: str) -> ServerRecord | None:
        with _calling(f"read server {server_id}"):
            found = self._conn.compute.find_server(server_id, ignore_missing=True)
            if found is None:
                return None
            try:
                return _server_record(self._conn.compute.get_server(found.id))
            except sdk_errors.NotFoundException:
                return None  # deleted between the find and the read

    def servers(self) -> list[ServerRecord]:
        with _calling("list servers"):
            return [_server_record(s) for s in self._conn.compute.servers(details=True)]

    def console_output(self, server_id: str) -> str:
        with _calling(f"read the console log of server {server_id}"):
            output = self._conn.compute.get_server_console_output(server_id)
        return _str(output.get("output"))

    def delete_server(self, server_id: str) -> None:
        with _calling(f"delete server {server_id}"):
            self._conn.compute.delete_server(server_id, ignore_missing=True)

    # API discovery

    def microversion_range(self, service_type: str) -> tuple[str, str] | None:
        """The (min, max) microversions the service's endpoint announces; None where it
        announces none (an API without microversions)."""
        with _calling(f"discover the {service_type} API's versions"):
            data = self._conn.session.get_endpoint_data(
                service_type=service_type,
                interface="public",
                region_name=self._conn.config.region_name,
            )
        if data is None or not data.max_microversion:
            return None
        low = data.min_microversion or data.max_microversion

        def text(version: tuple[int | float, ...]) -> str:
            return ".".join(str(int(part)) for part in version)

        return text(low), text(data.max_microversion)

    def service_types(self) -> list[str]:
        """The types of the services Keystone's catalog has (an admin's call)."""
        with _calling("list the catalog's services"):
            return sorted({_str(service.type) for service in self._identity.services()})

    def network_extensions(self) -> list[str]:
        with _calling("list the network API's extensions"):
            return sorted(_str(extension.alias) for extension in self._conn.network.extensions())

    # Images

    def images(self, name: str | None = None) -> list[ImageRecord]:
        query = {"name": name} if name else {}
        with _calling(f"list images {name or ''}".strip()):
            return [_image_record(image) for image in self._conn.image.images(**query)]

    def upload_image(
        self,
        name: str,
        path: Path,
        properties: Mapping[str, str],
        *,
        min_ram_mb: int = 0,
        disk_format: str = "raw",
        min_disk_gb: int = 0,
    ) -> str:
        """Upload a bare image, public, and wait until Glance has it active."""
        with _calling(f"upload image {name} from {path}"):
            image = self._conn.image.create_image(
                name,
                filename=str(path),
                disk_format=disk_format,
                container_format="bare",
                visibility="public",
                min_ram=min_ram_mb,
                min_disk=min_disk_gb,
                meta=dict(properties),
                allow_duplicates=True,
                wait=True,
                timeout=600,
            )
        return _str(image.id)

    def delete_image(self, image_id: str) -> None:
        with _calling(f"delete image {image_id}"):
            self._conn.image.delete_image(image_id, ignore_missing=True)

    # Networks

    def networks(self) -> list[NetworkRecord]:
        with _calling("list networks"):
            return [_network_record(n) for n in self._conn.network.networks()]

    def create_network(
        self,
        name: str,
        *,
        external: bool = False,
        physical_network: str | None = None,
        mtu: int | None = None,
    ) -> str:
        attrs: dict[str, Any] = {"name": name}
        if external:
            attrs |= {"is_router_external": True, "provider_network_type": "flat"}
            attrs["provider_physical_network"] = physical_network
        if mtu is not None:
            attrs["mtu"] = mtu
        with _calling(f"create network {name}"):
            return _str(self._conn.network.create_network(**attrs).id)

    def set_network_mtu(self, network_id: str, mtu: int) -> None:
        with _calling(f"set the MTU of network {network_id}"):
            self._conn.network.update_network(network_id, mtu=mtu)

    def subnets(self) -> list[SubnetRecord]:
        with _calling("list subnets"):
            return [_subnet_record(s) for s in self._conn.network.subnets()]

    def create_subnet(
        self,
        name: str,
        *,
        network_id: str,
        cidr: str,
        gateway_ip: str | None,
        allocation_pools: tuple[tuple[str, str], ...],
        dhcp: bool,
    ) -> str:
        with _calling(f"create subnet {name}"):
            subnet = self._conn.network.create_subnet(
                name=name,
                network_id=network_id,
                ip_version=4,
                cidr=cidr,
                gateway_ip=gateway_ip,
                allocation_pools=_pools(allocation_pools),
                is_dhcp_enabled=dhcp,
            )
        return _str(subnet.id)

    def update_subnet(
        self, subnet_id: str, gateway_ip: str | None, allocation_pools: tuple[tuple[str, str], ...]
    ) -> None:
        with _calling(f"update subnet {subnet_id}"):
            self._conn.network.update_subnet(
                subnet_id, gateway_ip=gateway_ip, allocation_pools=_pools(allocation_pools)
            )

    def routers(self) -> list[RouterRecord]:
        with _calling("list routers"):
            found = []
            for router in self._conn.network.routers():
                ports = self._conn.network.ports(device_id=router.id)
                subnets = tuple(
                    _str(fixed["subnet_id"])
                    for port in ports
                    if port.device_owner in ROUTER_INTERFACE_OWNERS
                    for fixed in port.fixed_ips or []
                )
                gateway = router.external_gateway_info or {}
                found.append(
                    RouterRecord(
                        id=_str(router.id),
                        name=_str(router.name),
                        project_id=_str(router.project_id),
                        external_network_id=gateway.get("network_id"),
                        subnet_ids=subnets,
                    )
                )
        return found

    def create_router(self, name: str, external_network_id: str) -> str:
        with _calling(f"create router {name}"):
            router = self._conn.network.create_router(
                name=name, external_gateway_info={"network_id": external_network_id}
            )
        return _str(router.id)

    def set_router_gateway(self, router_id: str, external_network_id: str) -> None:
        with _calling(f"set the gateway of router {router_id}"):
            self._conn.network.update_router(
                router_id, external_gateway_info={"network_id": external_network_id}
            )

    def add_router_interface(self, router_id: str, subnet_id: str) -> None:
        with _calling(f"add subnet {subnet_id} to router {router_id}"):
            self._conn.network.add_interface_to_router(router_id, subnet=subnet_id)

    def ports(self) -> list[str]:
        with _calling("list ports"):
            return [_str(p.id) for p in self._conn.network.ports()]

    def default_security_group_id(self) -> str:
        """The current project's `default` group (Neutron makes it on first use)."""
        project = self.project_id
        with _calling("find the default security group"):
            groups = list(self._conn.network.security_groups(name="default", project_id=project))
        if not groups:
            raise CloudError(
                f"Project {project} has no default security group.",
                fix="run the bootstrap again: Neutron makes it on the project's first request",
            )
        return _str(groups[0].id)

    def security_group_rules(self, group_id: str) -> list[RuleRecord]:
        with _calling("list security group rules"):
            return [
                RuleRecord(
                    direction=_str(r.direction),
                    ethertype=_str(r.ether_type),
                    protocol=r.protocol,
                    port_min=_optional_int(r.port_range_min),
                    port_max=_optional_int(r.port_range_max),
                    remote_ip_prefix=r.remote_ip_prefix,
                )
                for r in self._conn.network.security_group_rules(security_group_id=group_id)
            ]

    def create_security_group_rule(self, group_id: str, rule: RuleRecord) -> None:
        with _calling(f"add a {rule.protocol} rule to security group {group_id}"):
            self._conn.network.create_security_group_rule(
                security_group_id=group_id,
                direction=rule.direction,
                ether_type=rule.ethertype,
                protocol=rule.protocol,
                port_range_min=rule.port_min,
                port_range_max=rule.port_max,
                remote_ip_prefix=rule.remote_ip_prefix,
            )

    # Floating IPs

    def create_floating_ip(
        self, external_network_id: str, server_id: str, description: str
    ) -> FloatingIpRecord:
        """A floating IP on the server's first port."""
        with _calling(f"attach a floating IP to server {server_id}"):
            ports = list(self._conn.network.ports(device_id=server_id))
            if not ports:
                raise CloudError(
                    f"Server {server_id} has no port to attach a floating IP to.",
                    fix="check the server's network; Neutron may still be binding its port",
                )
            address = self._conn.network.create_ip(
                floating_network_id=external_network_id,
                port_id=ports[0].id,
                description=description,
            )
        return _floating_record(address)

    def floating_ips(self) -> list[FloatingIpRecord]:
        with _calling("list floating IPs"):
            return [_floating_record(ip) for ip in self._conn.network.ips()]

    def delete_floating_ip(self, floating_ip_id: str) -> None:
        with _calling(f"delete floating IP {floating_ip_id}"):
            self._conn.network.delete_ip(floating_ip_id, ignore_missing=True)


def _pools(pools: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"start": start, "end": end} for start, end in pools]


def _server_record(server: Any) -> ServerRecord:
    fixed: list[str] = []
    floating: list[str] = []
    for addresses in (server.addresses or {}).values():
        for address in addresses:
            kind = address.get("OS-EXT-IPS:type")
            (floating if kind == "floating" else fixed).append(_str(address.get("addr")))
    fault = server.fault or {}
    return ServerRecord(
        id=_str(server.id),
        name=_str(server.name),
        status=_str(server.status),
        fault=fault.get("message"),
        metadata={str(k): str(v) for k, v in (server.metadata or {}).items()},
        fixed_addresses=tuple(fixed),
        floating_addresses=tuple(floating),
        instance_name=server.instance_name,
    )


def _image_record(image: Any) -> ImageRecord:
    properties = {str(k): str(v) for k, v in (image.properties or {}).items()}
    for name in ("kernel_id", "ramdisk_id", "os_command_line", "os_admin_user"):
        value = getattr(image, name, None)
        if value is not None:
            properties[name] = str(value)
    return ImageRecord(
        _str(image.id), _str(image.name), _str(image.status), _str(image.visibility), properties
    )


def _network_record(network: Any) -> NetworkRecord:
    return NetworkRecord(
        id=_str(network.id),
        name=_str(network.name),
        project_id=_str(network.project_id),
        external=bool(network.is_router_external),
        mtu=_optional_int(network.mtu),
        network_type=network.provider_network_type,
        physical_network=network.provider_physical_network,
    )


def _subnet_record(subnet: Any) -> SubnetRecord:
    return SubnetRecord(
        id=_str(subnet.id),
        name=_str(subnet.name),
        network_id=_str(subnet.network_id),
        cidr=_str(subnet.cidr),
        gateway_ip=subnet.gateway_ip,
        allocation_pools=tuple(
            (_str(pool["start"]), _str(pool["end"])) for pool in subnet.allocation_pools or []
        ),
        dhcp=bool(subnet.is_dhcp_enabled),
    )


def _floating_record(address: Any) -> FloatingIpRecord:
    return FloatingIpRecord(
        id=_str(address.id),
        address=_str(address.floating_ip_address),
        port_id=address.port_id,
        status=_str(address.status),
        description=_str(address.description),
    )
