"""apt helpers with a fake Runner: metapackage resolution, download, lists refreshed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacklab.errors import CommandError
from stacklab.images.debian_packages import AptPackages, extract_package
from stacklab.runner import Completed

DEPENDS = """linux-image-amd64
  Depends: linux-image-6.1.0-99-amd64
  |Recommends: firmware-linux-free
"""


class FakeApt:
    """apt that has no lists until `apt-get update` ran (if stale), and writes .deb files."""

    where = "host"

    def __init__(
        self, *, stale_lists: bool = False, broken: bool = False, update_helps: bool = True
    ) -> None:
        self.commands: list[list[str]] = []
        self.have_lists = not stale_lists
        self.broken = broken
        self.update_helps = update_helps

    def run(
        self,
        command: list[str],
        *,
        check: bool = True,
        input_text: str | None = None,
        timeout: float | None = None,
        fix: str | None = None,
    ) -> Completed:
        self.commands.append(command)
        if command == ["apt-get", "update"]:
            self.have_lists = self.update_helps
            return Completed(tuple(command), 0, "", "")
        if self.broken:
            return self._fail(command, check, "E: Failed to fetch http://mirror.example.test/x")
        if not self.have_lists:
            return self._fail(command, check, "E: Unable to locate package linux-image-amd64")
        if command[:2] == ["apt-cache", "depends"]:
            return Completed(tuple(command), 0, DEPENDS, "")
        if "download" in command:
            directory = Path(command[2])
            for package in command[5:]:
                (directory / f"{package}_1.0-1_amd64.deb").write_bytes(b"deb")
        return Completed(tuple(command), 0, "", "")

    def _fail(self, command: list[str], check: bool, message: str) -> Completed:
        if check:
            raise CommandError(command, 100, message)
        return Completed(tuple(command), 100, "", message)


def test_metapackage_resolves_to_the_versioned_kernel_package() -> None:
    apt = FakeApt()
    assert AptPackages(apt).dependency_of("linux-image-amd64", "linux-image-") == (
        "linux-image-6.1.0-99-amd64"
    )
    assert ["apt-get", "update"] not in apt.commands


def test_download_writes_into_the_destination_and_returns_each_file(tmp_path: Path) -> None:
    apt = FakeApt()
    debs = AptPackages(apt).download(["busybox-static", "linux-image-x"], tmp_path / "debs")

    assert debs["busybox-static"] == tmp_path / "debs" / "busybox-static_1.0-1_amd64.deb"
    assert debs["linux-image-x"].is_file()
    assert apt.commands[0][:3] == ["env", "-C", str(tmp_path / "debs")]


def test_missing_lists_are_refreshed_once_for_all_later_commands(tmp_path: Path) -> None:
    apt = FakeApt(stale_lists=True)
    packages = AptPackages(apt)

    assert packages.dependency_of("linux-image-amd64", "linux-image-").endswith("-amd64")
    packages.download(["busybox-static"], tmp_path)

    assert apt.commands.count(["apt-get", "update"]) == 1
    assert apt.commands.index(["apt-get", "update"]) == 1  # right after the first failure


def test_a_package_missing_even_after_the_update_is_an_error_not_a_loop(tmp_path: Path) -> None:
    apt = FakeApt(stale_lists=True, update_helps=False)
    packages = AptPackages(apt)
    with pytest.raises(CommandError):
        packages.dependency_of("linux-image-amd64", "linux-image-")
    with pytest.raises(CommandError):
        packages.download(["busybox-static"], tmp_path)

    assert apt.commands.count(["apt-get", "update"]) == 1


def test_other_apt_failures_are_not_papered_over_with_an_update(tmp_path: Path) -> None:
    apt = FakeApt(broken=True)
    with pytest.raises(CommandError) as raised:
        AptPackages(apt).download(["busybox-static"], tmp_path)

    assert "Failed to fetch" in raised.value.output
    assert ["apt-get", "update"] not in apt.commands
    assert raised.value.fix and "apt-get download busybox-static" in raised.value.fix


def test_extract_uses_dpkg_deb_x(tmp_path: Path) -> None:
    apt = FakeApt()
    extract_package(apt, tmp_path / "p.deb", tmp_path / "out")
    assert apt.commands == [["dpkg-deb", "-x", str(tmp_path / "p.deb"), str(tmp_path / "out")]]
    assert (tmp_path / "out").is_dir()
