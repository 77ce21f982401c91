"""Specs that try to hurt (issue 15, item 1), fed to `stacklab plan -f FILE` as a user would:
a key given twice, an alias bomb, a region that does not exist, bytes that are not text.
Each ends at once with exit code 2, the field or YAML line, and no traceback."""

from __future__ import annotations

import signal
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from stacklab.catalog import load_catalog
from stacklab.cli.main import run
from stacklab.config.loader import MAX_SPEC_BYTES, parse_spec_text
from stacklab.config.models import Preset, ProviderKind
from stacklab.config.template import render_spec
from stacklab.config.yaml_reader import MAX_VALUES
from stacklab.errors import SpecError

CATALOG = load_catalog(with_host=False)

# Eight lines: each list names the one above nine times, 9**8 (43 million) values in all.
ALIAS_BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
name: [*g, *g, *g, *g, *g, *g, *g, *g, *g]
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def plan_of(content: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = Path("spec.yaml")
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    code = run(["plan", "-f", str(path)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output, output
    return code, " ".join(output.split())  # rich wraps lines; compare words


@contextmanager
def interrupted_after(seconds: float) -> Iterator[None]:
    """Fail instead of hanging when a spec keeps the loader busy (the alias bomb did for
    minutes): the alarm interrupts whatever Python code runs."""

    def give_up(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still busy after {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(text: str) -> SpecError:
    with pytest.raises(SpecError) as error:
        parse_spec_text(text, "spec.yaml")
    return error.value


# --- a key given twice ---


def test_a_name_given_twice_is_refused_naming_both_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, output = plan_of("name: one\nprovider: local\nname: two\n", capsys)
    assert code == 2, output
    assert "spec.yaml:3: name:" in output
    assert "`name` is given twice" in output and "line 1 and on line 3" in output
    assert "delete line 1 or line 3" in output


def test_duplicate_keys_are_found_at_any_depth_and_all_reported() -> None:
    error = refused(
        textwrap.dedent("""\
        name: lab
        provider:
          kind: ssh
          hosts:
            - name: aio
              address: 192.0.2.10
              interfaces: {management: eth1, management: eth2}
              address: 192.0.2.11
        """)
    )
    found = {(p.field, p.line) for p in error.problems}
    assert found == {
        ("provider.hosts[0].interfaces.management", 7),
        ("provider.hosts[0].address", 8),
    }, error.render()
    assert "on line 6 and on line 8" in error.render()


def test_the_same_key_in_different_mappings_is_no_duplicate() -> None:
    spec, _ = parse_spec_text(
        "name: lab\ntopology:\n  nodes:\n"
        "    - {name: ctl, roles: [controller, network]}\n"
        "    - {name: cmp, roles: [compute]}\n",
        "spec.yaml",
    )
    assert spec.topology.nodes is not None and len(spec.topology.nodes) == 2


# --- aliases ---


def test_an_alias_bomb_ends_at_once_naming_the_alias_and_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    with interrupted_after(5):
        code, output = plan_of(ALIAS_BOMB, capsys)
    took = time.perf_counter() - started
    assert code == 2, output
    assert took < 1.0, f"the alias bomb took {took:.2f} s"
    assert f"expands them only up to {MAX_VALUES} values" in output
    assert "spec.yaml:4: (yaml): 'd: &d [*c," in output  # where the count crosses the bound
    assert "alias *c brings the document" in output


def test_an_alias_to_its_own_collection_is_refused() -> None:
    error = refused("name: lab\nservices: &s {cinder: true, more: *s}\n")
    assert error.problems[0].line == 2
    assert "alias *s refers to the list or mapping it is part of" in error.render()


def test_aliases_within_the_bound_are_fine() -> None:
    spec, lines = parse_spec_text(
        textwrap.dedent("""\
        name: metal
        provider:
          kind: ssh
          hosts:
            - name: controller
              address: 192.0.2.10
              interfaces: &two {management: eth1, uplink: eth0}
            - name: network
              address: 192.0.2.11
              interfaces: {management: eth1, overlay: eth2, provider: eth3, uplink: eth0}
            - name: compute1
              address: 192.0.2.12
              interfaces: &ov {management: eth1, overlay: eth2}
            - {name: compute2, address: 192.0.2.13, interfaces: *ov}
            - {name: storage, address: 192.0.2.14, interfaces: *two}
        topology: {preset: multinode}
        """),
        "spec.yaml",
    )
    hosts = spec.provider.hosts  # type: ignore[union-attr]
    assert hosts[3].interfaces == hosts[2].interfaces
    assert lines[("provider", "hosts", 4, "interfaces")] == 15


def test_deep_nesting_is_refused_with_its_line() -> None:
    text = "name: lab\n" + "".join(" " * i + f"k{i}:\n" for i in range(40))
    error = refused(text)
    assert "nests deeper than" in error.render()
    assert error.problems[0].line is not None and error.problems[0].line < 40


# --- regions and zones come from the catalog ---


def test_an_unknown_aws_region_is_refused_with_did_you_mean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, output = plan_of(
        "name: m\nprovider: {kind: aws, region: mars-1}\naccess: {admin_cidr: 203.0.113.7/32}\n",
        capsys,
    )
    assert code == 2, output
    assert "spec.yaml:2: provider.region: 'mars-1' is not valid" in output
    assert "the aws catalog knows no such region" in output
    assert "did you mean" in output and "us-east-1" in output


def test_a_misspelt_region_gets_the_right_suggestion() -> None:
    error = refused("name: m\nprovider: {kind: aws, region: eu-cental-1}\n")
    assert "did you mean eu-central-1" in error.problems[0].fix


def test_a_gcp_zone_must_lie_in_the_region() -> None:
    error = refused("name: g\nprovider: {kind: gcp, region: us-central1, zone: europe-west1-b}\n")
    problem = error.problems[0]
    assert (problem.field, problem.value, problem.line) == ("provider.zone", "europe-west1-b", 2)
    assert "lies in region europe-west1, not in provider.region us-central1" in problem.why
    assert "us-central1-a" in problem.fix and "region: europe-west1" in problem.fix


def test_an_unknown_gcp_zone_gets_a_zone_of_the_region() -> None:
    error = refused("name: g\nprovider: {kind: gcp, region: us-east1, zone: us-east1-a}\n")
    assert error.problems[0].field == "provider.zone"
    assert "did you mean" in error.problems[0].fix and "us-east1-b" in error.problems[0].fix


def test_an_unknown_gcp_region() -> None:
    error = refused("name: g\nprovider: {kind: gcp, region: europe-west5}\n")
    assert error.problems[0].field == "provider.region"
    assert "did you mean" in error.problems[0].fix


@pytest.mark.parametrize(
    "provider",
    [
        "{kind: aws, region: ap-southeast-7}",
        "{kind: gcp, region: europe-west1}",
        "{kind: gcp, region: us-central1, zone: us-central1-f}",
    ],
)
def test_regions_and_zones_the_catalog_knows_pass(provider: str) -> None:
    parse_spec_text(f"name: ok\nprovider: {provider}\n", "spec.yaml")


@pytest.mark.parametrize("provider", [ProviderKind.AWS, ProviderKind.GCP])
def test_the_templates_regions_are_in_the_catalog(provider: ProviderKind) -> None:
    for preset in Preset:
        parse_spec_text(render_spec("lab", preset, provider), "spec.yaml")


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_the_region_lists_say_where_they_come_from_and_when(provider: str) -> None:
    regions = CATALOG.of(provider).regions
    assert regions is not None
    assert regions.as_of.year >= 2025 and len(regions.source) > 20
    assert len(regions.names) >= 30
    for name, region in regions.names.items():
        assert region.location, name
        assert all(zone.startswith(f"{name}-") for zone in region.zones), name
    if provider == "gcp":
        assert all(len(region.zones) >= 3 for region in regions.names.values())


# --- bytes and sizes ---


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: lab\nprovider: \xff\xfe local\n", "spec.yaml:2: (file): 'byte 0xff'"),
        ("name: la\x00b\n", "spec.yaml:1: (yaml): 'character U+0000'"),
        ("name: lab\nos: !!int debian\n", "spec.yaml:2: (yaml)"),
        ("name: lab\nos: !!timestamp debian\n", "spec.yaml:2: (yaml)"),
        ("name: lab\nservices: {cinder: !!bool maybe}\n", "spec.yaml:2: (yaml)"),
        ("name: lab\nos: " + "[" * 3000 + "]" * 3000 + "\n", "spec.yaml:2: (yaml)"),
        ("name: lab\nhypervisor: " + "9" * 5000 + "\n", "spec.yaml:2: (yaml)"),
        ("name: lab\nos: !!python/object:os.system x\n", "spec.yaml:2: (yaml)"),
        ("name: " + "x" * 100_000 + "\n", "... (100000 characters)"),
        ("name: lab\n" + "# padding\n" * (MAX_SPEC_BYTES // 10), "more than 256 KiB"),
        ("name: lab\n\u00b2: 1\n", "spec.yaml:2: ²: 1 is not valid: this field is not known"),
    ],
    ids=[
        "invalid-utf8",
        "null-byte",
        "bad-int-tag",
        "bad-timestamp-tag",
        "bad-bool-tag",
        "deep-flow-nesting",
        "huge-int",
        "python-tag",
        "huge-string",
        "huge-file",
        "unicode-digit-key",
    ],
)
def test_bytes_that_are_no_spec_end_with_a_clear_error(
    content: str | bytes, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = plan_of(content, capsys)
    assert code == 2, output
    assert expected in output, output
    assert len(output) < 2000, "a message must stay one screen"


def test_a_directory_as_the_spec_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    Path("dir.yaml").mkdir()
    code = run(["plan", "-f", "dir.yaml"])
    output = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "it is not a file" in output and "Traceback" not in output
