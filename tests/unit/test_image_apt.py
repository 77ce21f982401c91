"""What the image build asks apt: a package's dependency closure and the .deb files it would
fetch, both answered from apt's index without downloading anything."""

from __future__ import annotations

import pytest

from stacklab.errors import CommandError
from stacklab.images.debian_packages import AptPackages, DebFile
from stacklab.runner import Completed

RECURSIVE_DEPENDS = """dropbear-bin
  Depends: libc6
 |Depends: libtomcrypt1
  Depends: <libtomcrypt-virtual>
    libtomcrypt1
libc6
  Depends: libgcc-s1
libtomcrypt1
  Depends: libc6
libgcc-s1
<libtomcrypt-virtual>
"""
PRINT_URIS = (
    "'file:/pool/b/busybox-static_1%3a1.35.0-4_amd64.deb' "
    "busybox-static_1%3a1.35.0-4_amd64.deb 928188 SHA256:3d3f\n"
    "'file:/pool/l/libc6_2.36-9_amd64.deb' libc6_2.36-9_amd64.deb 2759320 SHA256:ba4f\n"
)


class ScriptedApt:
    where = "host"

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout
        self.commands: list[list[str]] = []

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
        return Completed(tuple(command), 0, self.stdout, "")


def test_the_closure_holds_real_packages_only_and_follows_nothing_but_depends() -> None:
    apt = ScriptedApt(RECURSIVE_DEPENDS)
    closure = AptPackages(apt).dependency_closure("dropbear-bin")

    assert closure == ["dropbear-bin", "libc6", "libgcc-s1", "libtomcrypt1"]
    assert apt.commands[0][:3] == ["apt-cache", "depends", "--recurse"]
    assert {"--no-recommends", "--no-suggests"} <= set(apt.commands[0])


def test_package_files_come_from_the_index_with_name_size_and_checksum() -> None:
    apt = ScriptedApt(PRINT_URIS)
    files = AptPackages(apt).package_files(["libc6", "busybox-static"])

    assert files["busybox-static"] == DebFile(
        "busybox-static", "busybox-static_1%3a1.35.0-4_amd64.deb", 928188, "SHA256:3d3f"
    )
    assert files["libc6"].size == 2759320
    assert apt.commands == [["apt-get", "download", "--print-uris", "libc6", "busybox-static"]]


def test_a_package_apt_would_not_fetch_is_an_error_that_names_it() -> None:
    with pytest.raises(CommandError) as raised:
        AptPackages(ScriptedApt(PRINT_URIS)).package_files(["libc6", "zlib1g"])
    assert "nothing to download for zlib1g" in raised.value.output
    assert raised.value.fix and "zlib1g" in raised.value.fix
