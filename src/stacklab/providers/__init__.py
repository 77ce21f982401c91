"""Providers: where a lab's nodes run. `provider_for` is the one place that picks one."""

from __future__ import annotations

from stacklab.config.models import LocalProvider as LocalSettings
from stacklab.config.models import Spec
from stacklab.errors import NotYetImplemented
from stacklab.providers.base import Provider


def provider_for(spec: Spec) -> Provider:
    settings = spec.provider
    if isinstance(settings, LocalSettings):
        from stacklab.providers.local.provider import LocalProvider

        return LocalProvider.from_settings(settings)
    raise NotYetImplemented(
        f"The {settings.kind} provider is not implemented in this version of stacklab.",
        fix="use provider: local for now; `stacklab plan` already shows what a "
        f"{settings.kind} lab would make and cost",
    )


def provider_kind_for(kind: str) -> Provider:
    """A provider to find and remove a lab's leftovers when only its kind is known."""
    if kind == "local":
        from stacklab.providers.local.provider import LocalProvider

        return LocalProvider.from_settings(LocalSettings())
    raise NotYetImplemented(f"The {kind} provider is not implemented in this version.")
