"""Mounts on this host, read from /proc/self/mountinfo, and unmounting them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacklab.runner import Runner

MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class Mount:
    point: Path
    fstype: str
    source: str
    options: str


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        before, _, after = line.partition(" - ")
        fields = before.split()
        tail = after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mounts.append(Mount(Path(_unescape(fields[4])), tail[0], _unescape(tail[1]), tail[2]))
    return mounts


def current_mounts() -> list[Mount]:
    return parse_mountinfo(MOUNTINFO.read_text(encoding="utf-8"))


def is_mounted(point: Path) -> bool:
    # the kernel lists mount points resolved; a lab's directory may be reached through a symlink
    resolved = point.resolve()
    return any(mount.point == resolved for mount in current_mounts())


def mounts_below(path: Path) -> list[Mount]:
    """Mounts at or under `path`, deepest first (the order to unmount them in)."""
    path = path.resolve()
    found = [m for m in current_mounts() if m.point == path or path in m.point.parents]
    return sorted(found, key=lambda mount: len(mount.point.parts), reverse=True)


def unmount_all_below(runner: Runner, path: Path) -> None:
    """Unmount everything at or under `path`; lazily if it is still busy."""
    for mount in mounts_below(path):
        if not runner.run(["umount", str(mount.point)], check=False).ok:
            runner.run(["umount", "--lazy", str(mount.point)], fix=f"see `fuser -vm {mount.point}`")
