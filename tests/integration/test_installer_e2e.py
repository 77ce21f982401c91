"""The installer end to end on the session's real local AIO lab (conftest.py): the `up`
killed (-9) in the middle of the install was run again and completed; the cloud answers from
the host (token, compute services up, network agents alive); a second `up` changes nothing;
no secret shows in any log; the linuxbridge agent keeps wiring ports through 50 servers made
and deleted; `stacklab down` leaves nothing. Root, nspawn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import AioLab
from traces import host_traces

from stacklab import api
from stacklab.cli.main import run
from stacklab.installer.health import (
    cloud_health,
    expected_services,
    label,
    planned_roles,
)
from stacklab.installer.installer import last_stats
from stacklab.installer.phases import PHASES, SECRET_NAMES
from stacklab.labcloud.credentials import admin_credentials
from stacklab.openstack_api import OpenStackCloud, connect
from stacklab.state.leftovers import leftovers
from stacklab.state.secrets import SecretStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPENSTACK = str(Path(sys.executable).with_name("openstack"))
# The issue asks for at least 50; a slower host may ask for fewer with the variable.
CHURN_SERVERS = int(os.environ.get("STACKLAB_CHURN_SERVERS", "50"))
CHURN_AT_ONCE = 5


def openstack_cli(lab: AioLab, *command: str) -> list[dict[str, object]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    done = subprocess.run(
        [OPENSTACK, "--os-cloud", lab.name, *command, "-f", "json"],
        capture_output=True, text=True, env=environment, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    return loaded if isinstance(loaded, list) else [loaded]


def version_tuple(microversion: str) -> tuple[int, ...]:
    return tuple(int(part) for part in microversion.split("."))


def planned_phases(lab: AioLab) -> list[str]:
    """The install phases this lab's plan runs (block storage only with Cinder, and so on)."""
    return [phase for phase in PHASES if phase in lab.plan.step_names]


def test_killed_up_was_resumed_to_the_end(lab: AioLab) -> None:
    journal = api.status(lab.name).journal
    done = {entry.step for entry in journal if entry.status == "ok"}
    assert {"compute", "network"} <= set(planned_phases(lab)) <= done
    assert leftovers(lab.directory, own_token="") == []  # the killed run's Ansible is gone


def test_openstack_cli_on_the_host_sees_a_working_cloud(lab: AioLab) -> None:
    token = openstack_cli(lab, "token", "issue")
    assert token[0]["project_id"]
    services = openstack_cli(lab, "compute", "service", "list")
    assert {(s["Binary"], s["State"]) for s in services} == {
        ("nova-conductor", "up"),
        ("nova-scheduler", "up"),
        ("nova-compute", "up"),
    }
    agents = openstack_cli(lab, "network", "agent", "list")
    assert sorted(str(a["Agent Type"]) for a in agents) == [
        "OVN Controller Gateway agent", "OVN Metadata agent",
    ]  # fmt: skip
    assert all(a["Alive"] is True for a in agents), agents
    versions = openstack_cli(lab, "versions", "show", "--service", "compute", "--status", "CURRENT")
    assert max(version_tuple(str(v["Max Microversion"])) for v in versions) >= (2, 96), versions


def test_health_lists_every_expected_service_up(lab: AioLab) -> None:
    health = cloud_health(lab.name, planned_roles(lab.plan), lab.directory)
    assert health.ok, (health.error, health.missing, health.down)
    assert {label(s) for s in health.services} == expected_services(planned_roles(lab.plan))


def test_second_up_changes_nothing(lab: AioLab) -> None:
    started = time.monotonic()
    assert run(["up"]) == 0
    print(f"\nsecond up (converge and verify): {time.monotonic() - started:.0f} s")
    changed = {}
    for phase in planned_phases(lab):
        stats = last_stats(lab.directory, phase)
        assert stats is not None, phase
        changed[phase] = stats["changed_tasks"]
    assert changed == {phase: [] for phase in planned_phases(lab)}


# The nodes' own filesystems hold the services' configuration, with their passwords.
NODE_FILESYSTEM = ("upper", "work", "root")


def intended(name: str) -> bool:
    """Files that hold secrets on purpose: the secrets file, clouds.yaml and openrc files."""
    return name in ("secrets.json", "clouds.yaml") or name.endswith("openrc.sh")


def test_no_secret_in_logs_artifacts_or_state(lab: AioLab) -> None:
    store = SecretStore(lab.name, lab.directory)
    assert set(SECRET_NAMES) <= set(store.names())
    assert store.path.stat().st_mode & 0o777 == 0o600
    values = [store.get(name) for name in SECRET_NAMES]
    searched = [*(lab.home / "state" / "stacklab").glob("state.db*")]
    for folder, subfolders, files in os.walk(lab.directory):
        subfolders[:] = [d for d in subfolders if d not in NODE_FILESYSTEM]
        searched += [Path(folder, name) for name in files if not intended(name)]
    names = {path.name for path in searched}
    assert {"stdout", "state.db"} <= names  # the Ansible logs and the journal are searched
    leaks = [
        str(path) for path in searched
        if any(value.encode() in path.read_bytes() for value in values)
    ]  # fmt: skip
    assert leaks == []


def wait_for_status(cloud: OpenStackCloud, server_id: str, wanted: str | None) -> float:
    """Seconds until the server has the status `wanted` (None: until it is gone)."""
    started = time.monotonic()
    while time.monotonic() - started < 600:
        # Listing, not reading one server: a server deleted between the adapter's find and
        # get would fail the read.
        found = [server for server in cloud.servers() if server.id == server_id]
        status = found[0].status if found else None
        if status == wanted:
            return time.monotonic() - started
        assert status != "ERROR", found
        time.sleep(2)
    raise AssertionError(f"server {server_id} not {wanted or 'gone'} within 600 s")


@dataclass(frozen=True)
class ChurnKit:
    image: str
    flavor: str
    network: str
    keypair: str


@pytest.fixture
def churn_kit(lab: AioLab) -> ChurnKit:
    """A tiny image (a guest needs not boot for its port to be wired), a flavor, a network."""
    cloud = connect(admin_credentials(lab.name, lab.directory))
    try:
        disk = lab.home / "churn.img"
        disk.write_bytes(bytes(1024 * 1024))
        image = cloud.upload_image("churn", disk, {})
        flavor = cloud.create_flavor("churn", 64, 1, 1)
        network = cloud.create_network("churn")
        cloud.create_subnet(
            "churn", network_id=network, cidr="192.168.77.0/24", gateway_ip=None,
            allocation_pools=(("192.168.77.10", "192.168.77.250"),), dhcp=True,
        )  # fmt: skip
        public_key = (lab.directory / "ssh" / "id_ed25519.pub").read_text()
        cloud.create_keypair("churn", public_key)
    finally:
        cloud.close()
    return ChurnKit(image, flavor, network, "churn")


def make_and_delete(lab: AioLab, kit: ChurnKit, numbers: range) -> list[float]:
    """Servers made and deleted one after the other; seconds each took to go ACTIVE."""
    cloud = connect(admin_credentials(lab.name, lab.directory))
    took = []
    try:
        for number in numbers:
            server = cloud.create_server(
                f"churn-{number}", image_id=kit.image, flavor_id=kit.flavor,
                network_id=kit.network, key_name=kit.keypair, metadata={},
            )  # fmt: skip
            took.append(wait_for_status(cloud, server, "ACTIVE"))
            cloud.delete_server(server)
            wait_for_status(cloud, server, None)
    finally:
        cloud.close()
    return took


def test_ports_keep_being_wired_through_churn(lab: AioLab, churn_kit: ChurnKit) -> None:
    """ACTIVE means Nova got the port's network-vif-plugged: the agent wired it."""
    started = time.monotonic()
    per_worker = CHURN_SERVERS // CHURN_AT_ONCE
    batches = [range(w * per_worker, (w + 1) * per_worker) for w in range(CHURN_AT_ONCE)]
    with ThreadPoolExecutor(CHURN_AT_ONCE) as pool:
        took = [s for batch in pool.map(lambda b: make_and_delete(lab, churn_kit, b), batches)
                for s in batch]  # fmt: skip
    assert len(took) == CHURN_SERVERS
    health = cloud_health(lab.name, planned_roles(lab.plan), lab.directory)
    assert health.ok, (health.missing, health.down)
    after = make_and_delete(lab, churn_kit, range(1000, 1001))
    print(f"\nchurn: {CHURN_SERVERS} servers in {time.monotonic() - started:.0f} s, "
          f"ACTIVE after {sum(took) / len(took):.0f} s on average, {max(took):.0f} s at most; "
          f"one more afterwards: {after[0]:.0f} s")  # fmt: skip


@pytest.mark.lab_teardown
def test_down_leaves_nothing(lab: AioLab) -> None:
    assert run(["down", lab.name]) == 0
    assert api.status(lab.name).found == []
    assert host_traces(lab.name) == []
    assert not lab.directory.exists()
