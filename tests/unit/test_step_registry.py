"""The steps of `up` are declared once: the planner, the orchestration, the journal and the
installer all read the one registry."""

from __future__ import annotations

from pathlib import Path

from stacklab.catalog import load_catalog
from stacklab.config.models import Spec
from stacklab.installer.phases import PHASES
from stacklab.orchestration.specs import LoadedSpec
from stacklab.orchestration.up import UpRun
from stacklab.plan.planner import plan
from stacklab.plan.steps import STEPS, VERIFY_STEP, step_before, step_names
from stacklab.state.db import StateDB

CATALOG = load_catalog(with_host=False)


def test_the_plan_holds_the_registry_steps_the_spec_needs_in_registry_order() -> None:
    lean = Spec.model_validate({"name": "s", "services": {"horizon": False}})
    full = Spec.model_validate(
        {"name": "s", "services": {"cinder": True, "octavia": True, "horizon": True}}
    )
    assert plan(full, CATALOG).step_names == step_names()
    lean_steps = plan(lean, CATALOG).step_names
    assert "dashboard" not in lean_steps and "block-storage" not in lean_steps
    assert "proxy" not in lean_steps  # no Horizon and this host on the lab's networks
    assert [name for name in step_names() if name in lean_steps] == list(lean_steps)
    descriptions = {step.name: step.description for step in STEPS}
    assert all(step.description == descriptions[step.name] for step in plan(full, CATALOG).steps)


def test_every_step_with_a_handler_is_run_and_only_those(tmp_path: Path) -> None:
    loaded = LoadedSpec(Spec(name="s"), tmp_path / "stacklab.yaml", {})
    with StateDB(tmp_path / "state.db") as db:
        handlers = UpRun(loaded, db, lambda message: None, provider=None).handlers()  # type: ignore[arg-type]
    declared = {step.name for step in STEPS if step.handler is not None}
    assert set(handlers.handlers) == declared
    assert handlers.always == {step.name for step in STEPS if step.always}


def test_install_phases_are_the_registry_steps_the_playbook_runs() -> None:
    assert PHASES == ("packages", "database", "identity", "block-storage", "image", "placement",
                      "compute", "network", "load-balancer", "dashboard", "proxy")  # fmt: skip
    assert step_before(VERIFY_STEP) == "access"
