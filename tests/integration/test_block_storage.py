"""Cinder on the one-node Ceph of the session's real local AIO lab (conftest.py, cinder on):
its services up, a volume attached to a running test-image guest is seen by the guest (its
console lists the virtio disks at every change) and gone again after the detach, snapshot
and extend, and a server booted from a volume that is a copy-on-write clone of the Glance
image in Ceph. All through the openstack CLI with the clouds.yaml the lab wrote. Root, nspawn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import AioLab

from stacklab.bootstrap.resources import TENANT_NETWORK, TEST_IMAGE, VERIFY_FLAVOR, keypair_name
from stacklab.images.console_markers import disk_lists, read_markers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPENSTACK = str(Path(sys.executable).with_name("openstack"))
STACKLAB = str(Path(sys.executable).with_name("stacklab"))
GIB = 1 << 30
T = TypeVar("T")


def cli(cloud: str, *command: str, json_out: bool = True) -> Any:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    done = subprocess.run(
        [OPENSTACK, "--os-cloud", cloud, *command, *(("-f", "json") if json_out else ())],
        capture_output=True, text=True, env=environment, check=False, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, f"openstack {' '.join(command)}: {done.stderr[-2000:]}"
    return json.loads(done.stdout) if json_out else done.stdout


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 600) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(3)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def volume_status(cloud: str, volume: str, wanted: str) -> str | None:
    status = str(cli(cloud, "volume", "show", volume)["status"])
    assert status != "error", f"volume {volume} went to error"
    return status if status == wanted else None


def server_active(cloud: str, server: str) -> str | None:
    status = str(cli(cloud, "server", "show", server)["status"])
    assert status != "ERROR", cli(cloud, "server", "show", server).get("fault")
    return status if status == "ACTIVE" else None


def console(cloud: str, server: str) -> str:
    return str(cli(cloud, "console", "log", "show", server, json_out=False))


def disks_seen(cloud: str, server: str, wanted: dict[str, int]) -> dict[str, int] | None:
    """The guest's latest list of disks, once it is `wanted`."""
    lists = disk_lists(console(cloud, server))
    return lists[-1] if lists and lists[-1] == wanted else None


@pytest.fixture(autouse=True)
def cinder_on(lab: AioLab) -> None:
    if "cinder" not in lab.plan.services:
        pytest.skip("the shared lab has services.cinder off")


@pytest.fixture
def demo(lab: AioLab) -> Iterator[str]:
    """The demo user's cloud; every server and volume it holds is deleted afterwards."""
    cloud = f"{lab.name}-demo"
    yield cloud
    for server in cli(cloud, "server", "list"):
        cli(cloud, "server", "delete", "--wait", server["ID"], json_out=False)
    for snapshot in cli(cloud, "volume", "snapshot", "list"):
        cli(cloud, "volume", "snapshot", "delete", snapshot["ID"], json_out=False)
        wait_for("snapshot deleted", lambda: None if cli(cloud, "volume", "snapshot", "list")
                 else True)  # fmt: skip
    for volume in cli(cloud, "volume", "list"):
        cli(cloud, "volume", "delete", volume["ID"], json_out=False)


def boot(lab: AioLab, cloud: str, name: str, *source: str) -> str:
    server = cli(
        cloud, "server", "create", name, "--flavor", VERIFY_FLAVOR, "--network", TENANT_NETWORK,
        "--key-name", keypair_name(lab.name), *source,
    )["id"]  # fmt: skip
    wait_for(f"server {name} ACTIVE", lambda: server_active(cloud, server))
    return str(server)


def test_cinder_services_are_up_on_the_plans_nodes(lab: AioLab) -> None:
    services = cli(lab.name, "volume", "service", "list")
    assert {(s["Binary"], s["Host"], s["State"]) for s in services} == {
        ("cinder-scheduler", "aio", "up"),
        ("cinder-volume", "aio@ceph", "up"),
    }


def test_a_volume_attached_to_a_running_guest_is_seen_and_gone_after_detach(
    lab: AioLab, demo: str
) -> None:
    server = boot(lab, demo, "vol-guest", "--image", TEST_IMAGE)
    root = wait_for("the guest lists its disks", lambda: (disk_lists(console(demo, server)) or
                                                          [None])[-1])  # fmt: skip
    assert list(root) == ["vda"]
    volume = cli(demo, "volume", "create", "--size", "1", "vol-1")["id"]
    wait_for("volume available", lambda: volume_status(demo, volume, "available"))

    started = time.monotonic()
    cli(demo, "server", "add", "volume", server, volume, json_out=False)
    wait_for("volume in-use", lambda: volume_status(demo, volume, "in-use"))
    attached = wait_for(
        "the guest sees vdb", lambda: disks_seen(demo, server, {**root, "vdb": GIB})
    )
    print(f"\nattach: the guest saw the volume after {time.monotonic() - started:.0f} s")
    assert attached == {**root, "vdb": GIB}

    cli(demo, "server", "remove", "volume", server, volume, json_out=False)
    wait_for("volume available again", lambda: volume_status(demo, volume, "available"))
    wait_for("the guest lost vdb", lambda: disks_seen(demo, server, root))

    snapshot = cli(demo, "volume", "snapshot", "create", "--volume", volume, "snap-1")["id"]
    wait_for("snapshot available", lambda: cli(demo, "volume", "snapshot", "show", snapshot)[
        "status"] == "available" or None)  # fmt: skip
    cli(demo, "volume", "set", "--size", "2", volume, json_out=False)
    wait_for("volume extended", lambda: cli(demo, "volume", "show", volume)["size"] == 2 or None)


def test_a_server_boots_from_a_volume_cloned_from_the_image_in_ceph(lab: AioLab, demo: str) -> None:
    image = cli(demo, "image", "show", TEST_IMAGE)["id"]
    volume = cli(demo, "volume", "create", "--size", "1", "--image", image, "boot-vol")["id"]
    wait_for("volume from the image available", lambda: volume_status(demo, volume, "available"))
    rbd = subprocess.run(
        [STACKLAB, "ssh", "--lab", lab.name, "aio", "--", "rbd", "info", "--format", "json",
         f"volumes/volume-{volume}"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert rbd.returncode == 0, rbd.stderr
    parent = json.loads(rbd.stdout)["parent"]  # a clone, not a copy
    assert (parent["pool"], parent["image"]) == ("images", image)

    server = boot(lab, demo, "vol-boot", "--volume", volume)
    attachments = cli(demo, "volume", "show", volume)["attachments"]
    assert [a["server_id"] for a in attachments] == [server]
    markers = wait_for("the guest booted with its disk", lambda: (
        found if (found := read_markers(console(demo, server))).disk else None))  # fmt: skip
    assert markers.booted and markers.disk == ("vda", GIB)
