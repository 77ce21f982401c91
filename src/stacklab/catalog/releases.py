"""The Debian releases stacklab knows and the OpenStack series each one packages: the one
list, shipped as catalog data (data/releases.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from stacklab.config.models import OperatingSystem


@dataclass(frozen=True)
class Release:
    os: OperatingSystem
    codename: str
    openstack_series: str


@cache
def releases() -> dict[OperatingSystem, Release]:
    text = (resources.files("stacklab.catalog") / "data" / "releases.yaml").read_text("utf-8")
    return {
        OperatingSystem(name): Release(
            OperatingSystem(name), str(facts["codename"]), str(facts["openstack_series"])
        )
        for name, facts in yaml.safe_load(text).items()
    }


def release_of(os: OperatingSystem) -> Release:
    return releases()[os]


def codenames() -> tuple[str, ...]:
    return tuple(release.codename for release in releases().values())
