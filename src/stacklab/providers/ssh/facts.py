"""What stacklab reads from a host before it uses it: one SSH round trip runs PROBE, and
`parse_facts` turns its output into HostFacts. Pure apart from the script's text."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Interface

from stacklab.doctor.ovs_datapath import FACTS_SCRIPT, KernelFacts, parse_kernel_facts
from stacklab.providers.ssh.marker import MARKER_FILE, Marker, parse_marker

SECTIONS = ("uid", "os-release", "python", "links", "addresses", "marker", "openvswitch")
END = "@end"
# Sent on stdin to `sh -s`: the login shell may be anything, sh is on every Debian.
PROBE = (
    "".join(
        f"echo @{name}; {command}\n"
        for name, command in (
            ("uid", "id -u"),
            ("os-release", "cat /etc/os-release 2>/dev/null"),
            ("python", "test -x /usr/bin/python3 && echo yes"),
            ("links", "ip -o link show 2>/dev/null"),
            ("addresses", "ip -o -4 addr show 2>/dev/null"),
            ("marker", f"cat {MARKER_FILE} 2>/dev/null"),
            ("openvswitch", FACTS_SCRIPT),
        )
    )
    + f"echo {END}\n"
)


@dataclass(frozen=True)
class Link:
    name: str
    mtu: int
    up: bool


@dataclass(frozen=True)
class HostFacts:
    uid: int | None
    os_release: dict[str, str]
    python: bool
    links: dict[str, Link]
    addresses: dict[str, tuple[IPv4Interface, ...]] = field(default_factory=dict)
    marker: Marker | None = None
    ip_tool: bool = True  # `ip` answered (iproute2 installed)
    kernel: KernelFacts | None = None  # what its kernel offers Open vSwitch

    def interface_of(self, address: IPv4Interface) -> str | None:
        """The interface that holds the address (any prefix length), if one does."""
        return next(
            (
                name
                for name, held in self.addresses.items()
                if any(a.ip == address.ip for a in held)
            ),
            None,
        )


class ProbeOutputError(ValueError):
    """The probe's output is cut short or not what the script prints."""


def _sections(output: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    ended = False
    for line in output.splitlines():
        name = line.strip()[1:] if line.startswith("@") else None
        if line.strip() == END:
            ended = True
            break
        if name in SECTIONS:
            current = sections.setdefault(name, [])
        elif current is not None:
            current.append(line)
    if not ended or set(sections) != set(SECTIONS):
        raise ProbeOutputError("the probe's output is incomplete")
    return sections


def parse_os_release(lines: list[str]) -> dict[str, str]:
    values = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def parse_links(lines: list[str]) -> dict[str, Link]:
    """`ip -o link show`: `2: eth0@if5: <BROADCAST,UP,LOWER_UP> mtu 1500 ... state UP ...`."""
    links = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith(":"):
            continue
        name = parts[1].rstrip(":").split("@")[0]
        mtu = int(parts[parts.index("mtu") + 1]) if "mtu" in parts[:-1] else 0
        flags = parts[2].strip("<>").split(",")
        links[name] = Link(name, mtu, "UP" in flags)
    return links


def parse_addresses(lines: list[str]) -> dict[str, tuple[IPv4Interface, ...]]:
    """`ip -o -4 addr show`: `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0`."""
    found: dict[str, list[IPv4Interface]] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[2] != "inet":
            continue
        found.setdefault(parts[1].split("@")[0], []).append(IPv4Interface(parts[3]))
    return {name: tuple(held) for name, held in found.items()}


def parse_facts(output: str) -> HostFacts:
    sections = _sections(output)
    uid_lines = [line.strip() for line in sections["uid"] if line.strip()]
    return HostFacts(
        uid=int(uid_lines[0]) if uid_lines and uid_lines[0].isdigit() else None,
        os_release=parse_os_release(sections["os-release"]),
        python=any(line.strip() == "yes" for line in sections["python"]),
        links=parse_links(sections["links"]),
        addresses=parse_addresses(sections["addresses"]),
        marker=parse_marker("\n".join(sections["marker"])),
        ip_tool=bool(sections["links"]),
        kernel=parse_kernel_facts(sections["openvswitch"]),
    )
