"""What a user makes in their own project: the lab keypair, and for the demo user the
tenant network, the router to the external network and the default group's rules."""

from __future__ import annotations

from stacklab.bootstrap.admin_steps import ensure_subnet
from stacklab.bootstrap.decisions import (
    Action,
    Change,
    find_network,
    find_router,
    keypair_action,
    missing_rules,
)
from stacklab.bootstrap.resources import DEMO_RULES, ROUTER, TENANT_NETWORK, SubnetSpec
from stacklab.openstack_api import OpenStackCloud


def ensure_keypair(cloud: OpenStackCloud, name: str, public_key: str, owner: str) -> Change:
    """Keypairs belong to a user: this is the connected user's (`owner`)."""
    action = keypair_action(cloud.keypair_public_key(name), public_key)
    if action is Action.REPLACED:
        cloud.delete_keypair(name)
    if action is not Action.FOUND:
        cloud.create_keypair(name, public_key)
    return Change("keypair", f"{name} of {owner}", action)


def ensure_tenant_network(
    cloud: OpenStackCloud, wanted: SubnetSpec, mtu: int
) -> tuple[str, list[Change]]:
    """The project's network with the lab's tenant MTU (the overlay's minus VXLAN's 50);
    returns its subnet's id."""
    network = find_network(cloud.networks(), TENANT_NETWORK, project_id=cloud.project_id)
    if network is None:
        network_id = cloud.create_network(TENANT_NETWORK, mtu=mtu)
        change = Change("network", TENANT_NETWORK, Action.CREATED, f"MTU {mtu}")
    elif network.mtu != mtu:
        network_id = network.id
        cloud.set_network_mtu(network_id, mtu)
        change = Change("network", TENANT_NETWORK, Action.UPDATED, f"MTU {network.mtu} -> {mtu}")
    else:
        network_id = network.id
        change = Change("network", TENANT_NETWORK, Action.FOUND, f"MTU {mtu}")
    subnet_id, subnet = ensure_subnet(cloud, network_id, wanted)
    return subnet_id, [change, subnet]


def ensure_router(
    cloud: OpenStackCloud, external_network_id: str, tenant_subnet_id: str
) -> list[Change]:
    router = find_router(cloud.routers(), ROUTER, cloud.project_id)
    if router is None:
        router_id = cloud.create_router(ROUTER, external_network_id)
        cloud.add_router_interface(router_id, tenant_subnet_id)
        return [Change("router", ROUTER, Action.CREATED)]
    changes = []
    if router.external_network_id != external_network_id:
        cloud.set_router_gateway(router.id, external_network_id)
        changes.append(Change("router", ROUTER, Action.UPDATED, "gateway on the external network"))
    if tenant_subnet_id not in router.subnet_ids:
        cloud.add_router_interface(router.id, tenant_subnet_id)
        changes.append(Change("router", ROUTER, Action.UPDATED, "interface on the tenant subnet"))
    return changes or [Change("router", ROUTER, Action.FOUND)]


def ensure_security_rules(cloud: OpenStackCloud) -> list[Change]:
    """ICMP and SSH into the project's default security group, which servers get."""
    group_id = cloud.default_security_group_id()
    missing = set(missing_rules(DEMO_RULES, cloud.security_group_rules(group_id)))
    changes = []
    for rule in DEMO_RULES:
        name = f"default: {rule.direction} {rule.protocol}"
        if rule in missing:
            cloud.create_security_group_rule(group_id, rule)
            changes.append(Change("security rule", name, Action.CREATED))
        else:
            changes.append(Change("security rule", name, Action.FOUND))
    return changes
