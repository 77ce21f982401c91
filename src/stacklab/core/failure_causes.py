"""Causes that a failed command's output gives away, with what the user does about them:
a full disk, and a package mirror (or the apt cache in front of it) that stopped answering.
Read from the words apt, dpkg, tar and cp print, so any step that runs them can tell."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    what: str
    fix: str


_DISK_FULL = re.compile(
    r"No space left on device|You don't have enough free space in|\(28: No space left|"
    r"Disk quota exceeded"
)
# apt, through the host's apt cache or straight to the mirror: refused, unresolved, timed
# out, or an HTTP error from the proxy (503/502/504 when the cache cannot reach the mirror).
_MIRROR_GONE = re.compile(
    r"Could not connect to|Unable to connect to|Failed to fetch|Temporary failure resolving|"
    r"Could not resolve|Connection timed out|Connection failed|Unable to fetch some archives|"
    r"\b50[234]\s+(?:Service Unavailable|Bad Gateway|Gateway Time-?out|Host not found|"
    r"Connection failed)"
)
_FULL_PATH = re.compile(r"enough free space in (\S+?)\.?$|writing '([^']+)'|^tar: ([^:]+): ")


def _disk_full(lines: list[str]) -> Cause:
    path = next(
        (next(group for group in match.groups() if group) for line in lines
         if (match := _FULL_PATH.search(line))),
        None,
    )  # fmt: skip
    where = f" (writing {path})" if path else ""
    return Cause(
        what=f"the disk is full{where}: no space left on the device",
        fix="free space on the file system that holds the lab (the host's for local nodes: "
        "`df -h` shows which is full; `apt-get clean` on a node frees its package cache), "
        "then `stacklab up` again: it resumes at this step",
    )


def _mirror_gone(lines: list[str]) -> Cause:
    failed = next((line for line in lines if _MIRROR_GONE.search(line) and "://" in line), "")
    url = re.search(r"https?://\S+", failed)
    where = f" ({url.group(0)})" if url else ""
    return Cause(
        what=f"the package mirror or the apt cache in front of it did not answer{where}",
        fix="check that this host reaches its Debian mirror (`apt-get update` on the host) "
        "and, for local labs, that apt-cacher-ng runs (port 3142); then `stacklab up` again: "
        "it resumes at this step and downloads only what is missing",
    )


def cause_of(output: Iterable[str]) -> Cause | None:
    """The cause a failed command's output shows, else None. A full disk wins: apt fails to
    fetch when it cannot write, not the other way round."""
    lines = [line.strip() for line in output if line.strip()]
    if any(_DISK_FULL.search(line) for line in lines):
        return _disk_full(lines)
    if any(_MIRROR_GONE.search(line) for line in lines):
        return _mirror_gone(lines)
    return None
