"""Which Debian mirror this host's apt uses, and whether it serves the lab's release."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stacklab.doctor.models import CheckResult, Requirements, Status

MIRROR_TIMEOUT_S = 10.0
FIX_MIRROR = "set provider.mirror in the spec to a reachable Debian mirror"

# Debian's release codenames and aliases: a suite named otherwise (a vendor's repository,
# another distribution) does not make its URI a Debian mirror.
DEBIAN_SUITES = frozenset(
    {
        "buzz",
        "rex",
        "bo",
        "hamm",
        "slink",
        "potato",
        "woody",
        "sarge",
        "etch",
        "lenny",
        "squeeze",
        "wheezy",
        "jessie",
        "stretch",
        "buster",
        "bullseye",
        "bookworm",
        "trixie",
        "forky",
        "duke",
        "sid",
        "oldoldstable",
        "oldstable",
        "stable",
        "testing",
        "unstable",
        "experimental",
    }
)


@dataclass(frozen=True)
class AptSource:
    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    enabled: bool = True


def host_debian_mirror(etc_dir: Path = Path("/etc")) -> str | None:
    """The first non-security URI of apt's sources that serves a Debian suite's main."""
    for source in apt_sources(etc_dir / "apt"):
        if not source.enabled or "deb" not in source.types or "main" not in source.components:
            continue
        if not any(_is_debian_suite(suite) for suite in source.suites):
            continue
        for uri in source.uris:
            if uri.startswith(("http://", "https://")):
                return uri.rstrip("/")
    return None


def apt_sources(apt_dir: Path) -> Iterator[AptSource]:
    """Every source, in apt's reading order: sources.list, then sources.list.d sorted."""
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        yield from _one_line_sources(main_list.read_text(errors="replace"))
    parts = apt_dir / "sources.list.d"
    if not parts.is_dir():
        return
    for path in sorted(parts.iterdir()):
        if path.suffix == ".list":
            yield from _one_line_sources(path.read_text(errors="replace"))
        elif path.suffix == ".sources":
            yield from _deb822_sources(path.read_text(errors="replace"))


def _one_line_sources(text: str) -> Iterator[AptSource]:
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.startswith("["):  # options such as [arch=amd64 signed-by=...]
            rest = rest.partition("]")[2]
        words = rest.split()
        if len(words) >= 2:
            yield AptSource((kind,), (words[0],), (words[1],), tuple(words[2:]))


def _deb822_sources(text: str) -> Iterator[AptSource]:
    for stanza in _deb822_stanzas(text):
        yield AptSource(
            types=tuple(stanza.get("types", "").split()),
            uris=tuple(stanza.get("uris", "").split()),
            suites=tuple(stanza.get("suites", "").split()),
            components=tuple(stanza.get("components", "").split()),
            enabled=stanza.get("enabled", "yes").strip().lower() not in ("no", "false", "0"),
        )


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    stanza: dict[str, str] = {}
    key: str | None = None
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0].isspace() and key is not None:  # continuation of a multi-line field
            stanza[key] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            stanza[key] = value.strip()


def _is_debian_suite(suite: str) -> bool:
    codename, _, pocket = suite.partition("-")
    return codename in DEBIAN_SUITES and pocket != "security" and "/" not in suite


Fetch = Callable[[str, float], int]


def http_status(url: str, timeout: float) -> int:
    request = urllib.request.Request(url, method="GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status: int = response.status
        return status


def check_debian_mirror(
    requirements: Requirements, *, fetch: Fetch = http_status, etc_dir: Path = Path("/etc")
) -> CheckResult:
    mirror = requirements.mirror or host_debian_mirror(etc_dir)
    origin = "from the spec" if requirements.mirror else "from this host's apt sources"
    if mirror is None:
        return CheckResult(
            "debian mirror",
            Status.FAIL,
            "no Debian mirror found in this host's apt sources",
            FIX_MIRROR,
        )
    url = f"{mirror.rstrip('/')}/dists/{requirements.release}/Release"
    try:
        status = fetch(url, MIRROR_TIMEOUT_S)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return CheckResult(
            "debian mirror", Status.FAIL, f"{url} ({origin}) is not reachable: {reason}", FIX_MIRROR
        )
    if status != 200:
        return CheckResult(
            "debian mirror", Status.FAIL, f"{url} ({origin}) answered HTTP {status}", FIX_MIRROR
        )
    return CheckResult(
        "debian mirror", Status.PASS, f"{mirror} ({origin}) serves {requirements.release}"
    )
