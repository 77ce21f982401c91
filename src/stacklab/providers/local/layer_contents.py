"""What of a node's overlay upper dir goes into a package layer, the layer that other labs'
nodes start from. Pure: a rule per path inside the node's root.

The layer must hold what installing the packages made, and nothing that belongs to the
node it was taken from: its identity (host keys, machine-id, hostname, hosts, networkd
files, authorized_keys, the keys some packages generate at install time), what stacklab
writes into every node anyway (apt sources and proxy), logs, apt's downloaded .debs and
package lists, and temporary files. Each node makes what is missing anew: the provider
writes its files and host keys, the installer's roles the service keys.

Nor does a node boot with the packages' services running: without a layer the packages
phase installs them without starting any (policy-rc.d), and each later phase starts its
own, configured. So the links that enable the services at boot are kept out of the layer
and listed in it; the packages phase makes them again, starting nothing.
"""

from __future__ import annotations

from enum import StrEnum
from fnmatch import fnmatchcase

from stacklab.providers.local.node_files import (
    APT_PROXY_FILE,
    NETWORKD_DIR,
    NETWORKD_PREFIX,
    SOURCES_FILE,
    USER_MANAGER_FILES,
)


class Keep(StrEnum):
    ALL = "all"
    NOTHING = "nothing"  # the file, or the directory with everything in it
    EMPTY = "empty"  # a log file: kept with its owner and mode (services write to it), no text
    DEFERRED = "deferred"  # a link that enables a unit at boot: listed, made by the packages phase


# Patterns (fnmatch, on the path relative to the node's root) of what the layer leaves out.
LEFT_OUT: tuple[str, ...] = (
    # identity of the node, or files stacklab writes into every node at each boot
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/machine-id",
    "var/lib/dbus/machine-id",
    "etc/ssh/ssh_host_*",
    f"{NETWORKD_DIR}/{NETWORKD_PREFIX}*",
    SOURCES_FILE,
    APT_PROXY_FILE,
    *USER_MANAGER_FILES,
    "root/.ssh",
    "root/.ansible",
    "root/.cache",
    "root/.*_history",
    "var/lib/systemd/random-seed",
    "var/lib/systemd/credential.secret",
    # secrets packages generate when installed; the roles (or the services) make new ones
    "etc/keystone/fernet-keys",
    "etc/keystone/credential-keys",
    "var/lib/rabbitmq/.erlang.cookie",
    "etc/ssl/private/ssl-cert-snakeoil.key",
    "etc/ssl/certs/ssl-cert-snakeoil.pem",
    # downloads, caches and scratch space
    "var/cache/apt/archives/*.deb",
    "var/cache/apt/*.bin",
    "var/lib/apt/lists/*_*",
    "var/log/journal/*",
    "tmp/*",
    "var/tmp/*",
)
# Regular files only: a whiteout (a character device) stays what it is.
EMPTIED: tuple[str, ...] = ("var/log/*",)
# Symbolic links only (`systemctl enable` makes them; aliases elsewhere stay).
ENABLEMENT_LINKS: tuple[str, ...] = tuple(
    f"etc/systemd/system/*.{kind}/*" for kind in ("wants", "requires", "upholds")
)
# Where the layer lists them ("LINK TARGET" a line, LINK relative to the root), for the
# packages phase (roles/packages) to make again.
UNITS_TO_ENABLE = "var/lib/stacklab/units-to-enable"


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    # fnmatch's `*` also matches `/`: a pattern names a path and everything below it only
    # where that is meant (`tmp/*`); exact names match themselves alone.
    return any(fnmatchcase(path, pattern) for pattern in patterns)


def keep(path: str, *, regular_file: bool, symlink: bool = False) -> Keep:
    """What the layer keeps of `path` (relative to the root, no leading `/`)."""
    path = path.strip("/")
    if any(_matches(part, LEFT_OUT) for part in (*_parents(path), path)):
        return Keep.NOTHING
    if regular_file and _matches(path, EMPTIED):
        return Keep.EMPTY
    if symlink and _matches(path, ENABLEMENT_LINKS):
        return Keep.DEFERRED
    return Keep.ALL


def units_to_enable(links: list[tuple[str, str]]) -> str:
    """The list of deferred enablement links: (link relative to the root, its target)."""
    return "".join(f"{link} {target}\n" for link, target in sorted(links))


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:index]) for index in range(1, len(parts))]
