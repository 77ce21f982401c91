"""Cinder on the one-node Ceph of the session's real local AIO lab (conftest.py, cinder on):
its services up, a volume attached to a running test-image guest is seen by the guest (its
console lists the virtio disks at every change) and gone again after the detach, snapshot
and extend, and a server booted from a volume that is a copy-on-write clone of the Glance
image in Ceph. All through the openstack CLI with the clouds.yaml the lab wrote. Root, nspawn."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AioLab
from volumes import GIB, attach, cli, console, detach, server_active, volume_status, wait_for

from stacklab.bootstrap.resources import TENANT_NETWORK, TEST_IMAGE, VERIFY_FLAVOR, keypair_name
from stacklab.images.console_markers import read_markers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STACKLAB = str(Path(sys.executable).with_name("stacklab"))


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
    volume = cli(demo, "volume", "create", "--size", "1", "vol-1")["id"]
    wait_for("volume available", lambda: volume_status(demo, volume, "available"))

    root, seen_after = attach(demo, server, volume)
    print(f"\nattach: the guest saw the volume after {seen_after:.0f} s")
    detach(demo, server, volume, root)

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
