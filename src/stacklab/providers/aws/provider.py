"""The AWS provider: a lab on EC2, one VPC per lab, found again by its tags."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stacklab.config.models import AwsProvider as AwsSettings
from stacklab.config.models import NetworkName, Spec
from stacklab.core.context import LabContext
from stacklab.core.nodes import NodeAccess, ProgressCallback
from stacklab.errors import HostError, Problem, ProviderError, SpecError
from stacklab.plan.models import Plan
from stacklab.providers.aws.errors import AwsTimeout
from stacklab.providers.aws.golden import (
    LATEST,
    SNAPSHOT_TAG,
    delete_golden_images,
    golden_images,
    make_golden_images,
    snapshot_name,
)
from stacklab.providers.aws.layout import (
    DEFAULT_USER,
    LabLayout,
    Routes,
    cloud_config,
    lab_layout,
    layout_problems,
)
from stacklab.providers.aws.network import (
    choose_zone,
    ensure_default_route,
    ensure_network,
    find_network,
)
from stacklab.providers.aws.nodes import (
    LaunchSettings,
    ensure_instance,
    ensure_interfaces,
    ensure_key_pair,
    ensure_public_address,
    resolve_image,
)
from stacklab.providers.aws.records import Image
from stacklab.providers.aws.tags import NODE_TAG, Tagger
from stacklab.providers.aws.teardown import inventory, tear_down, verify_gone
from stacklab.providers.base import FoundResource, RunningCost
from stacklab.providers.cost import RunningInstance, hourly_prices, running_cost
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
    from stacklab.providers.aws.adapter import Ec2Adapter

KIND = "aws"
BILLED_STATES = frozenset({"pending", "running"})


class AwsProvider(RentedNodesProvider[AwsSettings, "Ec2Adapter"]):
    """Implements the Provider contract on EC2."""

    kind = KIND

    @classmethod
    def from_spec(cls, spec: Spec, *, from_snapshot: str | None = None) -> AwsProvider:
        if not isinstance(spec.provider, AwsSettings):
            raise ProviderError(f"The AWS provider cannot run a {spec.provider.kind} spec.")
        return cls(spec.provider, access=spec.access, from_snapshot=from_snapshot)

    @classmethod
    def for_teardown(
        cls,
        *,
        region: str | None = None,
        profile: str | None = None,
        adapter: Ec2Adapter | None = None,
    ) -> AwsProvider:
        """For `status` and `down` with no spec at hand: the region from the argument (the one
        recorded with the lab), else AWS_REGION / AWS_DEFAULT_REGION, else the spec's default."""
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        settings = (
            AwsSettings(profile=profile, region=region) if region else AwsSettings(profile=profile)
        )
        return cls(settings, adapter=adapter, wait_for_ssh=False)

    def _ec2(self) -> Ec2Adapter:
        if self._adapter is None:
            try:
                from stacklab.providers.aws.adapter import Ec2Adapter
            except ImportError as missing:
                raise HostError(
                    f"The AWS provider needs boto3, which is not installed ({missing}).",
                    fix="pip install 'stacklab[aws]' (or pip install boto3)",
                ) from missing
            self._adapter = Ec2Adapter.connect(
                region=self.settings.region, profile=self.settings.profile
            )
        return self._adapter

    def _tagger(self, lab: str) -> Tagger:
        return Tagger(lab, self.settings.owner or local_user())

    def _layout(self, plan: Plan) -> LabLayout:
        problems = layout_problems(plan, self.access.admin_cidr, self.settings.allow_ssh_from_world)
        key = self.settings.private_key_path
        if key is not None and self.settings.key_pair_name is None:
            problems.append(
                Problem(
                    field="provider.private_key_path",
                    value=str(key),
                    why="it belongs to a key pair of yours, and provider.key_pair_name is not set",
                    fix="set provider.key_pair_name to that key pair, or remove private_key_path "
                    "to use the lab's own key",
                )
            )
        elif key is not None and not key.expanduser().is_file():
            problems.append(
                Problem(
                    field="provider.private_key_path",
                    value=str(key),
                    why="no such file",
                    fix="point it at the private key of provider.key_pair_name, or remove both",
                )
            )
        if problems:
            raise SpecError(problems)
        return lab_layout(plan, self.catalog)

    # check

    def check(self, plan: Plan) -> None:
        if plan.provider != KIND:
            raise ProviderError(f"The AWS provider cannot run a {plan.provider} plan.")
        self._layout(plan)
        ec2 = self._ec2()
        choose_zone(ec2, plan.lab, sorted({node.machine_type for node in plan.nodes}))
        resolve_image(ec2, self.settings.image, self.catalog.images, plan.os)
        self._golden_images(ec2, plan)

    def _golden_images(self, ec2: Ec2Adapter, plan: Plan) -> dict[str, Image]:
        if self.from_snapshot is None:
            return {}
        return self._complete_snapshot(golden_images(ec2, plan.lab, self.from_snapshot), plan)

    # create

    def create_networks(self, plan: Plan, context: LabContext) -> None:
        layout = self._layout(plan)
        ec2 = self._ec2()
        zone = choose_zone(ec2, plan.lab, sorted({node.machine_type for node in plan.nodes}))
        ensure_network(ec2, layout, self._tagger(plan.lab), zone, self._reporter(context))

    def create_nodes(self, plan: Plan, context: LabContext) -> tuple[NodeAccess, ...]:
        layout = self._layout(plan)
        ec2 = self._ec2()
        tagger, created = self._tagger(plan.lab), self._reporter(context)
        network = find_network(ec2, layout)
        keys = lab_public_keys(plan, context)
        launch = LaunchSettings(
            image=resolve_image(ec2, self.settings.image, self.catalog.images, plan.os),
            key_name=ensure_key_pair(ec2, self.settings, keys[0], tagger, created),
            root_volume_gb=self.settings.root_volume_gb,
            iops=self.settings.iops,
            ebs_optimized=self.settings.ebs_optimized,
        )
        golden = self._golden_images(ec2, plan)
        instance_ids = []
        access_interfaces = {}
        for node in layout.nodes:
            interfaces = ensure_interfaces(ec2, node, network, tagger, created)
            if node.is_access:
                access_interfaces = interfaces
            node_launch = replace(launch, image=golden[node.name]) if golden else launch
            instance, _ = ensure_instance(
                ec2, node, interfaces, node_launch, cloud_config(node, keys), tagger, created
            )
            instance_ids.append(instance.id)
        public_nic = next(nic for nic in layout.access_node.nics if nic.public)
        address = ensure_public_address(ec2, access_interfaces[public_nic.network], tagger, created)
        self._route_egress(
            ec2, network.route_table_ids, access_interfaces[NetworkName.MANAGEMENT].id
        )
        context.progress(f"waiting for {len(instance_ids)} instances to run")
        ec2.wait_for_instances(instance_ids, "running")
        accesses = tuple(
            self._node_access(
                node.name, str(node.management_address), address.public_ip, node.is_access, context
            )
            for node in layout.nodes
        )
        self._wait_for_ssh(accesses, context, AwsTimeout)
        return accesses

    def _route_egress(self, ec2: Ec2Adapter, tables: dict[Routes, str], interface_id: str) -> None:
        table_id = tables.get(Routes.VIA_ACCESS_NODE)
        if table_id is None:
            return
        table = ec2.route_tables({"route-table-id": (table_id,)})[0]
        ensure_default_route(ec2, table, network_interface_id=interface_id)

    def _node_access(
        self, name: str, private: str, public: str, is_access: bool, context: LabContext
    ) -> NodeAccess:
        key = self.settings.private_key_path
        private_key = key.expanduser() if key else context.ssh_private_key
        return node_access(
            name, private, public, is_access=is_access, user=DEFAULT_USER, key=private_key
        )

    # find, remove, cost

    def discover(self, lab: str) -> list[FoundResource]:
        return inventory(self._ec2(), lab).resources()

    def destroy(self, lab: str, progress: ProgressCallback) -> list[FoundResource]:
        ec2 = self._ec2()
        found = inventory(ec2, lab)
        tear_down(ec2, lab, found, progress)
        verify_gone(ec2, lab)
        return found.resources()

    # golden images

    def snapshot(
        self, lab: str, progress: ProgressCallback, name: str | None = None
    ) -> dict[str, str]:
        """Golden images of every node of the lab (`stacklab snapshot`): node -> AMI id."""
        name = name or snapshot_name()
        made = make_golden_images(self._ec2(), lab, name, self._tagger(lab).owner, progress)
        save_golden_files(lab, name, lab_dir(lab))
        return {node: image.id for node, image in made.items()}

    def restore_lab_files(self, lab: str, directory: Path) -> None:
        """`up --from`: the snapshot's key and passwords, which its images were made with."""
        if self.from_snapshot is None:
            return
        found = golden_images(self._ec2(), lab, self.from_snapshot)
        if not found:
            return  # check() says the snapshot has no images, naming it
        name = next(iter(found.values())).tags[SNAPSHOT_TAG]
        restore_golden_files(lab, name, directory)

    def golden_images(self, lab: str, name: str = LATEST) -> dict[str, str]:
        return {node: image.id for node, image in golden_images(self._ec2(), lab, name).items()}

    def delete_snapshot(
        self, lab: str, name: str, progress: ProgressCallback
    ) -> list[FoundResource]:
        removed = delete_golden_images(self._ec2(), lab, name, progress)
        delete_golden_files(lab, name)
        return removed

    def running_cost(self, lab: str, now: datetime | None = None) -> RunningCost:
        """What the lab's running instances have cost so far, found from AWS itself."""
        running = [
            RunningInstance(i.tags.get(NODE_TAG, i.id), i.instance_type, i.launch_time)
            for i in inventory(self._ec2(), lab).instances
            if i.state in BILLED_STATES
        ]
        return running_cost(running, hourly_prices(self.catalog), now or datetime.now(UTC))
