"""The GCP provider: a lab on Compute Engine, a VPC network per lab network, found again by
its labels and names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stacklab.config.models import GcpProvider as GcpSettings
from stacklab.config.models import Spec
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.errors import HostError, ProviderError, SpecError
from stacklab.plan.models import Plan
from stacklab.providers.base import FoundResource, RunningCost
from stacklab.providers.cost import RunningInstance, hourly_prices, running_cost
from stacklab.providers.gcp.errors import GcpTimeout
from stacklab.providers.gcp.golden import (
    LATEST,
    delete_golden_images,
    golden_images,
    make_golden_images,
    snapshot_name,
)
from stacklab.providers.gcp.labels import NODE_LABEL, SNAPSHOT_LABEL, Labeller
from stacklab.providers.gcp.layout import DEFAULT_USER, LabLayout, lab_layout, startup_script
from stacklab.providers.gcp.network import ensure_networks
from stacklab.providers.gcp.nodes import (
    LaunchSettings,
    ensure_instance,
    external_address,
    resolve_image,
)
from stacklab.providers.gcp.records import Image
from stacklab.providers.gcp.settings import settings_problems, zone_of
from stacklab.providers.gcp.teardown import Where, inventory, tear_down, verify_gone
from stacklab.providers.golden_files import (
    delete_golden_files,
    restore_golden_files,
    save_golden_files,
)
from stacklab.providers.rented import (
    RentedNodesProvider,
    lab_public_keys,
    local_user,
    node_access,
)
from stacklab.state.paths import lab_dir

if TYPE_CHECKING:
    from stacklab.providers.gcp.adapter import ComputeAdapter

KIND = "gcp"
BILLED_STATES = frozenset({"PROVISIONING", "STAGING", "RUNNING"})


class GcpProvider(RentedNodesProvider[GcpSettings, "ComputeAdapter"]):
    """Implements the Provider contract on Compute Engine."""

    kind = KIND

    @classmethod
    def from_spec(cls, spec: Spec, *, from_snapshot: str | None = None) -> GcpProvider:
        if not isinstance(spec.provider, GcpSettings):
            raise ProviderError(f"The GCP provider cannot run a {spec.provider.kind} spec.")
        return cls(spec.provider, access=spec.access, from_snapshot=from_snapshot)

    @classmethod
    def for_teardown(
        cls,
        *,
        project: str | None,
        region: str | None,
        zone: str | None,
        credentials_file: str | None = None,
        adapter: ComputeAdapter | None = None,
    ) -> GcpProvider:
        """For `status` and `down` with no spec at hand: the project, region and zone recorded
        with the lab (and its key file, if it named one)."""
        settings = GcpSettings.model_validate(
            {
                key: value
                for key, value in {
                    "project": project,
                    "region": region,
                    "zone": zone,
                    "credentials_file": credentials_file,
                }.items()
                if value
            }
        )
        return cls(settings, adapter=adapter, wait_for_ssh=False)

    @property
    def where(self) -> Where:
        zone = zone_of(self.settings, self.catalog)
        if zone is None:
            raise _unknown_place()
        return Where(self.settings.region, zone)

    @property
    def project(self) -> str:
        if not self.settings.project:
            raise _unknown_place()
        return self.settings.project

    def _gcp(self) -> ComputeAdapter:
        if self._adapter is None:
            try:
                from stacklab.providers.gcp.adapter import ComputeAdapter
            except ImportError as missing:
                raise HostError(
                    f"The GCP provider needs google-cloud-compute, which is not installed "
                    f"({missing}).",
                    fix="pip install 'stacklab[gcp]' (or pip install google-cloud-compute)",
                ) from missing
            self._adapter = ComputeAdapter.connect(
                project=self.project, credentials_file=self.settings.credentials_file
            )
        return self._adapter

    def _labeller(self, lab: str) -> Labeller:
        return Labeller(lab, self.settings.owner or local_user())

    def _layout(self, plan: Plan) -> LabLayout:
        problems = settings_problems(plan, self.settings, self.access.admin_cidr, self.catalog)
        if problems:
            raise SpecError(problems)
        return lab_layout(plan, self.catalog)

    # check

    def check(self, plan: Plan) -> None:
        if plan.provider != KIND:
            raise ProviderError(f"The GCP provider cannot run a {plan.provider} plan.")
        self._layout(plan)
        gcp = self._gcp()
        resolve_image(gcp, self.settings.image, self.catalog.images, plan.os)
        self._golden_images(gcp, plan)

    def _golden_images(self, gcp: ComputeAdapter, plan: Plan) -> dict[str, Image]:
        if self.from_snapshot is None:
            return {}
        return self._complete_snapshot(golden_images(gcp, plan.lab, self.from_snapshot), plan)

    # create

    def create_networks(self, plan: Plan, context: LabContext) -> None:
        layout = self._layout(plan)
        ensure_networks(self._gcp(), layout, self.where.region, self._reporter(context))

    def create_nodes(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]:
        layout = self._layout(plan)
        gcp, where = self._gcp(), self.where
        labeller, created = self._labeller(plan.lab), self._reporter(context)
        keys = lab_public_keys(plan, context)
        image = resolve_image(gcp, self.settings.image, self.catalog.images, plan.os)
        golden = self._golden_images(gcp, plan)
        for node in layout.nodes:
            launch = LaunchSettings(
                where.zone, where.region, golden.get(node.name, image), self.settings.boot_disk_gb
            )
            metadata = {"startup-script": startup_script(node, keys), "enable-oslogin": "FALSE"}
            ensure_instance(gcp, node, layout, launch, metadata, labeller, created)
        running = {
            instance.labels.get(NODE_LABEL, ""): instance
            for instance in gcp.instances(where.zone, labeller.lab_filter())
        }
        public = external_address(running[layout.access_node.name])
        if not public:
            raise ProviderError(
                f"The access node {layout.access_node.name} has no external address.",
                fix="`stacklab up` again; check the instance in the console if it stays so",
            )
        accesses = tuple(
            node_access(
                node.name,
                str(node.management_address),
                public,
                is_access=node.is_access,
                user=DEFAULT_USER,
                key=context.ssh_private_key,
            )
            for node in layout.nodes
        )
        self._wait_for_ssh(accesses, context, GcpTimeout)
        return accesses

    # find, remove, cost

    def discover(self, lab: str) -> list[FoundResource]:
        return inventory(self._gcp(), lab, self.where).resources()

    def destroy(self, lab: str, progress: ProgressCallback) -> list[FoundResource]:
        gcp, where = self._gcp(), self.where
        found = inventory(gcp, lab, where)
        tear_down(gcp, found, where, progress)
        verify_gone(gcp, lab, where)
        return found.resources()

    def running_cost(self, lab: str, now: datetime | None = None) -> RunningCost:
        """What the lab's running instances have cost so far, found from GCP itself."""
        running = [
            RunningInstance(i.labels.get(NODE_LABEL, i.name), i.machine_type, i.started_at)
            for i in inventory(self._gcp(), lab, self.where).instances
            if i.status in BILLED_STATES
        ]
        return running_cost(running, hourly_prices(self.catalog), now or datetime.now(UTC))

    # golden images

    def snapshot(
        self, lab: str, progress: ProgressCallback, name: str | None = None
    ) -> dict[str, str]:
        """Golden images of every node of the lab (`stacklab snapshot`): node -> image."""
        name = name or snapshot_name()
        made = make_golden_images(self._gcp(), self._labeller(lab), self.where.zone, name, progress)
        save_golden_files(lab, name, lab_dir(lab))
        return {node: image.name for node, image in made.items()}

    def restore_lab_files(self, lab: str, directory: Path) -> None:
        """`up --from`: the snapshot's key and passwords, which its images were made with."""
        if self.from_snapshot is None:
            return
        found = golden_images(self._gcp(), lab, self.from_snapshot)
        if not found:
            return  # check() says the snapshot has no images, naming it
        name = next(iter(found.values())).labels[SNAPSHOT_LABEL]
        restore_golden_files(lab, name, directory)

    def golden_images(self, lab: str, name: str = LATEST) -> dict[str, str]:
        return {node: image.name for node, image in golden_images(self._gcp(), lab, name).items()}

    def delete_snapshot(
        self, lab: str, name: str, progress: ProgressCallback
    ) -> list[FoundResource]:
        removed = delete_golden_images(self._gcp(), lab, name, progress)
        delete_golden_files(lab, name)
        return removed


def _unknown_place() -> ProviderError:
    return ProviderError(
        "The GCP lab's project or zone is not known here.",
        fix="run the command in the directory of the lab's stacklab.yaml (it names "
        "provider.project and provider.zone)",
    )
