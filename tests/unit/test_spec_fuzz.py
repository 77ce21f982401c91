"""Random mutations of every spec `stacklab init` writes (each preset with each provider),
fed to `stacklab plan -f FILE` as a user would (issue 15, item 1).

Whatever the mutation, the command ends within a second of CPU time (wall time on this
shared machine says more about the neighbours than about stacklab) with exit code 0 (the mutation
happened to be a valid spec) or 2, a message naming the field or the YAML line, and no
traceback; an exception that escapes the spec loading fails the test with its stack.
Mutations that can never be a valid spec (a key given twice, an alias bomb, a NUL byte,
bytes that are not UTF-8, an enormous file, deep nesting) must end in exit code 2.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stacklab.cli.main import run
from stacklab.config.loader import MAX_SPEC_BYTES
from stacklab.config.models import Preset, ProviderKind, Spec
from stacklab.config.template import render_spec

TEMPLATES = [render_spec("lab", preset, provider) for preset in Preset for provider in ProviderKind]
# STACKLAB_FUZZ_EXAMPLES=2000 hunts with fresh random examples; the quick tier runs 30.
HUNT = os.environ.get("STACKLAB_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(HUNT or 30),
    deadline=None,  # `check` bounds each run's CPU time instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=HUNT is None,  # the quick tier runs the same examples every time
)
DUMP: dict[str, Any] = {"allow_unicode": True, "width": 10**6, "sort_keys": False}
# "path/spec.yaml:12: field: " or "path/spec.yaml: field: " (no line for a whole-file problem)
NAMED_FIELD = re.compile(r"spec\.yaml(:\d+)?: (\S+)")

text_no_surrogates = st.text(st.characters(exclude_categories=("Cs",)), max_size=50)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),  # huge numbers
    st.floats(allow_nan=True, allow_infinity=True),
    text_no_surrogates,
    st.text(min_size=1, max_size=3).map(lambda s: s * 5_000),  # huge strings
    st.sampled_from(["", "local", "aws", "gcp", "kvm", "aio", "10.0.0.0/24", "mars-1", "é中🙂"]),
)
keys = st.one_of(text_no_surrogates, st.integers(), st.booleans(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module", autouse=True)
def isolated_home() -> Iterator[None]:
    with tempfile.TemporaryDirectory() as home, pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", f"{home}/state")
        patch.setenv("XDG_CACHE_HOME", f"{home}/cache")
        patch.setenv("NO_COLOR", "1")
        for template in TEMPLATES:  # imports and the catalog, once, outside the deadline
            plan(template.encode("utf-8"))
        yield


def plan(content: bytes) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "spec.yaml"
        path.write_bytes(content)
        shown = io.StringIO()
        started = time.process_time()
        with redirect_stdout(shown), redirect_stderr(shown):
            code = run(["plan", "-f", str(path)])
        took = time.process_time() - started
    output = " ".join(shown.getvalue().split())
    assert took < 1.0, f"`plan` took {took:.2f} s of CPU: {output[:500]}"
    return code, output


def check(content: bytes, *, always_invalid: bool) -> None:
    code, output = plan(content)
    event(f"exit code {code}")
    assert "Traceback" not in output, output
    assert code in ({2} if always_invalid else {0, 2}), f"exit code {code}: {output[:2000]}"
    if code == 2:
        named = NAMED_FIELD.search(output)
        assert named is not None and "is not valid" in output, output[:2000]
        if named.group(2).startswith("(yaml)"):
            assert named.group(1), f"a YAML error without its line: {output[:2000]}"
        assert len(output) < 20_000, "the message must stay readable, not echo the input"


def paths_in(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_in(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_in(value, (*prefix, index))
    return found


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    return [replaced(item, rest, value) if i == head else item for i, item in enumerate(data)]


@FUZZ
@given(st.sampled_from(TEMPLATES), st.data(), values)
def test_a_field_given_a_wrong_or_wild_value(
    template: str, data: st.DataObject, value: Any
) -> None:
    spec = yaml.safe_load(template)
    path = data.draw(st.sampled_from(paths_in(spec)[1:]), label="path")
    mutated = yaml.safe_dump(replaced(spec, path, value), **DUMP)
    check(mutated.encode("utf-8"), always_invalid=False)


@FUZZ
@given(st.sampled_from(TEMPLATES), text_no_surrogates.filter(str.strip), values)
def test_an_unknown_key_anywhere(template: str, key: str, value: Any) -> None:
    spec = yaml.safe_load(template)
    spec[key] = value
    mutated = yaml.safe_dump(spec, **DUMP)
    check(mutated.encode("utf-8"), always_invalid=key not in Spec.model_fields)


def with_line_repeated(text: str, index: int) -> str:
    """A top-level or nested `key: value` line given twice in its mapping."""
    lines = text.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_]+:", line)]
    chosen = keyed[index % len(keyed)]
    return "".join([*lines[: chosen + 1], lines[chosen], *lines[chosen + 1 :]])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def alias_bomb(width: int, levels: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@FUZZ
@given(
    st.sampled_from(TEMPLATES),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["duplicate", "bomb", "nul", "bad-utf8", "enormous", "deep"]),
    st.integers(min_value=0, max_value=10**6),
)
def test_text_no_spec_can_hold(template: str, index: int, kind: str, where: int) -> None:
    body = template.encode("utf-8")
    position = where % (len(body) + 1)
    if kind == "duplicate":
        content = with_line_repeated(template, index).encode("utf-8")
    elif kind == "bomb":
        content = body + alias_bomb(width=5 + index % 6, levels=6 + index % 4).encode("utf-8")
    elif kind == "nul":
        content = body[:position] + b"\x00" + body[position:]
    elif kind == "bad-utf8":
        content = body[:position] + bytes([0x80 + index % 0x40, 0xFF]) + body[position:]
    elif kind == "enormous":
        content = body + b"# filler\n" * (MAX_SPEC_BYTES // 9 + 1 + index)
    else:
        content = body + f"extra: {nested(40 + index % 2000)}\n".encode()
    check(content, always_invalid=True)


@FUZZ
@given(st.sampled_from(TEMPLATES), st.integers(min_value=0, max_value=10**6), text_no_surrogates)
def test_text_cut_or_spliced_anywhere(template: str, where: int, insert: str) -> None:
    position = where % (len(template) + 1)
    check((template[:position] + insert).encode("utf-8"), always_invalid=False)
    check(
        (template[:position] + insert + template[position:]).encode("utf-8"), always_invalid=False
    )
