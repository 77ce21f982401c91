"""What verify checks of a booted instance, each as a wait with its own timeout: the lab's
services alive, the console's markers, ping and SSH to the floating IP."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from pathlib import Path

from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import ssh_argv
from stacklab.core.wait import wait_until
from stacklab.errors import CloudUnreachable, VerifyFailed
from stacklab.images.console_markers import ConsoleMarkers, read_markers
from stacklab.openstack_api import OpenStackCloud
from stacklab.openstack_records import ServiceRecord
from stacklab.runner import Runner

CONSOLE_INTERVAL_S = 3.0
PING_INTERVAL_S = 1.0
SSH_INTERVAL_S = 3.0
PING_FIX = "install iputils-ping (`apt-get install iputils-ping`)"


class GuestFailed(VerifyFailed):
    """The guest booted but said on its console that something it needs did not work."""


def services_down(services: Sequence[ServiceRecord]) -> list[str]:
    down = [f"{s.name} on {s.host}" for s in services if not s.up]
    if not any(s.kind == "compute" for s in services):
        down.append("no nova-compute service registered")
    if not any(s.kind == "network" for s in services):
        down.append("no network agent registered")
    return down


def wait_services(admin: OpenStackCloud, timeout: float) -> int:
    """Every Nova service up and every Neutron agent alive (a server booted before the DHCP
    agent has resynced gets no lease: FIELD-NOTES). Returns how many there are."""
    down: list[str] = []

    def probe() -> int | None:
        services = admin.services()
        down[:] = services_down(services)
        return None if down else len(services)

    return wait_until(
        probe,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=CONSOLE_INTERVAL_S,
        what="the lab's compute services and network agents",
        last_seen=lambda: "down: " + ", ".join(down),
        fix="`stacklab status` and the agents' journals on the nodes say why",
    )


def ec2_instance_id(instance_name: str | None) -> str | None:
    """The EC2-style id the metadata service gives (`i-0000000a`), from the instance's
    libvirt name (`instance-0000000a`): both are Nova's internal id in hex."""
    if instance_name is None or not instance_name.startswith("instance-"):
        return None
    return "i-" + instance_name.removeprefix("instance-")


def server_hostname(server_name: str) -> str:
    """The hostname Nova gives a server of this name (nova.utils.sanitize_hostname): what
    the test image sets from the metadata, and what a guest's `hostname` is compared with."""
    hostname = re.sub(r"[ _.]", "-", server_name.lower())
    hostname = re.sub(r"[^a-z0-9-]", "", hostname).strip("-")
    return hostname[:63].rstrip("-") or "server"


def guest_progress(
    markers: ConsoleMarkers, instance_ids: Collection[str], hostname: str | None = None
) -> ConsoleMarkers | None:
    """The markers once the guest is done (metadata read, SSH decided); GuestFailed if it
    said it could not get an address or the metadata, or got another instance's metadata
    or another hostname than `hostname`; None while it is still booting. instance_ids:
    the ids this instance may be called by."""
    if markers.dhcp_failed:
        raise GuestFailed(
            "The instance got no DHCP lease.",
            fix="check the DHCP agent and the tenant network's MTU on the network node",
        )
    if markers.metadata_failure is not None:
        raise GuestFailed(
            f"The instance could not read the metadata: {markers.metadata_failure}.",
            fix="check the metadata agent on the network node and nova-api's metadata service",
        )
    if markers.instance_id is not None and markers.instance_id not in instance_ids:
        raise GuestFailed(
            f"The metadata service answered for instance {markers.instance_id}, "
            f"not for this one ({' or '.join(sorted(instance_ids))}).",
            fix="check metadata_proxy_shared_secret and the metadata agent's configuration",
        )
    if markers.hostname_failure is not None:
        raise GuestFailed(
            f"The instance could not take its hostname from the metadata: "
            f"{markers.hostname_failure}.",
            fix="`curl http://169.254.169.254/latest/meta-data/hostname` from a guest shows "
            "what the metadata service answers",
        )
    if hostname is not None and markers.hostname not in (None, hostname):
        raise GuestFailed(
            f"The instance took the hostname {markers.hostname} from the metadata, "
            f"not {hostname} (its server name).",
            fix="check the metadata agent: it answered for another server",
        )
    return markers if markers.finished else None


def wait_console(
    cloud: OpenStackCloud,
    server_id: str,
    instance_ids: Collection[str],
    timeout: float,
    hostname: str | None = None,
) -> ConsoleMarkers:
    seen: list[ConsoleMarkers] = []

    def probe() -> ConsoleMarkers | None:
        markers = read_markers(cloud.console_output(server_id))
        seen.append(markers)
        return guest_progress(markers, instance_ids, hostname)

    return wait_until(
        probe,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=CONSOLE_INTERVAL_S,
        what="the instance's console to show STACKLAB-METADATA-OK",
        last_seen=lambda: _console_state(seen[-1]) if seen else "",
        fix="`openstack console log show <server>` shows how far the guest came",
    )


def _console_state(markers: ConsoleMarkers) -> str:
    if not markers.booted:
        return "the guest has not printed STACKLAB-BOOTED"
    if markers.address is None:
        return "booted, no address yet"
    if markers.instance_id is None:
        return f"address {markers.address}, metadata not read yet"
    return f"metadata ok, SSH not decided yet (address {markers.address})"


def wait_ping(runner: Runner, address: str, timeout: float) -> None:
    ping = ["ping", "-c", "1", "-W", "1", address]
    wait_until(
        lambda: True if runner.run(ping, check=False, fix=PING_FIX).ok else None,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=PING_INTERVAL_S,
        what=f"{address} to answer ping from {runner.where}",
        fix="check the router's gateway on the external network and the L3 agent",
    )


def wait_ssh(runner: Runner, access: NodeAccess, known_hosts: Path, timeout: float) -> str:
    """Log in with the lab key and run a command whose answer cannot come from anywhere
    else; returns the guest's hostname."""
    token = secrets.token_hex(8)
    command = ["echo", token, "$(hostname)"]
    answers: list[str] = []

    def probe() -> str | None:
        argv = ssh_argv(access, known_hosts, command, strict=False)
        result = runner.run(argv, check=False, timeout=30)
        answers.append(result.output.splitlines()[-1] if result.output else "")
        words = result.stdout.split()
        return words[1] if result.ok and len(words) == 2 and words[0] == token else None

    return wait_until(
        probe,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=SSH_INTERVAL_S,
        what=f"SSH to {access.user}@{access.host} with the lab key",
        last_seen=lambda: answers[-1] if answers else "",
        fix="the test image takes the key from the metadata: check its console log",
    )
