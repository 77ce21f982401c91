"""What the block storage tests share (the AIO's and the multinode lab's): the openstack CLI
with the clouds.yaml a lab wrote, waiting for a state, and the test image's list of virtio
disks on its console (it prints the list again at every change), which is how a test sees
that a guest got or lost a volume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from stacklab.images.console_markers import disk_lists

OPENSTACK = str(Path(sys.executable).with_name("openstack"))
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


def latest_disks(cloud: str, server: str) -> dict[str, int] | None:
    """The guest's latest list of disks (device to bytes), None before it printed one."""
    lists = disk_lists(console(cloud, server))
    return lists[-1] if lists else None


def disks_seen(cloud: str, server: str, wanted: dict[str, int]) -> dict[str, int] | None:
    """The guest's latest list of disks, once it is `wanted`."""
    latest = latest_disks(cloud, server)
    return latest if latest == wanted else None


def attach(cloud: str, server: str, volume: str) -> tuple[dict[str, int], float]:
    """Attach the available 1 GiB `volume` to the running `server` and wait until the guest
    lists it as vdb. Returns the guest's disks from before (for `detach`) and the seconds
    from the attach call to the guest listing the volume."""
    root = wait_for("the guest lists its disks", lambda: latest_disks(cloud, server))
    assert list(root) == ["vda"], root
    started = time.monotonic()
    cli(cloud, "server", "add", "volume", server, volume, json_out=False)
    wait_for("volume in-use", lambda: volume_status(cloud, volume, "in-use"))
    wait_for("the guest sees vdb", lambda: disks_seen(cloud, server, {**root, "vdb": GIB}))
    return root, time.monotonic() - started


def detach(cloud: str, server: str, volume: str, root: dict[str, int]) -> None:
    """Detach `volume` and wait until it is available and the guest lists only `root`."""
    cli(cloud, "server", "remove", "volume", server, volume, json_out=False)
    wait_for("volume available again", lambda: volume_status(cloud, volume, "available"))
    wait_for("the guest lost vdb", lambda: disks_seen(cloud, server, root))
