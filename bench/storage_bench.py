"""What Ceph and Cinder cost a lab node, and how a server boots from an RBD clone against
today's image path, on a running local lab with services.cinder on.

- memory: the PSS of every process in the node, summed per service (ceph-mon, ceph-mgr,
  ceph-osd, cinder-api, cinder-scheduler, cinder-volume and Cinder's privsep helpers; the
  rest as "other"), after the lab has settled;
- boot: servers of the test image made one after the other, alternating (a) today's image
  path (Nova copies the image from Glance to a local disk of the instance) and (b) boot from
  a new volume made of the image (Cinder clones the image's RBD snapshot in Ceph: Glance
  keeps its images there when Cinder is on); seconds from the create call to ACTIVE and to
  the guest's boot marker on its console.

Run as root from the lab's home (its stacklab.yaml, and XDG_STATE_HOME/XDG_CONFIG_HOME as
`up` had them): .venv/bin/python bench/storage_bench.py LAB [--node aio] [--boots 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable

import openstack
from openstack.connection import Connection

from labbench import node_memory

SERVICE = re.compile(
    rb"(ceph-mon|ceph-mgr|ceph-osd|cinder-api|cinder-scheduler|cinder-volume|octavia-api"
    rb"|octavia-driver-agent)"
)
CEPH_AND_CINDER = (
    "ceph-mon", "ceph-mgr", "ceph-osd", "cinder-api", "cinder-scheduler", "cinder-volume",
    "cinder privsep",
)  # fmt: skip


def service_of(argv: list[bytes]) -> str:
    """The service a process belongs to, from its command line (uwsgi's --ini names the API;
    privsep helpers name their service's configuration)."""
    command = b" ".join(argv)
    if b"privsep-helper" in command and b"/etc/cinder/" in command:
        return "cinder privsep"
    found = SERVICE.search(command)
    return found.group(1).decode() if found else "other"


def memory(lab: str, node: str) -> None:
    total, per_service = node_memory(lab, node, service_of)
    added = sum(per_service[name] for name in CEPH_AND_CINDER)
    print(f"memory of node {node} (PSS): {total / 1024:.0f} MiB in all")
    for name in (*CEPH_AND_CINDER, "octavia-api", "octavia-driver-agent"):
        print(f"  {per_service[name] / 1024:6.0f} MiB {name}")
    print(f"Ceph and Cinder together: {added / 1024:.0f} MiB")


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 900) -> float:
    """Seconds until probe() holds."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if probe():
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"not within {timeout:.0f} s: {what}")


def boot_once(conn: Connection, name: str, from_volume: bool) -> tuple[float, float]:
    """Seconds from the create call to ACTIVE and to the boot marker; the server is deleted."""
    from stacklab.bootstrap.resources import TENANT_NETWORK, TEST_IMAGE, VERIFY_FLAVOR
    from stacklab.images.console_markers import BOOTED

    image = conn.image.find_image(TEST_IMAGE)
    flavor = conn.compute.find_flavor(VERIFY_FLAVOR)
    network = conn.network.find_network(TENANT_NETWORK)
    source: dict[str, object] = {"image_id": image.id}
    if from_volume:
        source = {
            "block_device_mapping_v2": [{
                "boot_index": 0, "uuid": image.id, "source_type": "image",
                "destination_type": "volume", "volume_size": 1, "delete_on_termination": True,
            }],
        }  # fmt: skip
    started = time.monotonic()
    server = conn.compute.create_server(
        name=name, flavor_id=flavor.id, networks=[{"uuid": network.id}], **source
    )

    def active() -> bool:
        status = conn.compute.get_server(server.id).status
        if status == "ERROR":
            raise SystemExit(f"{name} went to ERROR: {conn.compute.get_server(server.id).fault}")
        return bool(status == "ACTIVE")

    wait_for(f"{name} ACTIVE", active)
    to_active = time.monotonic() - started
    wait_for(
        f"{name} booted",
        lambda: BOOTED in str(conn.compute.get_server_console_output(server.id)["output"]),
    )
    to_booted = time.monotonic() - started
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=300)
    return to_active, to_booted


def boots(lab: str, count: int) -> None:
    conn = openstack.connect(cloud=f"{lab}-demo")
    try:
        results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for number in range(count):
            for from_volume in (False, True):
                kind = "volume" if from_volume else "image"
                took = boot_once(conn, f"bench-{kind}-{number}", from_volume)
                results[from_volume].append(took)
                print(f"  {kind:6} #{number}: ACTIVE {took[0]:5.1f} s, booted {took[1]:5.1f} s")
        for from_volume, label in ((False, "image path (local disk)"), (True, "RBD clone")):
            taken = results[from_volume]
            print(
                f"{label}: ACTIVE median {statistics.median(t[0] for t in taken):.1f} s, "
                f"booted median {statistics.median(t[1] for t in taken):.1f} s ({count} boots)"
            )
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab")
    parser.add_argument("--node", default="aio", help="the node with Ceph and cinder-volume")
    parser.add_argument("--boots", type=int, default=3, help="servers of each kind")
    options = parser.parse_args()
    memory(options.lab, options.node)
    boots(options.lab, options.boots)


if __name__ == "__main__":
    main()
