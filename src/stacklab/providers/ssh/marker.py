"""The marker that says a host belongs to a lab, and the scripts that set and remove it.

stacklab did not make these hosts, so the marker is the only sign it has on them: the lab's
name, the node the host plays, and each address stacklab put on an interface (so `down`
takes back exactly those). Pure: text in, text out; the scripts run through `sh -s`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from ipaddress import IPv4Interface

MARKER_DIR = "/etc/stacklab"
MARKER_FILE = f"{MARKER_DIR}/lab"
# Exit code of the scripts when the host carries another lab's marker.
FOREIGN_EXIT = 3
OWNER_PREFIX = "stacklab-owner:"


@dataclass(frozen=True)
class AddedAddress:
    address: IPv4Interface
    interface: str

    def render(self) -> str:
        return f"{self.address} {self.interface}"


@dataclass(frozen=True)
class Marker:
    lab: str
    node: str
    added: tuple[AddedAddress, ...] = ()

    def render(self) -> str:
        lines = [
            f"# This host belongs to the stacklab lab {self.lab}; `stacklab down {self.lab}` "
            "removes this file and the addresses listed here.",
            f"lab={self.lab}",
            f"node={self.node}",
            *(f"added={added.render()}" for added in self.added),
        ]
        return "\n".join(lines) + "\n"

    def with_added(self, more: tuple[AddedAddress, ...]) -> Marker:
        kept = self.added + tuple(a for a in more if a not in self.added)
        return Marker(self.lab, self.node, kept)


def parse_marker(text: str) -> Marker | None:
    """None when there is no marker (empty text) or it names no lab."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values.setdefault(key, []).append(value.strip())
    lab = (values.get("lab") or [""])[0]
    if not lab:
        return None
    added = []
    for entry in values.get("added", []):
        parts = entry.split()
        if len(parts) == 2:
            try:
                added.append(AddedAddress(IPv4Interface(parts[0]), parts[1]))
            except ValueError:
                continue  # a line edited by hand: not ours to remove
    return Marker(lab, (values.get("node") or [""])[0], tuple(added))


def _owner_guard(lab: str) -> str:
    """Stop (FOREIGN_EXIT, naming the owner) if another lab's marker is on the host."""
    return (
        f"owner=$(sed -n 's/^lab=//p' {MARKER_FILE} 2>/dev/null | head -n1)\n"
        f'if [ -n "$owner" ] && [ "$owner" != {shlex.quote(lab)} ]; then '
        f'echo "{OWNER_PREFIX} $owner"; exit {FOREIGN_EXIT}; fi\n'
    )


def claim_script(marker: Marker, to_add: tuple[AddedAddress, ...]) -> str:
    """Write the marker (refusing a host of another lab), then add the missing addresses.
    The marker lists them before they exist, so an interrupted run leaves none unrecorded."""
    lines = ["set -e", _owner_guard(marker.lab).rstrip("\n"), f"mkdir -p {MARKER_DIR}"]
    lines.append(
        f"printf '%s' {shlex.quote(marker.render())} > {MARKER_FILE}.new && "
        f"mv {MARKER_FILE}.new {MARKER_FILE}"
    )
    for added in to_add:
        device = shlex.quote(added.interface)
        lines.append(f"ip link set dev {device} up")
        lines.append(
            f"ip -4 addr show dev {device} | grep -qw 'inet {added.address}' || "
            f"ip addr add {added.address} dev {device}"
        )
    return "\n".join(lines) + "\n"


def release_script(lab: str, added: tuple[AddedAddress, ...]) -> str:
    """Remove the addresses stacklab added and the marker; nothing on a host of another lab."""
    lines = [_owner_guard(lab).rstrip("\n")]
    lines += [
        f"ip addr del {a.address} dev {shlex.quote(a.interface)} 2>/dev/null || true" for a in added
    ]
    lines.append(f"rm -f {MARKER_FILE} {MARKER_FILE}.new")
    lines.append(f"rmdir {MARKER_DIR} 2>/dev/null || true")
    return "\n".join(lines) + "\n"


def foreign_owner(output: str) -> str | None:
    """The other lab a script found on the host, from its output."""
    for line in output.splitlines():
        if line.startswith(OWNER_PREFIX):
            return line[len(OWNER_PREFIX) :].strip()
    return None
