"""The public interop guideline's required tests (OpenStack Powered Compute), as catalog
data: parsed from a guideline document (schema 2.0 of the openstack/interop repository)
into data/interop-compute.yaml, and read back from there by `stacklab verify --interop`.

Regenerate the data from a guideline with:
    python -m stacklab.catalog.interop GUIDELINE.json REPOSITORY@COMMIT > data/interop-compute.yaml
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

PLATFORM = "OpenStack Powered Compute"
DATA_FILE = "interop-compute.yaml"
# The guideline names each capability's project; stacklab reports by service.
SERVICE_OF_PROJECT: Mapping[str, str] = {
    "nova": "compute",
    "neutron": "network",
    "glance": "image",
    "keystone": "identity",
    "cinder": "volume",
}
SERVICES: tuple[str, ...] = tuple(SERVICE_OF_PROJECT.values())
_ID_PREFIX = "id-"


class GuidelineError(ValueError):
    """A guideline document that is not of the form this parser reads."""


@dataclass(frozen=True)
class RequiredTest:
    idempotent_id: str  # a bare UUID: the test's identity, kept when a test is renamed
    name: str  # the guideline's fully qualified Tempest test name
    service: str
    capability: str
    aliases: tuple[str, ...] = ()
    # Flagged: "changes its status from must-pass to optional-pass" (schema 2.0). Run and
    # reported, but its failure does not fail the guideline.
    flagged: str | None = None


@dataclass(frozen=True)
class InteropGuideline:
    guideline: str  # e.g. "2020.06"
    platform: str
    source: str  # where the guideline document is published
    taken_from: str  # the repository and commit it was read from
    releases: tuple[str, ...]  # the OpenStack releases it was approved for
    note: str
    tests: tuple[RequiredTest, ...]

    def by_service(self, service: str) -> tuple[RequiredTest, ...]:
        return tuple(test for test in self.tests if test.service == service)


def _field(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise GuidelineError(f"the guideline has no {path!r}")
        value = value[key]
    return value


def _bare_id(value: object, test: str) -> str:
    if not isinstance(value, str) or not value.startswith(_ID_PREFIX):
        raise GuidelineError(f"test {test} has idempotent_id {value!r}, not 'id-<uuid>'")
    return value.removeprefix(_ID_PREFIX)


def _flag_reason(flag: object) -> str | None:
    if flag is None:
        return None
    if isinstance(flag, Mapping):
        return str(flag.get("reason") or "flagged without a reason")
    return str(flag)


def parse_guideline(
    document: Mapping[str, Any], *, taken_from: str, note: str = "", platform: str = PLATFORM
) -> InteropGuideline:
    """The platform's required tests from a guideline document of schema 2.0: the platform
    names components, each component lists its required capabilities, each capability its
    project and tests (keyed by name, with idempotent_id, optional aliases and flagged)."""
    schema = str(_field(document, "metadata.schema"))
    if not schema.startswith("2."):
        raise GuidelineError(f"schema {schema!r}; this parser reads schema 2.x guidelines")
    platforms = _field(document, "platforms")
    if platform not in platforms:
        raise GuidelineError(f"no platform {platform!r}; it has {sorted(platforms)}")
    capabilities = _field(document, "capabilities")
    tests: dict[str, RequiredTest] = {}
    for component in platforms[platform]["components"]:
        component_name = component["name"]
        required = _field(document, f"components.{component_name}.capabilities.required")
        for capability in required:
            if capability not in capabilities:
                raise GuidelineError(f"required capability {capability!r} is not defined")
            facts = capabilities[capability]
            project = facts.get("project")
            if project not in SERVICE_OF_PROJECT:
                raise GuidelineError(
                    f"capability {capability} has project {project!r}; "
                    f"known: {sorted(SERVICE_OF_PROJECT)}"
                )
            for name, test in facts["tests"].items():
                uuid = _bare_id(test.get("idempotent_id"), name)
                tests.setdefault(
                    uuid,
                    RequiredTest(
                        idempotent_id=uuid,
                        name=name,
                        service=SERVICE_OF_PROJECT[project],
                        capability=capability,
                        aliases=tuple(test.get("aliases") or ()),
                        flagged=_flag_reason(test.get("flagged")),
                    ),
                )
    if not tests:
        raise GuidelineError(f"platform {platform!r} requires no test")
    approval = document["metadata"].get("os_trademark_approval", {})
    return InteropGuideline(
        guideline=str(_field(document, "metadata.id")),
        platform=platform,
        source=str(document["metadata"].get("source", "")),
        taken_from=taken_from,
        releases=tuple(approval.get("releases", ())),
        note=note,
        tests=tuple(sorted(tests.values(), key=lambda test: test.name)),
    )


def to_data(guideline: InteropGuideline) -> dict[str, Any]:
    """The catalog data form (data/interop-compute.yaml)."""

    def test_entry(test: RequiredTest) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": test.idempotent_id,
            "name": test.name,
            "service": test.service,
            "capability": test.capability,
        }
        if test.aliases:
            entry["aliases"] = list(test.aliases)
        if test.flagged:
            entry["flagged"] = test.flagged
        return entry

    return {
        "guideline": guideline.guideline,
        "platform": guideline.platform,
        "source": guideline.source,
        "taken_from": guideline.taken_from,
        "releases": list(guideline.releases),
        "note": guideline.note,
        "tests": [test_entry(test) for test in guideline.tests],
    }


def from_data(data: Mapping[str, Any]) -> InteropGuideline:
    return InteropGuideline(
        guideline=str(data["guideline"]),
        platform=str(data["platform"]),
        source=str(data["source"]),
        taken_from=str(data["taken_from"]),
        releases=tuple(data["releases"]),
        note=str(data.get("note", "")),
        tests=tuple(
            RequiredTest(
                idempotent_id=str(entry["id"]),
                name=str(entry["name"]),
                service=str(entry["service"]),
                capability=str(entry["capability"]),
                aliases=tuple(entry.get("aliases", ())),
                flagged=entry.get("flagged"),
            )
            for entry in data["tests"]
        ),
    )


@cache
def shipped_guideline() -> InteropGuideline:
    text = (resources.files("stacklab.catalog") / "data" / DATA_FILE).read_text("utf-8")
    return from_data(yaml.safe_load(text))


DATA_HEADER = """\
# The required tests of the public interop guideline ({platform}), derived from the
# guideline document by `python -m stacklab.catalog.interop` (stacklab/catalog/interop.py);
# do not edit by hand. `stacklab verify --interop` selects tests by their idempotent id
# (`id`), so a test renamed in a later Tempest still matches. A `flagged` test is
# optional-pass, as the guideline's schema says: run and reported, never fatal.
"""


def main(argv: Sequence[str]) -> int:
    if len(argv) not in (2, 3):
        print(
            "usage: python -m stacklab.catalog.interop GUIDELINE.json REPOSITORY@COMMIT [NOTE]",
            file=sys.stderr,
        )
        return 2
    with open(argv[0], encoding="utf-8") as handle:  # noqa: PTH123
        document = json.load(handle)
    guideline = parse_guideline(
        document, taken_from=argv[1], note=argv[2] if len(argv) == 3 else ""
    )
    sys.stdout.write(DATA_HEADER.format(platform=guideline.platform))
    sys.stdout.write(yaml.safe_dump(to_data(guideline), sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
