"""The one registry of providers: what each one is (its traits, from the catalog), and how
to make it. Callers branch on traits, never on a provider's name; this is the only module
that picks a provider by its name."""

from __future__ import annotations

from typing import Any, Protocol

from stacklab.catalog.loader import load_catalog
from stacklab.catalog.models import ProviderTraits
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


class _Local:
    """The local provider: nodes on this host."""

    @staticmethod
    def for_spec(spec: Spec, from_snapshot: str | None) -> Provider:
        from stacklab.providers.local.provider import LocalProvider

        settings = spec.provider
        assert isinstance(settings, LocalSettings)
        return LocalProvider.from_settings(settings, from_snapshot=from_snapshot)

    @staticmethod
    def for_teardown(recorded: dict[str, Any]) -> Provider:
        from stacklab.providers.local.provider import LocalProvider

        return LocalProvider.from_settings(LocalSettings())


class _Aws:
    @staticmethod
    def for_spec(spec: Spec, from_snapshot: str | None) -> Provider:
        from stacklab.providers.aws import AwsProvider

        return AwsProvider.from_spec(spec, from_snapshot=from_snapshot)

    @staticmethod
    def for_teardown(recorded: dict[str, Any]) -> Provider:
        from stacklab.providers.aws import AwsProvider

        region, profile = recorded.get("region"), recorded.get("profile")
        return AwsProvider.for_teardown(region=region, profile=profile)


class _Gcp:
    @staticmethod
    def for_spec(spec: Spec, from_snapshot: str | None) -> Provider:
        from stacklab.providers.gcp import GcpProvider

        return GcpProvider.from_spec(spec, from_snapshot=from_snapshot)

    @staticmethod
    def for_teardown(recorded: dict[str, Any]) -> Provider:
        from stacklab.providers.gcp import GcpProvider

        return GcpProvider.for_teardown(
            project=recorded.get("project"),
            region=recorded.get("region"),
            zone=recorded.get("zone"),
            credentials_file=recorded.get("profile"),
        )


class _Ssh:
    @staticmethod
    def for_spec(spec: Spec, from_snapshot: str | None) -> Provider:
        from stacklab.providers.ssh import SshProvider

        settings = spec.provider
        assert isinstance(settings, SshSettings)
        return SshProvider.from_settings(settings)

    @staticmethod
    def for_teardown(recorded: dict[str, Any]) -> Provider:
        from stacklab.providers.ssh import SshProvider

        return SshProvider()  # its hosts: as the lab's nodes step recorded them


class _Factory(Protocol):
    """How a provider is made: for a spec, or to find a lab's leftovers once it is gone."""

    @staticmethod
    def for_spec(spec: Spec, from_snapshot: str | None) -> Provider: ...

    @staticmethod
    def for_teardown(recorded: dict[str, Any]) -> Provider: ...


# The one dispatch on a provider's kind. Providers without an entry are not implemented.
FACTORIES: dict[ProviderKind, type[_Factory]] = {
    ProviderKind.LOCAL: _Local,
    ProviderKind.AWS: _Aws,
    ProviderKind.SSH: _Ssh,
    ProviderKind.GCP: _Gcp,
}


def _factory(kind: str) -> type[_Factory]:
    factory = FACTORIES.get(ProviderKind(kind)) if traits_of(kind).implemented else None
    if factory is None:
        implemented = ", ".join(FACTORIES)
        raise NotYetImplemented(
            f"The {kind} provider is not implemented in this version of stacklab.",
            fix=f"use provider: {implemented} for now; `stacklab plan` already shows what a "
            f"{kind} lab would make and cost",
        )
    return factory


def provider_for(spec: Spec, *, from_snapshot: str | None = None) -> Provider:
    """The provider of a spec; from_snapshot starts its nodes from golden images."""
    return _factory(spec.provider_kind).for_spec(spec, from_snapshot)


def provider_kind_for(kind: str, recorded_plan: dict[str, Any] | None = None) -> Provider:
    """A provider to find and remove a lab's leftovers when its spec is gone: the region,
    profile (or key file), project and zone recorded in its plan, else the environment's
    defaults."""
    return _factory(kind).for_teardown(recorded_plan or {})
