"""Fake SSH hosts for the ssh provider's unit tests (this module has no tests of its own).

Each host is a directory. The runner takes the `ssh ... user@address sh -s` that the provider
runs and feeds its script to a real `sh`, with the host's paths moved into that directory and
`id` and `ip` answered from files there, so the marker scripts run exactly as on a host.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from pathlib import Path

from stacklab.runner import Completed

DEBIAN_13 = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_CODENAME=trixie\n'
MOVED = ("/etc/stacklab", "/etc/os-release", "/usr/bin/python3")
# Stand-ins for `id` and `ip` that read and change the host directory's files.
TOOLS = r"""
id() { cat "$ROOT/uid"; }
ip() {
  case "$*" in
    "-o link show") cat "$ROOT/links" ;;
    "-o -4 addr show") cat "$ROOT/addrs" ;;
    "-4 addr show dev "*) awk -v d="$5" '$2==d' "$ROOT/addrs" ;;
    "addr add "*) echo "9: $5    inet $3 scope global $5" >> "$ROOT/addrs" ;;
    "addr del "*) grep -v "inet $3 " "$ROOT/addrs" > "$ROOT/addrs.new"
                  mv "$ROOT/addrs.new" "$ROOT/addrs" ;;
    *) : ;;
  esac
  echo "ip $*" >> "$ROOT/ip.log"
}
"""


@dataclass
class FakeHost:
    root: Path
    address: str
    interfaces: dict[str, list[str]]  # name -> addresses with prefix
    uid: int = 0
    os_release: str = DEBIAN_13
    python: bool = True
    mtu: int = 1500
    accepts_key: bool = True

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "etc").mkdir(exist_ok=True)
        (self.root / "etc" / "os-release").write_text(self.os_release)
        (self.root / "uid").write_text(f"{self.uid}\n")
        if self.python:
            (self.root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
            python = self.root / "usr" / "bin" / "python3"
            python.write_text("")
            python.chmod(0o755)
        links, addrs = [], []
        for index, (name, addresses) in enumerate(self.interfaces.items(), start=2):
            links.append(
                f"{index}: {name}@if{index + 10}: <BROADCAST,MULTICAST,UP,LOWER_UP> "
                f"mtu {self.mtu} qdisc noqueue state UP mode DEFAULT group default qlen 1000"
            )
            addrs += [
                f"{index}: {name}    inet {a} brd 10.255.255.255 scope global {name}\\"
                "       valid_lft forever preferred_lft forever"
                for a in addresses
            ]
        (self.root / "links").write_text("".join(f"{line}\n" for line in links))
        (self.root / "addrs").write_text("".join(f"{line}\n" for line in addrs))

    @property
    def marker(self) -> Path:
        return self.root / "etc" / "stacklab" / "lab"

    def addresses(self) -> set[tuple[str, IPv4Interface]]:
        held = set()
        for line in (self.root / "addrs").read_text().splitlines():
            parts = line.split()
            held.add((parts[1], IPv4Interface(parts[3])))
        return held


@dataclass
class FakeHosts:
    """A Runner whose `ssh` reaches the fake hosts by address."""

    hosts: dict[str, FakeHost] = field(default_factory=dict)
    where: str = "host"
    scripts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, host: FakeHost) -> FakeHost:
        self.hosts[host.address] = host
        return host

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed:
        assert command[0] == "ssh" and command[-2:] == ["sh", "-s"] and "BatchMode=yes" in command
        address = command[-3].split("@", 1)[1]
        host = self.hosts.get(address)
        if host is None:
            return Completed(
                tuple(command), 255, "", f"ssh: connect to host {address} port 22: timed out\n"
            )
        if not host.accepts_key:
            return Completed(tuple(command), 255, "", f"root@{address}: Permission denied.\n")
        script = input_text or ""
        self.scripts.append((address, script))
        for path in MOVED:
            script = script.replace(path, f"{host.root}{path}")
        proc = subprocess.run(
            ["sh", "-c", f'ROOT="{host.root}"\n{TOOLS}\n{script}'],
            capture_output=True,
            text=True,
            check=False,
        )
        return Completed(tuple(command), proc.returncode, proc.stdout, proc.stderr)
