"""Reads the catalog shipped as package data and adds the local host's own facts."""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from stacklab.catalog.models import (
    Catalog,
    MachineType,
    ProviderCatalog,
    Virtualization,
)

PROVIDERS = ("local", "ssh", "aws", "gcp")
LOCAL_MACHINE_TYPE = "nspawn"


@cache
def _shipped_catalog() -> Catalog:
    data_dir = resources.files("stacklab.catalog") / "data"
    providers: dict[str, ProviderCatalog] = {}
    for provider in PROVIDERS:
        text = (data_dir / f"{provider}.yaml").read_text(encoding="utf-8")
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for name, machine in raw.get("machine_types", {}).items():
            machine["name"] = name
        providers[provider] = ProviderCatalog.model_validate(raw)
    return Catalog(providers=providers)


def host_machine_type(vcpus: int, memory_gib: float) -> MachineType:
    """An nspawn node shares this host's CPUs and memory."""
    return MachineType(
        name=LOCAL_MACHINE_TYPE,
        vcpus=vcpus,
        memory_gib=memory_gib,
        max_nics=64,
        virtualization=Virtualization.PROBE,
        how="decided by booting a probe guest (`stacklab doctor`)",
    )


def _host_memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def load_catalog(*, with_host: bool = True) -> Catalog:
    """The shipped catalog; with_host fills the local provider's machine type from this host.

    Without it (tests, golden files) the local machine type is a fixed 2 vCPU / 24 GiB host.
    """
    shipped = _shipped_catalog()
    if with_host:
        machine = host_machine_type(os.cpu_count() or 1, _host_memory_gib())
    else:
        machine = host_machine_type(2, 24.0)
    local = shipped.of("local")
    local = local.model_copy(update={"machine_types": {LOCAL_MACHINE_TYPE: machine}})
    return Catalog(providers={**shipped.providers, "local": local})
