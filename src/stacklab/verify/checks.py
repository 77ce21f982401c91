"""What verify checks of a booted instance, each as a wait with its own timeout: the lab's
services alive, the console's markers, ping and SSH to the floating IP."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
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
IPV4_HEADER = 20
ICMP_HEADER = 8
# The MTU of the interface the guest's default route leaves by (busybox has ip and awk).
GUEST_MTU = "$(cat /sys/class/net/$(ip route | awk '/^default/ {print $5; exit}')/mtu)"


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


def _wait_for_answer(runner: Runner, ping: list[str], timeout: float, what: str, fix: str) -> None:
    wait_until(
        lambda: True if runner.run(ping, check=False, fix=PING_FIX).ok else None,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=PING_INTERVAL_S,
        what=f"{what} from {runner.where}",
        fix=fix,
    )


def wait_ping(runner: Runner, address: str, timeout: float) -> None:
    _wait_for_answer(
        runner,
        ["ping", "-c", "1", "-W", "1", address],
        timeout,
        f"{address} to answer ping",
        "check the router's gateway on the external network and the L3 agent",
    )


def full_size_ping(address: str, mtu: int) -> list[str]:
    """A ping whose packets are exactly mtu bytes and may not be fragmented: its reply
    crosses the tunnel at the tenant MTU, so it is lost where the underlay cannot carry the
    tenant MTU plus the tunnel's overhead (dropped silently, no ICMP: FIELD-NOTES)."""
    payload = mtu - IPV4_HEADER - ICMP_HEADER
    return ["ping", "-c", "1", "-W", "2", "-M", "do", "-s", str(payload), address]


def wait_full_size_ping(runner: Runner, address: str, mtu: int, timeout: float) -> None:
    _wait_for_answer(
        runner,
        full_size_ping(address, mtu),
        timeout,
        f"{address} to answer a ping of {mtu} bytes (not fragmented)",
        "the tenant network's MTU plus the tunnel's overhead exceeds what the overlay "
        "network carries: compare `stacklab plan`'s tenant MTU with the network's MTU in "
        "Neutron and with the overlay NICs' MTU on the nodes",
    )


@dataclass(frozen=True)
class GuestLogin:
    hostname: str
    mtu: int | None  # of the interface the guest's default route leaves by; None: unread


def login_answer(token: str, output: str) -> GuestLogin | None:
    """The guest's answer to LOGIN_COMMAND, if it is one: the token, its hostname, the MTU."""
    words = output.split()
    if len(words) not in (2, 3) or words[0] != token:
        return None
    mtu = int(words[2]) if len(words) == 3 and words[2].isdigit() else None
    return GuestLogin(words[1], mtu)


def mtu_mismatch(login: GuestLogin, network_mtu: int | None) -> str | None:
    """Why the guest's MTU is wrong, if it is: it must be the tenant network's (DHCP option
    26), or its larger packets are lost in the tunnel."""
    if login.mtu is None or network_mtu is None or login.mtu == network_mtu:
        return None
    return f"the instance's interface has MTU {login.mtu}, its network {network_mtu}"


def wait_ssh(runner: Runner, access: NodeAccess, known_hosts: Path, timeout: float) -> GuestLogin:
    """Log in with the lab key and run a command whose answer cannot come from anywhere
    else; returns the guest's hostname and MTU."""
    token = secrets.token_hex(8)
    command = ["echo", token, "$(hostname)", GUEST_MTU]
    answers: list[str] = []

    def probe() -> GuestLogin | None:
        argv = ssh_argv(access, known_hosts, command, strict=False)
        result = runner.run(argv, check=False, timeout=30)
        answers.append(result.output.splitlines()[-1] if result.output else "")
        return login_answer(token, result.stdout) if result.ok else None

    return wait_until(
        probe,
        retry_on=(CloudUnreachable,),
        timeout=timeout,
        interval=SSH_INTERVAL_S,
        what=f"SSH to {access.user}@{access.host} with the lab key",
        last_seen=lambda: answers[-1] if answers else "",
        fix="the test image takes the key from the metadata: check its console log",
    )
