"""The Ansible inventory and variables of a lab, made from its Plan. Pure: data in, data out."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from stacklab.config.models import NetworkName, Role
from stacklab.core.nodes import NodeAccess
from stacklab.plan.models import DatapathKind, Plan, PlannedNode
from stacklab.plan.packages import node_packages, virt_type

REGION = "RegionOne"
NODE_PYTHON = "/usr/bin/python3"
# Host keys change with every new lab, so they are not pinned (as in `stacklab ssh`).
SSH_OPTIONS = (
    "-o StrictHostKeyChecking=no",
    "-o UserKnownHostsFile=/dev/null",
    "-o IdentitiesOnly=yes",
    "-o ServerAliveInterval=15",
)


def ssh_common_args(access: NodeAccess) -> str:
    options = list(SSH_OPTIONS)
    if access.jump_host:
        # Not ProxyJump: ssh gives a jump host neither -i nor -o, so the lab's key would not
        # log in there.
        jump = shlex.join(
            ["ssh", "-i", str(access.private_key), *" ".join(SSH_OPTIONS).split(),
             "-o", "BatchMode=yes", "-W", "%h:%p", access.jump_host]
        )  # fmt: skip
        options.append(shlex.join(["-o", f"ProxyCommand={jump}"]))
    return " ".join(options)


def ovs_datapath(node: PlannedNode) -> str:
    """`kernel` or `userspace`: where the node's Open vSwitch switches packets, as the plan
    decided from a probe of its kernel (no decision: userspace, which works on any kernel)."""
    return node.datapath.kind.value if node.datapath is not None else DatapathKind.USERSPACE.value


def host_vars(plan: Plan, node: PlannedNode, access: NodeAccess) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ansible_host": access.host,
        "ansible_user": access.user,
        "ansible_port": access.port,
        "ansible_ssh_private_key_file": str(access.private_key),
        "ansible_ssh_common_args": ssh_common_args(access),
        "ansible_python_interpreter": NODE_PYTHON,
        "node_roles": [role.value for role in node.roles],
        "node_packages": node_packages(plan, node),
        "node_addresses": {nic.network.value: str(nic.address) for nic in node.nics},
        "node_address_prefixes": {nic.network.value: nic.with_prefix for nic in node.nics},
        "ovs_datapath": ovs_datapath(node),
        # Known up front only where the spec names them (ssh provider); otherwise the
        # roles find each interface by its planned address.
        "node_interfaces": {
            nic.network.value: nic.interface for nic in node.nics if nic.interface is not None
        },
    }
    if node.hypervisor is not None:
        variables["virt_type"] = virt_type(node)
    external = plan.network(NetworkName.PROVIDER)
    if external.on_node == node.name:
        # ovn_chassis puts it on br-ex, which holds no NIC.
        variables["external_gateway"] = f"{external.gateway}/{external.cidr.prefixlen}"
    return variables


def build_inventory(plan: Plan, accesses: tuple[NodeAccess, ...]) -> dict[str, Any]:
    """Inventory in Ansible's YAML/JSON form: every node under `all`, a group per role."""
    by_name = {access.name: access for access in accesses}
    missing = [node.name for node in plan.nodes if node.name not in by_name]
    if missing:
        raise ValueError(f"no SSH access for node(s) {', '.join(missing)}")
    hosts = {node.name: host_vars(plan, node, by_name[node.name]) for node in plan.nodes}
    groups = {
        role.value: {"hosts": {node.name: None for node in plan.nodes_with(role)}} for role in Role
    }
    return {"all": {"hosts": hosts, "children": groups, "vars": {"lab_router": router_vars(plan)}}}


def router_vars(plan: Plan) -> dict[str, Any] | None:
    """The node role's way out (tasks/way_out.yml): on a plan whose nodes reach the outside
    only through the router node, that node, its management address (every other node's
    gateway) and the networks it masquerades; None where the host or provider NATs."""
    router = plan.router
    if router is None:
        return None
    return {
        "node": router.node,
        "gateway": str(router.gateway),
        "masqueraded": [str(cidr) for cidr in router.masqueraded],
    }


def api_address(plan: Plan) -> str:
    """Where the APIs answer: the management VIP (held by the controller), else the
    controller's own management address."""
    management = plan.network(NetworkName.MANAGEMENT)
    return str(management.vip or plan.node(plan.controller).management_address)


def keystone_url(plan: Plan) -> str:
    return f"http://{api_address(plan)}:5000/v3"


def extra_vars(plan: Plan, secrets_file: Path) -> dict[str, Any]:
    """Lab-wide variables of the playbook. Secrets are not among them: the playbook reads
    them from `secrets_file` (mode 0600), so they never sit in runner's env/ files."""
    management = plan.network(NetworkName.MANAGEMENT)
    overlay = plan.network(NetworkName.OVERLAY)
    provider = plan.network(NetworkName.PROVIDER)
    controller = plan.node(plan.controller)
    return {
        "stacklab_lab": plan.lab,
        "stacklab_release": plan.release,
        "openstack_series": plan.openstack_series,
        "region_name": REGION,
        "controller_name": controller.name,
        "controller_address": str(controller.management_address),
        "api_address": api_address(plan),
        "api_address_is_vip": management.vip is not None,
        "management_cidr": str(management.cidr),
        "management_mtu": management.mtu,
        "overlay_mtu": overlay.mtu,
        "provider_mtu": provider.mtu,
        "tenant_mtu": plan.tenant_mtu,
        "horizon_enabled": "horizon" in plan.services,
        "cinder_enabled": "cinder" in plan.services,
        "ceph_mon_address": ceph_mon_address(plan),
        "secrets_file": str(secrets_file),
    }


def ceph_mon_address(plan: Plan) -> str | None:
    """Where Ceph's one monitor answers: the storage node (the spec rules allow one), None
    without Cinder."""
    storage = plan.nodes_with(Role.STORAGE)
    if "cinder" not in plan.services or not storage:
        return None
    return str(storage[0].management_address)
