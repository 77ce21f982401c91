"""What the providers that rent their nodes from a cloud (AWS, GCP) do alike: their options,
the record of what they create, the lab's SSH key on the nodes, the nodes reached through
the access node, golden images complete for the plan."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from stacklab.catalog.loader import load_catalog
from stacklab.catalog.models import ProviderCatalog
from stacklab.config.models import Access
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess
from stacklab.core.ssh import known_hosts_path
from stacklab.errors import ProviderError
from stacklab.plan.models import Plan
from stacklab.providers.base import FoundResource
from stacklab.providers.ssh_wait import SSH_TIMEOUT_S, wait_for_ssh
from stacklab.runner import LocalRunner, Runner

SettingsT = TypeVar("SettingsT")
AdapterT = TypeVar("AdapterT")
ImageT = TypeVar("ImageT")

# What a provider calls for each resource it makes: kind, id, what to call it.
Created = Callable[[str, str, str], None]
SSH_PORT = 22


class RentedNodesProvider(Generic[SettingsT, AdapterT]):
    """The part of the Provider contract that AWS and GCP implement alike."""

    kind: str  # set by each provider class

    def __init__(
        self,
        settings: SettingsT,
        *,
        access: Access | None = None,
        catalog: ProviderCatalog | None = None,
        adapter: AdapterT | None = None,
        wait_for_ssh: bool = True,
        ssh_timeout: float = SSH_TIMEOUT_S,
        runner: Runner | None = None,
        from_snapshot: str | None = None,
    ):
        """from_snapshot: start new nodes from the lab's golden images of that snapshot
        (`latest` for the newest) instead of the spec's image (`up --from`)."""
        self.settings = settings
        self.access = access or Access()
        self.catalog = catalog or load_catalog(with_host=False).of(self.kind)
        self._adapter = adapter
        self.wait_for_ssh = wait_for_ssh
        self.ssh_timeout = ssh_timeout
        self.runner: Runner = runner or LocalRunner()
        self.from_snapshot = from_snapshot

    def discover(self, lab: str) -> list[FoundResource]:
        raise NotImplementedError

    def planned_deletions(self, lab: str) -> list[FoundResource]:
        """What `down` would delete, in the order it would (for `down --dry-run`)."""
        return self.discover(lab)

    def _reporter(self, context: LabContext) -> Created:
        def created(kind: str, ident: str, what: str) -> None:
            context.progress(f"created {what}")
            context.record(self.kind, kind, ident, what=what)

        return created

    def _complete_snapshot(self, found: Mapping[str, ImageT], plan: Plan) -> dict[str, ImageT]:
        """The snapshot's golden images, one for each node of the plan, or the nodes it lacks."""
        missing = sorted(node.name for node in plan.nodes if node.name not in found)
        if missing:
            raise ProviderError(
                f"Snapshot {self.from_snapshot} of lab {plan.lab} has no image of "
                f"{', '.join(missing)}.",
                fix="`stacklab snapshot` the lab with these nodes first, or `up` without --from",
            )
        return dict(found)

    def _wait_for_ssh(
        self,
        accesses: tuple[NodeAccess, ...],
        context: LabContext,
        timeout_error: type[ProviderError],
    ) -> None:
        if self.wait_for_ssh:
            wait_for_ssh(
                self.runner,
                accesses,
                known_hosts_path(context.directory),
                context.progress,
                timeout=self.ssh_timeout,
                timeout_error=timeout_error,
            )


def lab_public_keys(plan: Plan, context: LabContext) -> list[str]:
    """The lab's SSH public keys, one a line, for the nodes' login user."""
    keys = [line.strip() for line in context.ssh_public_key.splitlines() if line.strip()]
    if not keys:
        raise ProviderError(f"Lab {plan.lab} has no SSH public key to put on its nodes.")
    return keys


def node_access(
    name: str, private: str, public: str, *, is_access: bool, user: str, key: Path
) -> NodeAccess:
    """How to reach a node: the access node at its public address, every other node at its
    private one through the access node."""
    if is_access:
        return NodeAccess(name, public, user, SSH_PORT, key)
    return NodeAccess(name, private, user, SSH_PORT, key, f"{user}@{public}")


def local_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER variable and no passwd entry (some containers)
        return "unknown"
