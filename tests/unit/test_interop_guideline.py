"""The interop guideline as catalog data: parsing a guideline document (schema 2.0), and the
shipped data derived from the real 2020.06 guideline."""

from __future__ import annotations

import copy
import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacklab.catalog.interop import (
    SERVICES,
    GuidelineError,
    from_data,
    main,
    parse_guideline,
    shipped_guideline,
    to_data,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOKENS_ID = "6f8e4436-fc96-4282-8122-e41df57197a9"
FLAVORS_ID = "e36c0eaa-dff5-4082-ad1f-3f9a80aa3f59"
STORAGE_ID = "a3b5ea1d-3fd0-4a0f-8bd4-4d69b8ba49e0"
FLAVORS_TEST = "tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_list_flavors"


def guideline_document() -> dict[str, Any]:
    """A small guideline of the real schema: two platforms, the compute one of a component
    with required and advisory capabilities; a flagged test, an aliased one."""
    return {
        "metadata": {
            "id": "2099.01",
            "schema": "2.0",
            "source": "https://example.org/interop/2099.01.json",
            "os_trademark_approval": {"releases": ["epoxy"], "status": "approved"},
        },
        "platforms": {
            "OpenStack Powered Compute": {"components": [{"name": "os_powered_compute"}]},
            "OpenStack Powered Storage": {"components": [{"name": "os_powered_storage"}]},
        },
        "components": {
            "os_powered_compute": {
                "capabilities": {
                    "required": ["identity-v3-tokens-create", "compute-flavors-list"],
                    "advisory": ["compute-advisory"],
                    "deprecated": [],
                    "removed": [],
                }
            },
            "os_powered_storage": {
                "capabilities": {"required": ["objectstore-container-list"], "advisory": []}
            },
        },
        "capabilities": {
            "identity-v3-tokens-create": {
                "project": "keystone",
                "tests": {
                    "tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token": {
                        "idempotent_id": f"id-{TOKENS_ID}",
                        "aliases": ["tempest.api.identity.v3.TokensV3Test.test_create_token"],
                    }
                },
            },
            "compute-flavors-list": {
                "project": "nova",
                "tests": {
                    f"{FLAVORS_TEST}": {
                        "idempotent_id": f"id-{FLAVORS_ID}",
                        "flagged": {"reason": "D401 skipped by a Tempest bug", "date": "2016"},
                    }
                },
            },
            "compute-advisory": {
                "project": "nova",
                "tests": {
                    "tempest.api.compute.test_advisory.T.test_a": {
                        "idempotent_id": "id-00000000-0000-0000-0000-000000000001"
                    }
                },
            },
            "objectstore-container-list": {
                "project": "swift",
                "tests": {
                    "tempest.api.object_storage.test_c.T.test_list": {
                        "idempotent_id": f"id-{STORAGE_ID}"
                    }
                },
            },
        },
    }


def test_only_the_platforms_required_capabilities_are_taken() -> None:
    guideline = parse_guideline(guideline_document(), taken_from="repo@abc")
    assert guideline.guideline == "2099.01"
    assert guideline.source == "https://example.org/interop/2099.01.json"
    assert guideline.taken_from == "repo@abc"
    assert guideline.releases == ("epoxy",)
    # Advisory and the storage platform's tests are not required of Compute.
    assert {test.idempotent_id for test in guideline.tests} == {TOKENS_ID, FLAVORS_ID}


def test_each_test_keeps_its_service_aliases_and_flag() -> None:
    guideline = parse_guideline(guideline_document(), taken_from="x")
    tests = {test.idempotent_id: test for test in guideline.tests}
    tokens, flavors = tests[TOKENS_ID], tests[FLAVORS_ID]
    assert (tokens.service, tokens.capability) == ("identity", "identity-v3-tokens-create")
    assert tokens.aliases == ("tempest.api.identity.v3.TokensV3Test.test_create_token",)
    assert tokens.flagged is None
    assert flavors.service == "compute"
    assert flavors.flagged == "D401 skipped by a Tempest bug"


def test_a_test_in_two_capabilities_is_required_once() -> None:
    document = guideline_document()
    document["capabilities"]["compute-flavors-list"]["tests"].update(
        document["capabilities"]["identity-v3-tokens-create"]["tests"]
    )
    guideline = parse_guideline(document, taken_from="x")
    assert sorted(test.idempotent_id for test in guideline.tests) == sorted([TOKENS_ID, FLAVORS_ID])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["metadata"].update(schema="1.6"), "schema '1.6'"),
        (lambda d: d["platforms"].pop("OpenStack Powered Compute"), "no platform"),
        (
            lambda d: d["capabilities"]["compute-flavors-list"].update(project="trove"),
            "project 'trove'",
        ),
        (
            lambda d: d["components"]["os_powered_compute"]["capabilities"]["required"].append(
                "nowhere"
            ),
            "'nowhere' is not defined",
        ),
        (
            lambda d: d["capabilities"]["compute-flavors-list"]["tests"][FLAVORS_TEST].update(
                idempotent_id="e36c0eaa"
            ),
            "not 'id-<uuid>'",
        ),
    ],
)
def test_a_document_of_another_form_is_refused_naming_what(change: Any, message: str) -> None:
    document = copy.deepcopy(guideline_document())
    change(document)
    with pytest.raises(GuidelineError, match=re.escape(message)):
        parse_guideline(document, taken_from="x")


def test_the_data_form_round_trips() -> None:
    guideline = parse_guideline(guideline_document(), taken_from="x", note="why this one")
    assert from_data(yaml.safe_load(yaml.safe_dump(to_data(guideline)))) == guideline


def test_the_generator_writes_data_that_reads_back(tmp_path: Path) -> None:
    source = tmp_path / "2099.01.json"
    source.write_text(json.dumps(guideline_document()), encoding="utf-8")
    written = io.StringIO()
    with redirect_stdout(written):
        assert main([str(source), "openstack/interop@abc"]) == 0
    text = written.getvalue()
    assert text.startswith("# The required tests of the public interop guideline")
    read = from_data(yaml.safe_load(text))
    assert read == parse_guideline(guideline_document(), taken_from="openstack/interop@abc")


def test_the_shipped_guideline_is_2020_06_of_openstack_interop() -> None:
    guideline = shipped_guideline()
    assert guideline.guideline == "2020.06"
    assert guideline.platform == "OpenStack Powered Compute"
    assert guideline.source.endswith("/2020.06.json")
    assert guideline.taken_from.startswith("openstack/interop@5f7a8cf9")
    assert "2025.1" in guideline.note


def test_the_shipped_tests_are_the_guidelines_228_by_service() -> None:
    guideline = shipped_guideline()
    counts = {service: len(guideline.by_service(service)) for service in SERVICES}
    # Counted in 2020.06.json: nova 81, neutron 64, cinder 55, glance 20, keystone 8.
    assert counts == {"compute": 81, "network": 64, "volume": 55, "image": 20, "identity": 8}
    ids = [test.idempotent_id for test in guideline.tests]
    assert len(set(ids)) == len(ids) == 228
    assert all(UUID.match(uuid) for uuid in ids)
    flagged = {test.name.rsplit(".", 1)[-1] for test in guideline.tests if test.flagged}
    assert len(flagged) == 11
    assert {"test_resize_server_confirm", "test_update_router_unset_gateway"} <= flagged
