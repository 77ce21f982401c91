"""The programs stacklab runs on this host, the Debian package that ships each, and who
needs it: the one list that `doctor` checks and the local provider's preflight refuses on."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class HostTool:
    program: str
    package: str
    local_nodes: bool  # the local provider runs it to make and reach nodes
    doctor: bool  # `stacklab doctor` reports on it (the probe guest needs qemu)


HOST_TOOLS: tuple[HostTool, ...] = (
    HostTool("systemd-nspawn", "systemd-container", local_nodes=True, doctor=True),
    HostTool("debootstrap", "debootstrap", local_nodes=True, doctor=True),
    HostTool("nft", "nftables", local_nodes=True, doctor=True),
    HostTool("ip", "iproute2", local_nodes=True, doctor=True),
    HostTool("qemu-system-x86_64", "qemu-system-x86", local_nodes=False, doctor=True),
    HostTool("mount", "mount", local_nodes=True, doctor=False),
    HostTool("setsid", "util-linux", local_nodes=True, doctor=False),
    HostTool("ssh", "openssh-client", local_nodes=True, doctor=False),
    HostTool("ssh-keygen", "openssh-client", local_nodes=True, doctor=False),
)
# Under sudo or a minimal PATH the sbin directories may be missing; the tools live there.
EXTRA_TOOL_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_tool(name: str) -> str | None:
    path = os.environ.get("PATH", "")
    return shutil.which(name, path=os.pathsep.join([path, *EXTRA_TOOL_DIRS]))


def missing_packages(tools: tuple[HostTool, ...]) -> list[str]:
    """The packages to install for the tools not found here, sorted, each once."""
    return sorted({tool.package for tool in tools if find_tool(tool.program) is None})
