"""The Debian packages each node installs for its roles (Debian 13: OpenStack 2025.1, ML2/OVN).

They follow from the plan alone (a node's roles, its hypervisor, the lab's services and
its access node), so the one list serves both the installer's packages phase (a host
variable of the inventory) and what prepares them ahead of time, such as the local
provider's image layer with them installed.
"""

from __future__ import annotations

from collections.abc import Iterable

from stacklab.config.models import Role
from stacklab.plan.models import HypervisorKind, Plan, PlannedNode

COMMON = ("python3-openstackclient",)
# Installed before the OVN packages, in an apt run of its own: in one transaction with them,
# ovsdb-server started before ovs-vswitchd was unpacked and the settings made then were lost.
OPENVSWITCH = "openvswitch-switch"
BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.CONTROLLER: (
        "mariadb-server",
        "python3-pymysql",
        "rabbitmq-server",
        "memcached",
        "python3-memcache",
        "keystone",
        "glance",
        "placement-api",
        "nova-api",  # also ships nova-api-metadata
        "nova-conductor",
        "nova-scheduler",
        "nova-consoleproxy",  # nova-novncproxy
        "neutron-api",
        "neutron-rpc-server",
        "neutron-ovn-maintenance-worker",
        "neutron-periodic-workers",
        "ovn-central",  # the northbound and southbound databases and ovn-northd
    ),
    # A gateway chassis: Open vSwitch and ovn-controller; OVN routes, NATs and serves DHCP.
    Role.NETWORK: (OPENVSWITCH, "ovn-host"),
    # And nova-compute-<virt_type>; the metadata agent serves the instances of this chassis
    # through an haproxy per network (only recommended by its package).
    Role.COMPUTE: (OPENVSWITCH, "ovn-host", "neutron-ovn-metadata-agent", "haproxy"),
    Role.STORAGE: (),
}
HORIZON = ("openstack-dashboard-apache",)
# services.cinder: a one-node Ceph and cinder-volume on the storage node; Cinder's API and
# scheduler, and Glance's RBD store, on the controller; QEMU's RBD block driver where
# instances run (this kernel has no RBD client: QEMU reaches Ceph through librbd).
CEPH_CLIENT = ("ceph-common", "python3-rbd", "python3-rados")
CINDER_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.CONTROLLER: ("cinder-api", "cinder-scheduler", *CEPH_CLIENT),
    Role.NETWORK: (),
    Role.COMPUTE: ("qemu-block-extra", *CEPH_CLIENT),
    Role.STORAGE: (
        "ceph-mon",
        "ceph-mgr",
        "ceph-osd",
        "uuid-runtime",
        "cinder-volume",
        *CEPH_CLIENT,
    ),
}
# services.octavia: the API with OVN's provider driver, and the driver agent that carries
# OVN's load balancer status back to Octavia. No amphora: no worker, health manager or
# housekeeping.
OCTAVIA = ("octavia-api", "octavia-driver-agent", "python3-ovn-octavia-provider")
PROXY = ("nginx", "openssl")  # the TLS reverse proxy, on the access node only


def packages_for(
    roles: Iterable[Role],
    *,
    horizon: bool,
    virt_type: str | None,
    proxy: bool = False,
    cinder: bool = False,
    octavia: bool = False,
) -> list[str]:
    """Sorted and unique: the packages of a node with these roles."""
    chosen = set(COMMON)
    if proxy:
        chosen.update(PROXY)
    for role in roles:
        chosen.update(BY_ROLE[role])
        if cinder:
            chosen.update(CINDER_BY_ROLE[role])
        if role is Role.CONTROLLER and octavia:
            chosen.update(OCTAVIA)
        if role is Role.COMPUTE:
            chosen.add(f"nova-compute-{virt_type or 'qemu'}")
        if role is Role.CONTROLLER and horizon:
            chosen.update(HORIZON)
    return sorted(chosen)


def virt_type(node: PlannedNode) -> str | None:
    """`kvm` or `qemu` for a node with a hypervisor, None for one without."""
    if node.hypervisor is None:
        return None
    return "kvm" if node.hypervisor.kind is HypervisorKind.KVM else "qemu"


def node_packages(plan: Plan, node: PlannedNode) -> list[str]:
    """What the installer's packages phase puts on this node of the plan."""
    return packages_for(
        node.roles,
        horizon="horizon" in plan.services,
        virt_type=virt_type(node),
        proxy=node.name == plan.access_node,
        cinder="cinder" in plan.services,
        octavia="octavia" in plan.services,
    )
