"""`stacklab verify`: boot the test image as the demo user and check it end to end, timing
each phase; delete whatever it made, also when a phase fails."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from stacklab.bootstrap.resources import TEST_IMAGE, VERIFY_FLAVOR
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess
from stacklab.errors import StacklabError
from stacklab.labcloud.credentials import lab_credentials, lab_private_key
from stacklab.openstack_api import OpenStackCloud, connect
from stacklab.plan.models import Plan
from stacklab.runner import LocalRunner
from stacklab.verify.checks import (
    GuestFailed,
    ec2_instance_id,
    mtu_mismatch,
    server_hostname,
    wait_console,
    wait_full_size_ping,
    wait_ping,
    wait_services,
    wait_ssh,
)
from stacklab.verify.phases import PhaseLog, PhaseResult, VerifyResult
from stacklab.verify.reach import Vantage, floating_ips_answer_here, vantage
from stacklab.workloads.lab_resources import boot_target
from stacklab.workloads.servers import (
    ROLE_KEY,
    add_floating_ip,
    boot,
    delete_floating_ip,
    delete_server,
    wait_active,
)

VERIFY_ROLE = "verify"
VERIFY_PREFIX = "stacklab-verify"


@dataclass(frozen=True)
class VerifySettings:
    """Timeouts in seconds; sized for QEMU without KVM (TCG), where a guest is ~10x slower."""

    services_timeout: float = 300
    active_timeout: float = 300
    console_timeout: float = 300
    ping_timeout: float = 120
    # After an ordinary ping answered: only the size can still make it fail.
    full_size_ping_timeout: float = 20
    ssh_timeout: float = 120
    delete_timeout: float = 180
    image: str = TEST_IMAGE
    flavor: str = VERIFY_FLAVOR


@dataclass
class _Made:
    """What this run created, for the cleanup."""

    server_ids: list[str] = field(default_factory=list)
    floating_ip_ids: list[str] = field(default_factory=list)


@dataclass
class _Run:
    """One verify: its phases in order, and what they made."""

    lab: str
    lab_directory: Path
    settings: VerifySettings
    reach: Vantage
    log: PhaseLog
    made: _Made = field(default_factory=_Made)

    def phases(self, admin: OpenStackCloud, demo: OpenStackCloud) -> str:
        """Runs every phase; returns what was checked, or raises at the first failure."""
        settings, log = self.settings, self.log
        with log.phase("services") as detail:
            detail.append(f"{wait_services(admin, settings.services_timeout)} up")
        _remove_leftovers(demo, settings)
        with log.phase("boot") as detail:
            target = boot_target(demo, self.lab, settings.image, settings.flavor)
            name = f"{VERIFY_PREFIX}-{secrets.token_hex(3)}"
            server_id = boot(demo, name, target, {ROLE_KEY: VERIFY_ROLE})
            self.made.server_ids.append(server_id)
            wait_active(demo, server_id, settings.active_timeout)
            detail.append(f"{name} ACTIVE")
        with log.phase("console") as detail:
            ids = _instance_ids(admin, server_id)
            hostname = server_hostname(name)
            markers = wait_console(demo, server_id, ids, settings.console_timeout, hostname)
            detail.append(f"metadata ok, address {markers.address}")
            if markers.hostname is not None:
                detail.append(f"hostname {markers.hostname}")
        with log.phase("floating-ip") as detail:
            floating = add_floating_ip(demo, target, server_id, f"{VERIFY_PREFIX} {server_id}")
            self.made.floating_ip_ids.append(floating.id)
            detail.append(floating.address)
        runner = self.reach.runner
        with log.phase("ping") as detail:
            wait_ping(runner, floating.address, settings.ping_timeout)
            detail.append(f"{floating.address} from {runner.where}")
            if target.network_mtu is not None:
                mtu, timeout = target.network_mtu, settings.full_size_ping_timeout
                wait_full_size_ping(runner, floating.address, mtu, timeout)
                detail.append(f"also at {mtu} bytes, not fragmented")
        if not markers.ssh_ready:
            log.skipped("ssh", markers.ssh_unavailable or "the image has no SSH server")
            return "instance ACTIVE, console markers, floating IP ping"
        key = lab_private_key(self.lab_directory)
        access = NodeAccess(name, floating.address, target.user, 22, key, self.reach.jump_host)
        with log.phase("ssh") as detail, tempfile.TemporaryDirectory() as scratch:
            # Every instance makes its own host key: trust it for this run only.
            known_hosts = Path(scratch) / "known_hosts"
            # From this host, as the user logs in: through the access node where it holds
            # the external network.
            login = wait_ssh(LocalRunner(), access, known_hosts, settings.ssh_timeout)
            through = f" through {access.jump_host}" if access.jump_host else ""
            detail.append(f"{access.user}@{access.host}{through} is {login.hostname}")
            if login.mtu is not None:
                detail.append(f"MTU {login.mtu}")
            mismatch = mtu_mismatch(login, target.network_mtu)
            if mismatch is not None:
                raise GuestFailed(
                    f"The instance's MTU is not its network's: {mismatch}.",
                    fix="the guest takes the MTU from DHCP option 26: check the tenant "
                    "network's MTU and OVN's DHCP options (`ovn-nbctl list DHCP_Options`)",
                )
        return "instance ACTIVE, console markers, floating IP ping, SSH with the lab key"

    def cleanup(self, demo: OpenStackCloud) -> StacklabError | None:
        """Deletes what the run made; a failure is recorded and returned, not raised, so
        that it never hides the failure of a phase."""
        try:
            with self.log.phase("cleanup") as detail:
                for floating_ip_id in self.made.floating_ip_ids:
                    delete_floating_ip(demo, floating_ip_id, self.settings.delete_timeout)
                for server_id in self.made.server_ids:
                    delete_server(demo, server_id, self.settings.delete_timeout)
                servers, addresses = len(self.made.server_ids), len(self.made.floating_ip_ids)
                detail.append(f"{servers} server, {addresses} IP")
        except StacklabError as error:
            return error
        return None


def verify_lab(
    lab: str,
    lab_directory: Path,
    *,
    settings: VerifySettings | None = None,
    access_node: NodeAccess | None = None,
    report: Callable[[PhaseResult], None] = lambda result: None,
) -> VerifyResult:
    """access_node: None where this host is on the provider network (the local provider);
    otherwise the lab's access node, which pings and is the jump host for SSH."""
    run = _Run(
        lab,
        lab_directory,
        settings or VerifySettings(),
        vantage(lab_directory, access_node),
        PhaseLog(report),
    )
    try:
        credentials = lab_credentials(lab, lab_directory)
        with (
            closing(connect(credentials.admin)) as admin,
            closing(connect(credentials.demo)) as demo,
        ):
            try:
                checked = run.phases(admin, demo)
            finally:  # also on Ctrl-C: nothing of the run stays behind
                cleanup_failure = run.cleanup(demo)
            if cleanup_failure is not None:
                raise cleanup_failure
    except StacklabError as failure:
        return VerifyResult(lab, False, failure.message, tuple(run.log.results), failure.fix)
    return VerifyResult(lab, True, checked, tuple(run.log.results))


def access_node_for(plan: Plan, nodes: Sequence[NodeAccess]) -> NodeAccess | None:
    """None where this host sits on the lab's external network itself."""
    if floating_ips_answer_here(plan):
        return None
    return next((node for node in nodes if node.name == plan.access_node), None)


def verify_step(plan: Plan, context: LabContext, nodes: Sequence[NodeAccess]) -> VerifyResult:
    """The `verify` step of `up`: a failed verify fails the step (VerifyFailed)."""
    result = verify_lab(
        plan.lab,
        context.directory,
        access_node=access_node_for(plan, nodes),
        report=lambda phase: context.progress(f"verify: {phase.line()}"),
    )
    result.raise_if_failed()
    return result


def _instance_ids(admin: OpenStackCloud, server_id: str) -> set[str]:
    """The server's ids as the metadata service may give them: its UUID or its EC2 id."""
    record = admin.server(server_id)
    ec2_id = ec2_instance_id(record.instance_name if record else None)
    return {server_id} | ({ec2_id} if ec2_id else set())


def _remove_leftovers(demo: OpenStackCloud, settings: VerifySettings) -> None:
    """Servers and floating IPs of an earlier verify that was killed before its cleanup."""
    for address in demo.floating_ips():
        if address.description.startswith(VERIFY_PREFIX):
            delete_floating_ip(demo, address.id, settings.delete_timeout)
    for server in demo.servers():
        if server.metadata.get(ROLE_KEY) == VERIFY_ROLE:
            delete_server(demo, server.id, settings.delete_timeout)
