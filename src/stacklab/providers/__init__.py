"""Providers: where a lab's nodes run. This is the one place that picks one."""

from __future__ import annotations

from typing import Any

from stacklab.config.models import AwsProvider as AwsSettings
from stacklab.config.models import LocalProvider as LocalSettings
from stacklab.config.models import Spec
from stacklab.config.models import SshProvider as SshSettings
from stacklab.errors import NotYetImplemented
from stacklab.providers.base import Provider


def provider_for(spec: Spec, *, from_snapshot: str | None = None) -> Provider:
    """The provider of a spec; from_snapshot starts its nodes from golden images."""
    settings = spec.provider
    if isinstance(settings, LocalSettings):
        from stacklab.providers.local.provider import LocalProvider

        return LocalProvider.from_settings(settings, from_snapshot=from_snapshot)
    if isinstance(settings, AwsSettings):
        from stacklab.providers.aws import AwsProvider

        return AwsProvider.from_spec(spec, from_snapshot=from_snapshot)
    if isinstance(settings, SshSettings):
        from stacklab.providers.ssh import SshProvider

        return SshProvider.from_settings(settings)
    raise NotYetImplemented(
        f"The {settings.kind} provider is not implemented in this version of stacklab.",
        fix="use provider: local, ssh or aws for now; `stacklab plan` already shows what a "
        f"{settings.kind} lab would make and cost",
    )


def provider_kind_for(kind: str, recorded_plan: dict[str, Any] | None = None) -> Provider:
    """A provider to find and remove a lab's leftovers when its spec is gone: the region and
    profile recorded in its plan, else the environment's defaults."""
    recorded = recorded_plan or {}
    if kind == "local":
        from stacklab.providers.local.provider import LocalProvider

        return LocalProvider.from_settings(LocalSettings())
    if kind == "aws":
        from stacklab.providers.aws import AwsProvider

        return AwsProvider.for_teardown(
            region=recorded.get("region"), profile=recorded.get("profile")
        )
    if kind == "ssh":
        from stacklab.providers.ssh import SshProvider

        return SshProvider()  # its hosts: as the lab's nodes step recorded them
    raise NotYetImplemented(f"The {kind} provider is not implemented in this version.")
