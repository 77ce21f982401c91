"""apt sources parsing (one-line and deb822) and the mirror reachability check."""

from __future__ import annotations

import urllib.error
from email.message import Message
from pathlib import Path

import pytest

from stacklab.doctor.mirror import apt_sources, check_debian_mirror, host_debian_mirror
from stacklab.doctor.models import Requirements, Status


def write(etc: Path, relative: str, text: str) -> None:
    path = etc / "apt" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_one_line_format_with_options_and_comments(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list",
        "# deb http://old.example.test/debian bookworm main\n"
        "deb http://security.example.test/debian-security bookworm-security main\n"
        "deb-src http://src.example.test/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.test/debian/ bookworm"
        " main contrib\n",
    )
    assert host_debian_mirror(tmp_path) == "http://mirror.example.test/debian"


def test_deb822_format_skips_security_disabled_and_non_debian_suites(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list.d/debian.sources",
        "Types: deb\n"
        "URIs: http://security.example.test/debian-security\n"
        "Suites: trixie-security\n"
        "Components: main\n"
        "\n"
        "Types: deb\n"
        "URIs: http://off.example.test/debian\n"
        "Suites: trixie\n"
        "Components: main\n"
        "Enabled: no\n"
        "\n"
        "# a comment between stanzas\n"
        "Types: deb deb-src\n"
        "URIs: https://mirror.example.test/debian\n"
        "Suites: trixie trixie-updates\n"
        "Components: main non-free-firmware\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    )
    write(
        tmp_path,
        "sources.list.d/aaa-vendor.sources",
        "Types: deb\nURIs: https://vendor.example.test/apt\nSuites: nodistro\nComponents: main\n",
    )
    assert host_debian_mirror(tmp_path) == "https://mirror.example.test/debian"


def test_vendor_repositories_and_disabled_files_are_not_debian_mirrors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sources.list.d/a.list",
        "deb https://vendor.example.test/apt tool-bookworm main\n",
    )
    write(tmp_path, "sources.list.d/b.list.disabled", "deb http://x.example.test/debian sid main\n")
    write(tmp_path, "sources.list.d/c.list", "deb http://mirror.example.test/debian sid contrib\n")
    assert host_debian_mirror(tmp_path) is None


def test_sources_list_is_read_before_sources_list_d_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "sources.list.d/b.sources", "Types: deb\nURIs: http://b.example.test/d\n")
    write(tmp_path, "sources.list.d/a.list", "deb http://a.example.test/d bookworm main\n")
    write(tmp_path, "sources.list", "deb http://first.example.test/d bookworm main\n")

    uris = [source.uris[0] for source in apt_sources(tmp_path / "apt")]
    assert uris == [
        "http://first.example.test/d",
        "http://a.example.test/d",
        "http://b.example.test/d",
    ]


def test_no_apt_configuration_at_all(tmp_path: Path) -> None:
    assert host_debian_mirror(tmp_path) is None


def test_reachable_mirror_from_the_spec_passes_and_asks_for_the_release_file() -> None:
    asked: list[tuple[str, float]] = []

    def fetch(url: str, timeout: float) -> int:
        asked.append((url, timeout))
        return 200

    requirements = Requirements(1, 1, "trixie", mirror="http://mirror.example.test/debian/")
    result = check_debian_mirror(requirements, fetch=fetch)

    assert result.status is Status.PASS
    assert asked == [("http://mirror.example.test/debian/dists/trixie/Release", 10.0)]


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (urllib.error.URLError("Name or service not known"), "Name or service not known"),
        (
            urllib.error.HTTPError("u", 404, "Not Found", Message(), None),
            "HTTP 404",
        ),
        (TimeoutError("timed out"), "timed out"),
    ],
)
def test_unreachable_mirror_fails_with_the_spec_fix(error: Exception, shown: str) -> None:
    def fetch(url: str, timeout: float) -> int:
        raise error

    requirements = Requirements(1, 1, "trixie", mirror="http://mirror.example.test/debian")
    result = check_debian_mirror(requirements, fetch=fetch)

    assert result.status is Status.FAIL
    assert shown in result.summary
    assert result.fix == "set provider.mirror in the spec to a reachable Debian mirror"


def test_without_spec_mirror_the_hosts_apt_mirror_is_checked(tmp_path: Path) -> None:
    write(tmp_path, "sources.list", "deb http://mirror.example.test/debian bookworm main\n")
    asked: list[str] = []

    def fetch(url: str, timeout: float) -> int:
        asked.append(url)
        return 200

    result = check_debian_mirror(Requirements(1, 1, "bookworm"), fetch=fetch, etc_dir=tmp_path)

    assert result.status is Status.PASS
    assert asked == ["http://mirror.example.test/debian/dists/bookworm/Release"]


def test_no_mirror_anywhere_fails_without_fetching(tmp_path: Path) -> None:
    def fetch(url: str, timeout: float) -> int:
        raise AssertionError("nothing to fetch")

    result = check_debian_mirror(Requirements(1, 1), fetch=fetch, etc_dir=tmp_path)

    assert result.status is Status.FAIL
    assert "no Debian mirror" in result.summary
