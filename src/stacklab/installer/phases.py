"""The install phases: each is a step of `up` (declared in plan.steps) and a tag of the
playbook, in this order; and the secrets the roles use."""

from __future__ import annotations

from stacklab.plan.steps import install_phases

PHASES: tuple[str, ...] = install_phases()

# Every generated secret the roles use, by name in the lab's SecretStore.
SECRET_NAMES: tuple[str, ...] = (
    "admin_password",
    "rabbitmq_password",
    "keystone_db_password",
    "glance_db_password",
    "glance_password",
    "placement_db_password",
    "placement_password",
    "nova_db_password",
    "nova_password",
    "neutron_db_password",
    "neutron_password",
    "metadata_secret",
    "cinder_db_password",
    "cinder_password",
    # 16 random bytes each (hex): the roles make Ceph's cluster id, its cephx keys and the
    # libvirt secret's UUID of them (filter_plugins), so every node agrees with no fetching.
    "ceph_fsid",
    "ceph_cinder_key",
    "ceph_glance_key",
    "libvirt_ceph_secret",
    "octavia_db_password",
    "octavia_password",
)


def is_phase(step: str) -> bool:
    return step in PHASES
