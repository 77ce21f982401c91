"""Reads `stacklab.yaml` into a Spec. Every problem becomes a Problem with the field
path, the YAML line, the bad value, why it is wrong and how to fix it."""

from __future__ import annotations

import difflib
import hashlib
import reprlib
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stacklab.catalog.loader import load_catalog
from stacklab.config.models import Spec
from stacklab.config.rules import fabric_problems, region_problems
from stacklab.config.yaml_reader import read_yaml
from stacklab.errors import Problem, SpecError

LineMap = dict[tuple[str | int, ...], int]
MAX_SPEC_BYTES = 256 * 1024  # a spec is a few KiB; this bounds parsing to well under a second
SHOWN_CHARACTERS = 80
SHOWN_WHY = 300

_short = reprlib.Repr()
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring = 2, 4, 4, 40


def _line_map(node: yaml.Node, path: tuple[str | int, ...], lines: LineMap) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)


def line_of(lines: LineMap, dotted: str) -> int | None:
    """The line of the deepest part of a field path that the YAML has."""
    parts: list[str | int] = []
    for token in dotted.replace("]", "").replace("[", ".").split("."):
        token = token.split(" ")[0]
        if token:
            parts.append(int(token) if token.isascii() and token.isdigit() else token)
    while parts:
        line = lines.get(tuple(parts))
        if line is not None:
            return line
        parts.pop()
    return None


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model whose fields are valid at this location (to suggest a spelling).

    Locations inside the provider carry its kind as a tag (`provider.aws.region`).
    """
    current: list[type[BaseModel]] = [Spec]
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [m for m in current if _kind_of(m) == part]
        if tagged:
            current = tagged
            continue
        fields = [m.model_fields[part] for m in current if part in m.model_fields]
        if not fields:
            return None
        current = _models_in(fields[0].annotation)
    return current[0] if len(current) == 1 else None


def _kind_of(model: type[BaseModel]) -> object:
    field = model.model_fields.get("kind")
    return field.default if field else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in getattr(annotation, "__args__", ()):
        found += _models_in(argument)
    return found


def _user_path(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop the provider's kind tag that pydantic puts into the location."""
    if len(loc) > 2 and loc[0] == "provider" and loc[1] in {"local", "ssh", "aws", "gcp"}:
        return (loc[0], *loc[2:])
    return loc


def _fix_for(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    field = str(loc[-1]) if loc else ""
    if kind == "missing":
        return f"add `{field}:` with a value (see `stacklab init` for an example)"
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(field, known, n=1)
        if close:
            return f"did you mean `{close[0]}`? Otherwise remove `{field}`"
        return f"remove `{field}`; allowed here: {', '.join(known)}" if known else "remove it"
    if kind == "string_pattern_mismatch" and field == "name":
        return (
            "use lowercase letters, digits and '-', starting with a letter, 1-10 characters "
            "for a lab (15 for a node)"
        )
    if kind in {"literal_error", "enum", "union_tag_invalid"}:
        return "use one of the values listed above"
    if kind in {"bool_parsing", "bool_type"}:
        return "write true or false"
    if kind.startswith("ip_v4") or "ip" in kind:
        return "write it like 10.0.0.0/24 (a network) or 10.0.0.5 (an address)"
    return "see `stacklab schema` for the allowed form"


def shown(value: object) -> object:
    """The value as a message shows it: itself when short, else a shortened text."""
    if isinstance(value, str):
        if len(value) <= SHOWN_CHARACTERS:
            return value
        return f"{value[: SHOWN_CHARACTERS - 20]}... ({len(value)} characters)"
    if value is None or isinstance(value, bool | int | float):
        return value
    short = _short.repr(value)
    return value if "..." not in short and len(short) <= SHOWN_CHARACTERS else short


def problems_from_validation(error: ValidationError) -> list[Problem]:
    problems = []
    for detail in error.errors(include_url=False):
        loc = _user_path(tuple(detail["loc"]))
        message = detail["msg"].removeprefix("Value error, ")
        if len(message) > SHOWN_WHY:  # pydantic quotes the input in some messages
            message = message[: SHOWN_WHY - 3] + "..."
        fix = _fix_for(detail)
        if detail["type"] == "extra_forbidden":
            message = "this field is not known here"
        elif detail["type"] == "value_error" and "; " in message:
            # The spec's own validators say "what is wrong; how to fix it".
            message, fix = message.rsplit("; ", 1)
        problems.append(
            Problem(
                field=_dotted(loc) or "(top level)",
                value=shown(detail.get("input")),
                why=message[0].lower() + message[1:] if message else message,
                fix=fix,
            )
        )
    return problems


def _without_empty_sections(data: dict[Any, Any], model: type[BaseModel]) -> dict[Any, Any]:
    """A section whose keys are all commented out (`access:` alone) is YAML null: read it as
    an empty section, so its defaults apply, instead of refusing None."""
    result: dict[Any, Any] = {}
    for key, value in data.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            result[key] = value
            continue
        models = _models_in(field.annotation)
        if value is None and models and type(None) not in get_args(field.annotation):
            continue
        if isinstance(value, dict) and len(models) == 1:
            value = _without_empty_sections(value, models[0])
        result[key] = value
    return result


def spec_from_mapping(
    data: object, source: str | None = None, lines: LineMap | None = None
) -> Spec:
    if not isinstance(data, dict):
        raise SpecError(
            [
                Problem(
                    field="(top level)",
                    value=type(data).__name__ if data is not None else "",
                    why=("the file is empty; " if data is None else "")
                    + "a spec is a YAML mapping of fields such as name and provider",
                    fix="start from `stacklab init`",
                    source=source,
                    line=1,
                )
            ],
            source,
        )
    try:
        spec = Spec.model_validate(_without_empty_sections(data, Spec))
    except ValidationError as error:
        problems = problems_from_validation(error)
        raise SpecError(with_lines(problems, source, lines or {}), source) from None
    catalog = load_catalog(with_host=False)
    problems = region_problems(spec, catalog) + fabric_problems(spec, catalog)
    if problems:
        raise SpecError(with_lines(problems, source, lines or {}), source)
    return spec


def with_lines(problems: list[Problem], source: str | None, lines: LineMap) -> list[Problem]:
    return [
        Problem(
            field=p.field,
            value=p.value,
            why=p.why,
            fix=p.fix,
            source=source,
            line=line_of(lines, p.field),
        )
        for p in problems
    ]


def parse_spec_text(text: str, source: str) -> tuple[Spec, LineMap]:
    data, node = read_yaml(text, source)
    lines: LineMap = {}
    if node is not None:
        _line_map(node, (), lines)
    return spec_from_mapping(data, source, lines), lines


def _file_problem(
    path: Path, value: object, why: str, fix: str, line: int | None = None
) -> SpecError:
    problem = Problem(field="(file)", value=value, why=why, fix=fix, source=str(path), line=line)
    return SpecError([problem], str(path))


def read_spec_text(path: Path) -> str:
    """The file as text, read no further than a spec can be long."""
    if not path.exists():
        raise _file_problem(
            path,
            str(path),
            "there is no such file",
            "write one with `stacklab init`, or name it with -f FILE",
        )
    if not path.is_file():
        raise _file_problem(path, str(path), "it is not a file", "name a spec file with -f FILE")
    try:
        with path.open("rb") as spec_file:
            raw = spec_file.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise _file_problem(
            path,
            str(path),
            f"it cannot be read: {error.strerror or error}",
            "check the file's permissions, or name another with -f FILE",
        ) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise _file_problem(
            path,
            f"more than {MAX_SPEC_BYTES // 1024} KiB",
            f"a spec is a few KiB, and stacklab reads at most {MAX_SPEC_BYTES // 1024} KiB",
            "name the spec file with -f FILE (start one with `stacklab init`)",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise _file_problem(
            path,
            f"byte 0x{raw[error.start]:02x}",
            "the file is not UTF-8 text (a YAML spec must be)",
            "save it as UTF-8, or remove the byte at that line",
            line,
        ) from None


def load_spec(path: Path) -> tuple[Spec, LineMap]:
    return parse_spec_text(read_spec_text(path), str(path))


def spec_hash(spec: Spec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
