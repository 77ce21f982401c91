"""Which of Tempest's tests to run: the guideline's required tests, found in the installed
Tempest's own list by idempotent id (a renamed test still matches), narrowed by service or
by a regular expression over the guideline's test names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from stacklab.catalog.interop import SERVICES, InteropGuideline, RequiredTest
from stacklab.errors import InputError

# Tempest lists a test as module.Class.test_name[id-<uuid>,smoke,...].
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_IDEMPOTENT_ID = re.compile(rf"\[(?:[^\]]*,)?id-({_UUID})")
# A class whose setup skipped or failed reports one result for all its tests, by this id.
_CLASS_FIXTURE = re.compile(r"^(?:setUpClass|tearDownClass) \((?P<cls>[\w.]+)\)$")


def idempotent_id(tempest_id: str) -> str | None:
    found = _IDEMPOTENT_ID.search(tempest_id)
    return found.group(1) if found else None


def class_of_fixture(tempest_id: str) -> str | None:
    """The class path of a setUpClass/tearDownClass result, else None."""
    found = _CLASS_FIXTURE.match(tempest_id)
    return found.group("cls") if found else None


def class_path(tempest_id: str) -> str:
    """module.Class of a listed test id (its name without the method and the attributes)."""
    return tempest_id.split("[", 1)[0].rsplit(".", 1)[0]


@dataclass(frozen=True)
class Selected:
    test: RequiredTest
    tempest_id: str  # as the installed Tempest lists it, attributes included


@dataclass(frozen=True)
class Selection:
    run: tuple[Selected, ...]
    missing: tuple[RequiredTest, ...]  # required, but the installed Tempest has no such id

    @property
    def tempest_ids(self) -> list[str]:
        return [selected.tempest_id for selected in self.run]


def check_filters(services: Iterable[str], pattern: str | None) -> re.Pattern[str] | None:
    """The regular expression compiled; a bad service or expression is refused up front."""
    for service in services:
        if service not in SERVICES:
            raise InputError(
                f"--only {service!r} is not a service of the guideline.",
                fix=f"use one of: {', '.join(SERVICES)}",
            )
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise InputError(
            f"--regex {pattern!r} is not a regular expression ({error}).",
            fix="e.g. --regex 'test_tokens|test_api_discovery'",
        ) from None


def test_name(tempest_id: str) -> str:
    """A listed test's name without its attributes."""
    return tempest_id.split("[", 1)[0]


def _listed_as(test: RequiredTest, candidates: list[str]) -> str | None:
    """Tempest lists an inherited test once per subclass, all with the same idempotent id:
    the one of the guideline's name, else of one of its aliases, else (renamed since) the
    first of them."""
    if not candidates:
        return None
    by_name = {test_name(candidate): candidate for candidate in candidates}
    for name in (test.name, *test.aliases):
        if name in by_name:
            return by_name[name]
    return sorted(candidates)[0]


def select_tests(
    guideline: InteropGuideline,
    listed: Iterable[str],
    *,
    services: Iterable[str] = (),
    pattern: re.Pattern[str] | None = None,
) -> Selection:
    """The required tests in scope, each matched to a listed Tempest test by idempotent id."""
    by_uuid: dict[str, list[str]] = {}
    for tempest_id in listed:
        uuid = idempotent_id(tempest_id)
        if uuid is not None:
            by_uuid.setdefault(uuid, []).append(tempest_id)
    wanted_services = set(services)
    run: list[Selected] = []
    missing: list[RequiredTest] = []
    for test in guideline.tests:
        if wanted_services and test.service not in wanted_services:
            continue
        if pattern is not None and not pattern.search(test.name):
            continue
        listed_as = _listed_as(test, by_uuid.get(test.idempotent_id, []))
        if listed_as is None:
            missing.append(test)
        else:
            run.append(Selected(test, listed_as))
    return Selection(tuple(run), tuple(missing))
