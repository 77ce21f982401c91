"""`stacklab verify --interop` on the session's real AIO lab (conftest.py), restricted to
the guideline's identity tests so that CI stays within its time (the full run is
bench/interop_bench.py): Tempest installed into its own environment, tempest.conf made
from the lab (mode 0600, the lab's real image, flavors and external network), the required
identity tests passing, no secret in what it prints. Root, nspawn."""

from __future__ import annotations

import configparser
import json
from contextlib import closing

import pytest
from conftest import AioLab

from stacklab.bootstrap.resources import ALT_TEST_IMAGE, EXTERNAL_NETWORK, TEST_IMAGE
from stacklab.catalog.interop import shipped_guideline
from stacklab.cli.main import run
from stacklab.labcloud.credentials import admin_credentials
from stacklab.openstack_api import connect
from stacklab.verify.interop.results import Outcome
from stacklab.verify.interop.run import WORKSPACE

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_verify_interop_identity_passes_with_a_tempest_conf_of_the_lab(
    lab: AioLab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["verify", "--interop", "--only", "identity", "--concurrency", "1"]) == 0
    printed = capsys.readouterr()
    admin = admin_credentials(lab.name, lab.directory)
    assert str(admin.password) not in printed.out + printed.err
    identity = shipped_guideline().by_service("identity")
    table = next(line for line in printed.out.splitlines() if line.startswith("identity "))
    passed, failed, skipped, missing = (int(n) for n in table.split()[1:])
    assert failed == 0 and missing == 0, printed.out
    assert passed + skipped == len(identity) and passed >= len(identity) - 1, printed.out
    assert "verify --interop PASSED" in printed.out

    conf_path = lab.directory / WORKSPACE / "etc" / "tempest.conf"
    assert conf_path.stat().st_mode & 0o777 == 0o600
    conf = configparser.RawConfigParser()
    conf.read(conf_path)
    with closing(connect(admin)) as cloud:
        (image,) = cloud.images(TEST_IMAGE)
        (alternative,) = cloud.images(ALT_TEST_IMAGE)
        (public,) = (n for n in cloud.networks() if n.name == EXTERNAL_NETWORK and n.external)
    assert conf["compute"]["image_ref"] == image.id
    assert conf["compute"]["image_ref_alt"] == alternative.id
    assert conf["network"]["public_network_id"] == public.id
    assert conf["identity"]["uri_v3"] == admin.auth_url
    assert conf["service_available"]["cinder"] == str("cinder" in lab.plan.services).lower()
    minimum, maximum = (conf["compute"][f"{e}_microversion"] for e in ("min", "max"))
    assert minimum == "2.1" and tuple(map(int, maximum.split("."))) >= (2, 96)


def test_verify_interop_json_settles_each_selected_test(
    lab: AioLab, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regex slice, as a script reads it: every test it selects has an outcome."""
    assert run(["verify", "--interop", "--regex", r"test_tokens\.", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    tokens = [t for t in report["tests"] if ".test_tokens." in t["name"]]
    assert len(tokens) == len(report["tests"]) == 3
    assert {t["outcome"] for t in tokens} == {Outcome.PASSED.value}
    assert report["guideline"] == "2020.06" and report["passed"] is True
