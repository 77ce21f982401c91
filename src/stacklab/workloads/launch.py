"""`stacklab launch`: N demo servers with floating IPs, ACTIVE when it returns. The cloud is
the record of them (server metadata), so `inventory` finds them without local state."""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from stacklab.bootstrap.resources import TEST_IMAGE
from stacklab.core.nodes import ProgressCallback
from stacklab.errors import StacklabError
from stacklab.labcloud.credentials import lab_credentials
from stacklab.openstack_api import connect
from stacklab.openstack_records import FloatingIpRecord, ServerRecord
from stacklab.workloads.lab_resources import boot_target
from stacklab.workloads.servers import (
    ROLE_KEY,
    USER_KEY,
    add_floating_ip,
    boot,
    wait_active,
)

WORKLOAD_ROLE = "workload"
FLOATING_PREFIX = "stacklab-workload"
DEFAULT_PREFIX = "vm"
NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class Workload:
    name: str
    server_id: str
    address: str | None  # the floating IP
    user: str
    status: str


def next_names(prefix: str, existing: Iterable[str], count: int) -> list[str]:
    """`prefix-N` names, numbered after the highest that exists already."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
    numbers = [int(m.group(1)) for name in existing if (m := pattern.match(name))]
    first = max(numbers, default=0) + 1
    return [f"{prefix}-{number}" for number in range(first, first + count)]


def check_launch_arguments(count: int, prefix: str) -> None:
    if count < 1:
        raise StacklabError(f"--count {count}: nothing to launch.", fix="use --count 1 or more")
    if not NAME_PREFIX.match(prefix):
        raise StacklabError(
            f"--name {prefix!r} is not a usable name prefix.",
            fix="use a-z, 0-9 and '-', starting with a letter, up to 41 characters",
        )


def launch(
    lab: str,
    lab_directory: Path,
    *,
    count: int,
    flavor: str,
    image: str = TEST_IMAGE,
    prefix: str = DEFAULT_PREFIX,
    active_timeout: float = 600,
    progress: ProgressCallback = lambda message: None,
) -> list[Workload]:
    check_launch_arguments(count, prefix)
    with closing(connect(lab_credentials(lab, lab_directory).demo)) as demo:
        target = boot_target(demo, lab, image, flavor)
        names = next_names(prefix, (s.name for s in demo.servers()), count)
        metadata = {ROLE_KEY: WORKLOAD_ROLE}
        # All boot at once; the cloud builds them side by side.
        booted = [(name, boot(demo, name, target, metadata)) for name in names]
        launched = []
        try:
            for name, server_id in booted:
                progress(f"launch: waiting for {name} to be ACTIVE")
                record = wait_active(demo, server_id, active_timeout)
                description = f"{FLOATING_PREFIX} {server_id}"
                floating = add_floating_ip(demo, target, server_id, description)
                launched.append(
                    Workload(name, server_id, floating.address, target.user, record.status)
                )
        except StacklabError as error:
            error.fix = (
                f"{error.fix or ''} The servers launched stay; `openstack --os-cloud "
                f"{lab}-demo server delete {' '.join(names)}` removes them."
            ).strip()
            raise
        return launched


def workloads_of(
    servers: Iterable[ServerRecord], floating: Iterable[FloatingIpRecord]
) -> list[Workload]:
    """The lab's workload servers with their floating IPs, sorted by name."""
    by_server = {
        ip.description.removeprefix(f"{FLOATING_PREFIX} "): ip.address
        for ip in floating
        if ip.description.startswith(FLOATING_PREFIX)
    }
    found = [
        Workload(
            name=server.name,
            server_id=server.id,
            address=by_server.get(server.id) or next(iter(server.floating_addresses), None),
            user=server.metadata.get(USER_KEY, "root"),
            status=server.status,
        )
        for server in servers
        if server.metadata.get(ROLE_KEY) == WORKLOAD_ROLE
    ]
    return sorted(found, key=lambda workload: workload.name)


def list_workloads(lab: str, lab_directory: Path) -> list[Workload]:
    with closing(connect(lab_credentials(lab, lab_directory).demo)) as demo:
        return workloads_of(demo.servers(), demo.floating_ips())
