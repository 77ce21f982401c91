"""The spec's GCP settings checked before anything is made: the project, the zone, the key
file, who may reach the lab, and the sizes GCP takes; every problem at once, each naming its
field, the value and the fix."""

from __future__ import annotations

import json
import os
from ipaddress import IPv4Network
from pathlib import Path

from stacklab.catalog.models import ProviderCatalog
from stacklab.config.models import GcpProvider as GcpSettings
from stacklab.errors import Problem
from stacklab.plan.models import Plan
from stacklab.providers.gcp.layout import SUBNET_PREFIX_RANGE

KEY_FIELDS = ("client_email", "private_key", "token_uri")


def zone_of(settings: GcpSettings, catalog: ProviderCatalog) -> str | None:
    """The spec's zone, else the first zone the catalog lists for its region."""
    if settings.zone:
        return settings.zone
    regions = catalog.regions
    if regions is None or settings.region not in regions.names:
        return None
    zones = regions.names[settings.region].zones
    return zones[0] if zones else None


def settings_problems(
    plan: Plan, settings: GcpSettings, admin_cidr: IPv4Network | None, catalog: ProviderCatalog
) -> list[Problem]:
    """Why this plan cannot become a GCP lab with these settings; empty if it can."""
    problems = _access_problems(admin_cidr, settings.allow_ssh_from_world)
    if not settings.project:
        problems.append(
            Problem(
                field="provider.project",
                value=None,
                why="the GCP provider makes the lab in this project, and it is not set",
                fix="set provider.project to your project's id "
                "(`gcloud config get-value project` shows the current one)",
            )
        )
    zone = zone_of(settings, catalog)
    if zone is None:
        problems.append(
            Problem(
                field="provider.zone",
                value=settings.zone,
                why=f"the catalog lists no zone for region {settings.region}",
                fix="set provider.zone to a zone of provider.region",
            )
        )
    if settings.credentials_file is not None:
        problems += key_file_problems(settings.credentials_file)
    low, high = SUBNET_PREFIX_RANGE
    for network in plan.provisioned_networks:
        if not low <= network.cidr.prefixlen <= high:
            problems.append(
                Problem(
                    field=f"networks.{network.name}.cidr",
                    value=str(network.cidr),
                    why=f"GCP subnetworks are /{low} to /{high}",
                    fix=f"use a block from /{low} to /{high}",
                )
            )
    return problems


def _access_problems(admin_cidr: IPv4Network | None, allow_world: bool) -> list[Problem]:
    if admin_cidr is None:
        return [
            Problem(
                field="access.admin_cidr",
                value=None,
                why="the GCP provider opens SSH and HTTPS only to this range, and it is not set",
                fix="set it to your public address, for example 203.0.113.7/32 "
                "(`stacklab init --provider gcp` finds it)",
            )
        ]
    if admin_cidr.prefixlen == 0 and not allow_world:
        return [
            Problem(
                field="access.admin_cidr",
                value=str(admin_cidr),
                why="it opens SSH and HTTPS to the whole internet",
                fix="use your own address, or set provider.allow_ssh_from_world: true "
                "if you really mean it",
            )
        ]
    return []


def key_file_problems(path: Path) -> list[Problem]:
    """A service-account key file must exist, be readable and be one (JSON, its key fields)."""
    field, value = "provider.credentials_file", str(path)
    fix = (
        "point it at a service-account key file (IAM > Service accounts > Keys > Add key, JSON), "
        "or remove it to use application default credentials"
    )
    file = path.expanduser()
    if not file.is_file():
        why = "it is a directory" if file.is_dir() else "no such file"
        return [Problem(field=field, value=value, why=why, fix=fix)]
    if not os.access(file, os.R_OK):
        return [
            Problem(
                field=field,
                value=value,
                why="this user cannot read it",
                fix=f"chmod 0600 it for this user, or {fix}",
            )
        ]
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return [Problem(field=field, value=value, why=f"it is not JSON ({error})", fix=fix)]
    if not isinstance(content, dict) or content.get("type") != "service_account":
        return [
            Problem(
                field=field,
                value=value,
                why='it is not a service-account key (no "type": "service_account")',
                fix=fix,
            )
        ]
    missing = [name for name in KEY_FIELDS if not content.get(name)]
    if missing:
        return [
            Problem(field=field, value=value, why=f"the key lacks {', '.join(missing)}", fix=fix)
        ]
    return []
