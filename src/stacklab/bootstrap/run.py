"""The `bootstrap` step: everything a fresh lab cloud needs, found or created, safe to run
again (a second run creates nothing)."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from stacklab.bootstrap.admin_steps import (
    ensure_demo_identity,
    ensure_external_network,
    ensure_flavors,
    ensure_quotas,
)
from stacklab.bootstrap.decisions import Action, Change
from stacklab.bootstrap.glance_image import ensure_test_image
from stacklab.bootstrap.project_steps import (
    ensure_keypair,
    ensure_router,
    ensure_security_rules,
    ensure_tenant_network,
)
from stacklab.bootstrap.resources import keypair_name, lab_networks
from stacklab.bootstrap.url_image import ensure_url_image
from stacklab.core.context import LabContext
from stacklab.core.nodes import ProgressCallback
from stacklab.images.cloud_image import CloudImage, fetch_cloud_image
from stacklab.images.image_manifest import BuiltImage
from stacklab.images.test_image import build_test_image
from stacklab.labcloud.credentials import lab_credentials, lab_public_key
from stacklab.openstack_api import can_log_in, connect
from stacklab.plan.models import Plan
from stacklab.runner import LocalRunner


@dataclass(frozen=True)
class BootstrapReport:
    changes: tuple[Change, ...]
    seconds: float

    @property
    def made(self) -> tuple[Change, ...]:
        """What this run created or replaced (empty on a second run)."""
        return tuple(c for c in self.changes if c.action in (Action.CREATED, Action.REPLACED))

    def summary(self) -> str:
        counts = Counter(change.action.value for change in self.changes)
        told = ", ".join(f"{counts[a.value]} {a.value}" for a in Action if counts[a.value])
        return f"bootstrap: {told} in {self.seconds:.0f} s"

    def to_dict(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 1),
            "changes": [
                {"kind": c.kind, "name": c.name, "action": c.action.value, "detail": c.detail}
                for c in self.changes
            ],
        }


def bootstrap_lab(
    plan: Plan,
    lab_directory: Path,
    image: BuiltImage,
    progress: ProgressCallback = lambda message: None,
    url_image: CloudImage | None = None,
) -> BootstrapReport:
    """url_image: the spec's image_url, downloaded; uploaded besides the test image."""
    started = time.monotonic()
    credentials = lab_credentials(plan.lab, lab_directory, make_demo_password=True)
    networks = lab_networks(plan)
    public_key = lab_public_key(lab_directory)
    keypair = keypair_name(plan.lab)
    changes: list[Change] = []

    with closing(connect(credentials.admin)) as admin:
        progress("bootstrap: flavors, demo project and user, quotas")
        changes += ensure_flavors(admin)
        demo_identity, made = ensure_demo_identity(
            admin, str(credentials.demo.password), lambda: can_log_in(credentials.demo)
        )
        changes += made
        changes += ensure_quotas(admin, demo_identity.project_id)
        progress("bootstrap: test image")
        changes += ensure_test_image(admin, image)[1]
        if url_image is not None:
            progress(f"bootstrap: image {url_image.name} from image_url")
            changes.append(ensure_url_image(admin, url_image)[1])
        progress("bootstrap: external network")
        external_id, made = ensure_external_network(admin, networks.external)
        changes += made
        changes.append(ensure_keypair(admin, keypair, public_key, credentials.admin.username))
    # The demo user makes its own resources, so that its project owns them.
    with closing(connect(credentials.demo)) as demo:
        progress("bootstrap: demo network, router, security rules")
        changes.append(ensure_keypair(demo, keypair, public_key, credentials.demo.username))
        subnet_id, made = ensure_tenant_network(demo, networks.tenant, networks.tenant_mtu)
        changes += made
        changes += ensure_router(demo, external_id, subnet_id)
        changes += ensure_security_rules(demo)
    return BootstrapReport(tuple(changes), time.monotonic() - started)


def bootstrap_step(
    plan: Plan, context: LabContext, image_url: str | None = None
) -> BootstrapReport:
    """The `bootstrap` step of `up`: the test image from its cache (built if need be), the
    spec's image_url from its cache (downloaded if need be), then the lab's cloud resources."""
    context.progress("bootstrap: the test image (cached after its first build)")
    image = build_test_image(LocalRunner()).image
    url_image = (
        None
        if image_url is None
        else fetch_cloud_image(image_url, LocalRunner(), progress=context.progress)
    )
    report = bootstrap_lab(plan, context.directory, image, context.progress, url_image)
    context.progress(report.summary())
    return report
