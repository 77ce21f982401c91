"""The one registry of providers: what each one is (its traits, from the catalog), and how
to make it. Callers branch on traits, never on a provider's name; this is the only module
that picks a provider by its name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stacklab.catalog.loader import load_catalog
from stacklab.catalog.models import ProviderTraits
from stacklab.config.models import AwsProvider as AwsSettings
from stacklab.config.models import LocalProvider as LocalSettings
from stacklab.config.models import ProviderKind, Spec
from stacklab.config.models import SshProvider as SshSettings
from stacklab.errors import NotYetImplemented
from stacklab.providers.base import Provider


def traits_of(kind: str) -> ProviderTraits:
    """The traits of a provider by its kind, as a spec or the state database names it; they
    are catalog data (`catalog/data/<kind>.yaml`)."""
    providers = load_catalog(with_host=False).providers
    if kind not in providers:
        raise NotYetImplemented(f"The {kind} provider is not implemented in this version.")
    return providers[kind].traits


def host_provider() -> ProviderKind:
    """The provider whose nodes run on this host (its machine type is this host itself)."""
    return next(kind for kind in ProviderKind if traits_of(kind).nodes_on_this_host)


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


def _local_for_teardown(recorded: dict[str, Any]) -> Provider:
    from stacklab.providers.local.provider import LocalProvider

    return LocalProvider.from_settings(LocalSettings())


def _aws_for_teardown(recorded: dict[str, Any]) -> Provider:
    from stacklab.providers.aws import AwsProvider

    return AwsProvider.for_teardown(region=recorded.get("region"), profile=recorded.get("profile"))


def _ssh_for_teardown(recorded: dict[str, Any]) -> Provider:
    from stacklab.providers.ssh import SshProvider

    return SshProvider()  # its hosts: as the lab's nodes step recorded them


FOR_TEARDOWN: dict[ProviderKind, Callable[[dict[str, Any]], Provider]] = {
    ProviderKind.LOCAL: _local_for_teardown,
    ProviderKind.AWS: _aws_for_teardown,
    ProviderKind.SSH: _ssh_for_teardown,
}


def provider_kind_for(kind: str, recorded_plan: dict[str, Any] | None = None) -> Provider:
    """A provider to find and remove a lab's leftovers when its spec is gone: the region and
    profile recorded in its plan, else the environment's defaults."""
    make = FOR_TEARDOWN.get(ProviderKind(kind)) if traits_of(kind).implemented else None
    if make is None:
        raise NotYetImplemented(f"The {kind} provider is not implemented in this version.")
    return make(recorded_plan or {})
