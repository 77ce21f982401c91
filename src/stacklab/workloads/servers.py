"""Servers of the demo project: boot, wait for ACTIVE (a timeout and an ERROR are different
errors, the latter with Nova's fault), floating IPs, deletion."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from stacklab.core.wait import wait_until
from stacklab.errors import CloudError, CloudUnreachable
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import FloatingIpRecord, ServerRecord
from stacklab.workloads.lab_resources import BootTarget

ROLE_KEY = "stacklab-role"  # server metadata: "verify" or "workload"
USER_KEY = "stacklab-user"  # server metadata: who logs in
POLL_INTERVAL_S = 2.0
ERROR_FIX = (
    'Nova\'s fault says why ("No valid host": no compute node has room for the flavor); '
    "`stacklab ssh <node> -- journalctl -u nova-scheduler -u nova-compute` says more"
)
TIMEOUT_FIX = (
    "`stacklab ssh <compute node> -- journalctl -u nova-compute` shows where the boot stands; "
    "under QEMU without KVM guests start about 10x slower"
)


class ServerFailed(CloudError):
    """A server went to ERROR."""


def boot(cloud: OpenStackCloud, name: str, target: BootTarget, metadata: Mapping[str, str]) -> str:
    return cloud.create_server(
        name,
        image_id=target.image_id,
        flavor_id=target.flavor_id,
        network_id=target.network_id,
        key_name=target.key_name,
        metadata={USER_KEY: target.user, **metadata},
    )


def active_or_failed(record: ServerRecord | None, server_id: str) -> ServerRecord | None:
    """The server if ACTIVE; None while it builds; ServerFailed if it is in ERROR or gone."""
    if record is None:
        raise ServerFailed(
            f"Server {server_id} disappeared while it was booting.",
            fix="someone deleted it; run the command again",
        )
    if record.status == "ERROR":
        raise ServerFailed(
            f"Server {record.name} ({record.id}) went to ERROR: "
            f"{(record.fault or 'Nova gave no fault message').rstrip(' .')}.",
            fix=ERROR_FIX,
        )
    return record if record.status == "ACTIVE" else None


def wait_active(cloud: OpenStackCloud, server_id: str, timeout: float) -> ServerRecord:
    seen: list[str] = []

    def probe() -> ServerRecord | None:
        record = cloud.server(server_id)
        seen.append(record.status if record else "gone")
        return active_or_failed(record, server_id)

    return wait_until(
        probe,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=POLL_INTERVAL_S,
        what=f"server {server_id} to be ACTIVE",
        last_seen=lambda: f"status {seen[-1]}" if seen else "",
        fix=TIMEOUT_FIX,
    )


def add_floating_ip(
    cloud: OpenStackCloud, target: BootTarget, server_id: str, description: str
) -> FloatingIpRecord:
    return cloud.create_floating_ip(target.external_network_id, server_id, description)


def _deleted(delete: Callable[[], None]) -> bool:
    delete()
    return True


def delete_floating_ip(cloud: OpenStackCloud, floating_ip_id: str, timeout: float) -> None:
    """Delete it, asking again while the API does not answer (deleting is idempotent)."""
    wait_until(
        lambda: _deleted(lambda: cloud.delete_floating_ip(floating_ip_id)),
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=POLL_INTERVAL_S,
        what=f"floating IP {floating_ip_id} to be deleted",
        fix=f"delete it by hand: `openstack floating ip delete {floating_ip_id}`",
    )


def delete_server(cloud: OpenStackCloud, server_id: str, timeout: float) -> None:
    """Delete the server and wait until Nova no longer lists it."""
    wait_until(
        lambda: _deleted(lambda: cloud.delete_server(server_id)),
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=POLL_INTERVAL_S,
        what=f"Nova to take the deletion of server {server_id}",
    )
    wait_until(
        lambda: True if cloud.server(server_id) is None else None,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=POLL_INTERVAL_S,
        what=f"server {server_id} to be deleted",
        fix=f"delete it by hand: `openstack server delete {server_id}`",
    )
