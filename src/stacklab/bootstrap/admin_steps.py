"""What the lab's admin makes: flavors, the demo project and user, quotas, the external
network. Each function finds first and creates only what is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stacklab.bootstrap.decisions import (
    Action,
    Change,
    find_network,
    find_subnet,
    flavor_differences,
    missing_flavors,
    quota_updates,
    subnet_conflict,
    subnet_needs_update,
)
from stacklab.bootstrap.errors import BootstrapError
from stacklab.bootstrap.resources import (
    COMPUTE_QUOTAS,
    EXTERNAL_NETWORK,
    FLAVORS,
    MEMBER_ROLE,
    NETWORK_QUOTAS,
    PHYSICAL_NETWORK,
    SubnetSpec,
)
from stacklab.labcloud.credentials import DEMO_PROJECT, DEMO_USER
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import NetworkRecord, SubnetRecord


def ensure_flavors(cloud: OpenStackCloud) -> list[Change]:
    existing = cloud.flavors()
    differences = flavor_differences(FLAVORS, existing)
    changes = [
        Change("flavor", name, Action.FOUND, f"kept as it is: {why}")
        for name, why in differences.items()
    ]
    missing = missing_flavors(FLAVORS, existing)
    for flavor in missing:
        cloud.create_flavor(flavor.name, flavor.ram_mb, flavor.vcpus, flavor.disk_gb)
        changes.append(Change("flavor", flavor.name, Action.CREATED))
    missing_names = {flavor.name for flavor in missing}
    changes += [
        Change("flavor", flavor.name, Action.FOUND)
        for flavor in FLAVORS
        if flavor.name not in missing_names and flavor.name not in differences
    ]
    return changes


@dataclass(frozen=True)
class DemoIdentity:
    project_id: str
    user_id: str


def ensure_demo_identity(
    cloud: OpenStackCloud, password: str, password_works: Callable[[], bool]
) -> tuple[DemoIdentity, list[Change]]:
    """password_works: asked of an existing demo user; the stored password is set again when
    it does not work (e.g. after the lab's directory was lost)."""
    changes = []
    project_id = cloud.project_id_of(DEMO_PROJECT)
    if project_id is None:
        project_id = cloud.create_project(DEMO_PROJECT, "stacklab: the demo user's project")
        changes.append(Change("project", DEMO_PROJECT, Action.CREATED))
    else:
        changes.append(Change("project", DEMO_PROJECT, Action.FOUND))
    user_id = cloud.user_id_of(DEMO_USER)
    if user_id is None:
        user_id = cloud.create_user(DEMO_USER, password, project_id)
        changes.append(Change("user", DEMO_USER, Action.CREATED))
    elif not password_works():
        cloud.update_user_password(user_id, password)
        changes.append(Change("user", DEMO_USER, Action.UPDATED, "password set again"))
    else:
        changes.append(Change("user", DEMO_USER, Action.FOUND))
    role_id = cloud.role_id_of(MEMBER_ROLE)
    if role_id is None:
        raise BootstrapError(
            f"Keystone has no role named {MEMBER_ROLE}.",
            fix="Keystone's bootstrap makes it: run `stacklab up` again from its identity step",
        )
    assignment = f"{DEMO_USER} in {DEMO_PROJECT}"
    if cloud.has_project_role(project_id, user_id, role_id):
        changes.append(Change("role", f"{MEMBER_ROLE} of {assignment}", Action.FOUND))
    else:
        cloud.assign_project_role(project_id, user_id, role_id)
        changes.append(Change("role", f"{MEMBER_ROLE} of {assignment}", Action.CREATED))
    return DemoIdentity(project_id, user_id), changes


def ensure_quotas(cloud: OpenStackCloud, project_id: str) -> list[Change]:
    compute = quota_updates(COMPUTE_QUOTAS, cloud.compute_quotas(project_id, tuple(COMPUTE_QUOTAS)))
    network = quota_updates(NETWORK_QUOTAS, cloud.network_quotas(project_id, tuple(NETWORK_QUOTAS)))
    if compute:
        cloud.set_compute_quotas(project_id, compute)
    if network:
        cloud.set_network_quotas(project_id, network)
    return [
        Change("quotas", f"compute of {DEMO_PROJECT}", _updated(compute), _listed(compute)),
        Change("quotas", f"network of {DEMO_PROJECT}", _updated(network), _listed(network)),
    ]


def _updated(values: dict[str, int]) -> Action:
    return Action.UPDATED if values else Action.FOUND


def _listed(values: dict[str, int]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(values.items()))


def ensure_external_network(cloud: OpenStackCloud, wanted: SubnetSpec) -> tuple[str, list[Change]]:
    """The flat external network on the provider network, with the floating range."""
    changes = []
    network = find_network(cloud.networks(), EXTERNAL_NETWORK, project_id=cloud.project_id)
    if network is None:
        network_id = cloud.create_network(
            EXTERNAL_NETWORK, external=True, physical_network=PHYSICAL_NETWORK
        )
        changes.append(Change("network", EXTERNAL_NETWORK, Action.CREATED))
    else:
        _check_external(network)
        network_id = network.id
        changes.append(Change("network", EXTERNAL_NETWORK, Action.FOUND))
    changes.append(ensure_subnet(cloud, network_id, wanted)[1])
    return network_id, changes


def _check_external(network: NetworkRecord) -> None:
    if network.external and network.physical_network == PHYSICAL_NETWORK:
        return
    raise BootstrapError(
        f"Network {network.name} ({network.id}) exists but is not the external flat network "
        f"on {PHYSICAL_NETWORK} (external={network.external}, "
        f"physical network={network.physical_network}).",
        fix=f"delete it (`openstack network delete {network.id}`) and run the bootstrap again",
    )


def ensure_subnet(cloud: OpenStackCloud, network_id: str, wanted: SubnetSpec) -> tuple[str, Change]:
    """The network's subnet (id, what was done); its CIDR cannot change in place."""
    existing: SubnetRecord | None = find_subnet(cloud.subnets(), network_id)
    if existing is None:
        subnet_id = cloud.create_subnet(
            wanted.name,
            network_id=network_id,
            cidr=wanted.cidr,
            gateway_ip=wanted.gateway_ip,
            allocation_pools=wanted.allocation_pools,
            dhcp=wanted.dhcp,
        )
        return subnet_id, Change("subnet", wanted.name, Action.CREATED, wanted.cidr)
    conflict = subnet_conflict(existing, wanted)
    if conflict is not None:
        raise BootstrapError(
            f"The lab's network plan changed: {conflict}.",
            fix=f"delete subnet {existing.id} and what uses it, or `stacklab down` and `up`",
        )
    if subnet_needs_update(existing, wanted):
        cloud.update_subnet(existing.id, wanted.gateway_ip, wanted.allocation_pools)
        return existing.id, Change("subnet", wanted.name, Action.UPDATED, "gateway and pool")
    return existing.id, Change("subnet", wanted.name, Action.FOUND, wanted.cidr)
