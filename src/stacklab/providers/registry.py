"""The one registry of providers: what each one is (its traits), and how to make it. Callers
branch on traits, never on a provider's name; this is the only module that knows the names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stacklab.config.models import AwsProvider as AwsSettings
from stacklab.config.models import LocalProvider as LocalSettings
from stacklab.config.models import ProviderKind, Spec
from stacklab.config.models import SshProvider as SshSettings
from stacklab.errors import NotYetImplemented
from stacklab.providers.base import Provider


class Reach(StrEnum):
    """How this host reaches the lab's nodes and its cloud's APIs."""

    DIRECT = "direct"  # at their management addresses, from this host
    JUMP_HOST = "jump host"  # through the access node's public address


class SnapshotKind(StrEnum):
    NONE = "none"
    NODE_TREES = "node trees"  # the nodes' root directories, copied on this host
    MACHINE_IMAGES = "machine images"  # golden images in the cloud account


@dataclass(frozen=True)
class ProviderTraits:
    kind: ProviderKind
    reach: Reach
    public_addresses: bool  # nodes get addresses on the internet (the access node)
    costs_money: bool  # billed by the hour while it runs
    snapshots: SnapshotKind
    nodes_on_this_host: bool  # so a KVM probe on this host decides their hypervisor
    host_on_lab_networks: bool  # this host has an address on each lab network
    own_node_addresses: bool  # nodes answer at addresses of their own, not the plan's
    implemented: bool = True

    @property
    def apis_reached_from_host(self) -> bool:
        return self.reach is Reach.DIRECT


TRAITS: dict[ProviderKind, ProviderTraits] = {
    ProviderKind.LOCAL: ProviderTraits(
        ProviderKind.LOCAL,
        Reach.DIRECT,
        public_addresses=False,
        costs_money=False,
        snapshots=SnapshotKind.NODE_TREES,
        nodes_on_this_host=True,
        host_on_lab_networks=True,
        own_node_addresses=False,
    ),
    ProviderKind.SSH: ProviderTraits(
        ProviderKind.SSH,
        Reach.DIRECT,
        public_addresses=False,
        costs_money=False,
        snapshots=SnapshotKind.NONE,
        nodes_on_this_host=False,
        host_on_lab_networks=False,
        own_node_addresses=True,
    ),
    ProviderKind.AWS: ProviderTraits(
        ProviderKind.AWS,
        Reach.JUMP_HOST,
        public_addresses=True,
        costs_money=True,
        snapshots=SnapshotKind.MACHINE_IMAGES,
        nodes_on_this_host=False,
        host_on_lab_networks=False,
        own_node_addresses=False,
    ),
    ProviderKind.GCP: ProviderTraits(
        ProviderKind.GCP,
        Reach.JUMP_HOST,
        public_addresses=True,
        costs_money=True,
        snapshots=SnapshotKind.MACHINE_IMAGES,
        nodes_on_this_host=False,
        host_on_lab_networks=False,
        own_node_addresses=False,
        implemented=False,
    ),
}


def traits_of(kind: str) -> ProviderTraits:
    """The traits of a provider by its kind, as a spec or the state database names it."""
    try:
        return TRAITS[ProviderKind(kind)]
    except ValueError:
        raise NotYetImplemented(
            f"The {kind} provider is not implemented in this version."
        ) from None


def host_provider() -> ProviderTraits:
    """The provider whose nodes run on this host (its machine type is this host itself)."""
    return next(traits for traits in TRAITS.values() if traits.nodes_on_this_host)


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
    make = FOR_TEARDOWN.get(traits_of(kind).kind)
    if make is None:
        raise NotYetImplemented(f"The {kind} provider is not implemented in this version.")
    return make(recorded_plan or {})
