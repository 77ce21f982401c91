"""The lines the test image prints on its console, and reading them back from a console log.

`stacklab verify` reads Nova's console log with these; the image's /init prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOOTED = "STACKLAB-BOOTED"
DISK = "STACKLAB-DISK"  # "STACKLAB-DISK vda <bytes>": the virtio disk is there
# "STACKLAB-DISKS vda:<bytes> vdb:<bytes>": the virtio disks, printed again at every change
DISKS = "STACKLAB-DISKS"
ADDRESS = "STACKLAB-ADDRESS"  # "STACKLAB-ADDRESS <ipv4>"
DHCP_FAILED = "STACKLAB-DHCP-FAILED"
METADATA_OK = "STACKLAB-METADATA-OK"  # "STACKLAB-METADATA-OK <instance id>"
METADATA_FAILED = "STACKLAB-METADATA-FAILED"  # "STACKLAB-METADATA-FAILED <why>"
HOSTNAME = "STACKLAB-HOSTNAME"  # "STACKLAB-HOSTNAME <name>": set from the metadata
HOSTNAME_FAILED = "STACKLAB-HOSTNAME-FAILED"  # "STACKLAB-HOSTNAME-FAILED <why>"
SSH_READY = "STACKLAB-SSH-READY"
# "STACKLAB-HTTP-READY <port>": GET / on the port answers with the guest's hostname
HTTP_READY = "STACKLAB-HTTP-READY"
HTTP_UNAVAILABLE = "STACKLAB-HTTP-UNAVAILABLE"  # "STACKLAB-HTTP-UNAVAILABLE <why>"
SSH_UNAVAILABLE = "STACKLAB-SSH-UNAVAILABLE"  # "STACKLAB-SSH-UNAVAILABLE <why>"

# Kernel messages can land in the middle of a marker's line, so nothing is anchored to a
# line start and every value stops at the first blank (the console adds "\r\n").
_ADDRESS = re.compile(ADDRESS + r" (\d{1,3}(?:\.\d{1,3}){3})\b")
_DISK = re.compile(DISK + r" (\w+) (\d+)")
_DISKS = re.compile(DISKS + r"((?: vd[a-z]+:\d+)*)")
_METADATA_OK = re.compile(METADATA_OK + r" (\S+)")
_HOSTNAME = re.compile(HOSTNAME + r" ([A-Za-z0-9-]+)")
_WHY = r" ([^\r\n]*)"


@dataclass(frozen=True)
class ConsoleMarkers:
    booted: bool
    disk: tuple[str, int] | None  # (device, bytes)
    address: str | None
    dhcp_failed: bool
    instance_id: str | None
    metadata_failure: str | None
    hostname: str | None  # None: not set yet, or by an image older than the marker
    hostname_failure: str | None
    ssh_ready: bool
    ssh_unavailable: str | None
    http_ready: bool = False  # an image older than the marker never says it

    @property
    def finished(self) -> bool:
        """True once the guest has printed all it will: metadata done and SSH decided."""
        metadata_done = self.instance_id is not None or self.metadata_failure is not None
        return metadata_done and (self.ssh_ready or self.ssh_unavailable is not None)


def read_markers(console: str) -> ConsoleMarkers:
    address = _ADDRESS.search(console)
    disk = _DISK.search(console)
    instance = _METADATA_OK.search(console)
    hostname = _HOSTNAME.search(console)
    return ConsoleMarkers(
        booted=BOOTED in console,
        disk=(disk.group(1), int(disk.group(2))) if disk else None,
        address=address.group(1) if address else None,
        dhcp_failed=DHCP_FAILED in console,
        instance_id=instance.group(1) if instance else None,
        metadata_failure=_reason(METADATA_FAILED, console),
        hostname=hostname.group(1) if hostname else None,
        hostname_failure=_reason(HOSTNAME_FAILED, console),
        ssh_ready=SSH_READY in console,
        ssh_unavailable=_reason(SSH_UNAVAILABLE, console),
        http_ready=HTTP_READY in console,
    )


def disk_lists(console: str) -> list[dict[str, int]]:
    """Each list of virtio disks the guest printed, oldest first: device name to bytes."""
    return [
        {name: int(size) for name, size in (item.split(":") for item in found.split())}
        for found in _DISKS.findall(console)
    ]


def _reason(marker: str, console: str) -> str | None:
    found = re.search(marker + _WHY, console)
    return found.group(1).strip() if found else None
