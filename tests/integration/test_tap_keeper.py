"""The tap keeper that the chassis of a userspace-datapath node runs, for real in a network
namespace of its own: guests' taps that go down (ovs-vswitchd writing back flags it read
before libvirt brought the tap up) come back up; other interfaces are left alone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from stacklab.installer.ansible import DATA_DIR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("unshare", "nsenter", "ip")),
        reason="needs util-linux's unshare and nsenter and iproute2",
    ),
]

KEEPER = DATA_DIR / "roles" / "ovn_chassis" / "files" / "stacklab-tap-keeper"


@pytest.fixture
def keeper_namespace() -> Iterator[int]:
    """The pid of a tap keeper started in a new network namespace that already holds a
    down tap `tapearly` and a down tap named `other0`."""
    setup = "ip tuntap add dev tapearly mode tap && ip tuntap add dev other0 mode tap"
    keeper = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", f"{setup} && exec sh {KEEPER}"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not has_devices(keeper.pid, "tapearly", "other0"):
            assert time.monotonic() < deadline, "the namespace's taps were never made"
            time.sleep(0.05)
        yield keeper.pid
    finally:
        os.killpg(keeper.pid, signal.SIGTERM)
        keeper.wait(timeout=10)


def has_devices(pid: int, *devices: str) -> bool:
    listed = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-o", "link", "show"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    names = {line.split()[1].rstrip(":") for line in listed.splitlines()}
    return set(devices) <= names


def in_namespace(pid: int, *command: str) -> str:
    return subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", *command],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def is_up(pid: int, device: str) -> bool:
    flags = in_namespace(pid, "ip", "-o", "link", "show", "dev", device).split()[2]
    return "UP" in flags.strip("<>").split(",")


def becomes_up(pid: int, device: str, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_up(pid, device):
            return True
        time.sleep(0.1)
    return False


def test_a_tap_down_at_start_is_brought_up(keeper_namespace: int) -> None:
    assert becomes_up(keeper_namespace, "tapearly")


def test_a_tap_set_down_later_comes_back_up(keeper_namespace: int) -> None:
    assert becomes_up(keeper_namespace, "tapearly")
    in_namespace(keeper_namespace, "ip", "tuntap", "add", "dev", "taplate", "mode", "tap")
    assert becomes_up(keeper_namespace, "taplate")
    in_namespace(keeper_namespace, "ip", "link", "set", "dev", "taplate", "down")
    assert becomes_up(keeper_namespace, "taplate")


def test_interfaces_that_are_not_taps_are_left_down(keeper_namespace: int) -> None:
    assert becomes_up(keeper_namespace, "tapearly")
    time.sleep(0.5)
    assert not is_up(keeper_namespace, "other0")
