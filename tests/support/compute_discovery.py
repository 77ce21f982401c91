"""Requests to the Compute API (v1) checked against its published discovery document, the
one google-api-python-client ships: the method that the HTTP verb and path name, its path
and query parameters (known, of their type and pattern, required ones present), and the
request body (every field known at its place, of its type and enum, none output-only, the
fields the method requires present). What is wrong comes back as a list of violations.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import googleapiclient

DOCUMENT = (
    Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "compute.v1.json"
)
# Sent by the client library's REST transport on every call (the response's encoding).
TRANSPORT_PARAMETERS = frozenset({"$alt"})


@dataclass(frozen=True)
class Method:
    id: str
    http_method: str
    template: re.Pattern[str]
    spec: dict[str, Any]


@dataclass
class Checked:
    """A request matched to its method, with what is wrong with it."""

    method: str | None
    path_parameters: dict[str, str] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def methods() -> tuple[Method, ...]:
    found: list[Method] = []

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for spec in resource.get("methods", {}).values():
                path = spec.get("flatPath") or spec["path"]
                pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
                found.append(
                    Method(spec["id"], spec["httpMethod"], re.compile(f"^{pattern}$"), spec)
                )
            walk(resource.get("resources", {}))

    walk(document()["resources"])
    # Literal segments before parameters: `images/family/{family}` before `images/{image}`.
    found.sort(key=lambda method: -len(method.template.pattern.replace("(?P<", "")))
    return tuple(found)


def check_request(http_method: str, path: str, query: dict[str, list[str]], body: Any) -> Checked:
    root = "/" + document()["servicePath"]
    if not path.startswith(root):
        return Checked(None, violations=[f"{path} is not under {root}"])
    relative = path[len(root) :]
    for method in methods():
        match = method.template.match(relative)
        if match and method.http_method == http_method:
            checked = Checked(method.id, dict(match.groupdict()))
            checked.violations += _parameter_violations(method, checked.path_parameters, query)
            checked.violations += _body_violations(method, body)
            return checked
    return Checked(None, violations=[f"no Compute v1 method is {http_method} {relative}"])


def _parameter_violations(
    method: Method, path_parameters: dict[str, str], query: dict[str, list[str]]
) -> list[str]:
    violations = []
    parameters: dict[str, Any] = method.spec.get("parameters", {})
    for name, value in path_parameters.items():
        violations += _value_violations(f"{method.id} path {name}", value, parameters[name])
    common: dict[str, Any] = document()["parameters"]
    for name, values in query.items():
        if name in TRANSPORT_PARAMETERS:
            continue
        spec = parameters.get(name) or common.get(name)
        if spec is None or spec.get("location") == "path":
            violations.append(f"{method.id}: unknown query parameter {name}")
            continue
        if len(values) > 1 and not spec.get("repeated"):
            violations.append(f"{method.id}: query parameter {name} given {len(values)} times")
        for value in values:
            violations += _value_violations(f"{method.id} query {name}", value, spec)
    for name, spec in parameters.items():
        if spec.get("required") and spec.get("location") == "query" and name not in query:
            violations.append(f"{method.id}: required query parameter {name} is missing")
    return violations


def _value_violations(where: str, value: str, spec: dict[str, Any]) -> list[str]:
    """A path or query parameter: text on the wire, of the parameter's type."""
    kind = spec.get("type", "string")
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return [f"{where}: {value!r} is not an integer"]
    if kind == "boolean" and value not in ("true", "false"):
        return [f"{where}: {value!r} is not true or false"]
    if "enum" in spec and value not in spec["enum"]:
        return [f"{where}: {value!r} is none of {spec['enum']}"]
    pattern = spec.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        return [f"{where}: {value!r} does not match {pattern}"]
    return []


def _body_violations(method: Method, body: Any) -> list[str]:
    request = method.spec.get("request")
    if request is None:
        return [] if body in (None, {}) else [f"{method.id} takes no body, got {body!r}"]
    if body is None:
        return [f"{method.id}: the request body ({request['$ref']}) is missing"]
    return _schema_violations(method.id, request["$ref"], {"$ref": request["$ref"]}, body)


def _schema_violations(method: str, where: str, schema: dict[str, Any], value: Any) -> list[str]:
    if "$ref" in schema:
        schema = document()["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        return _object_violations(method, where, schema, value)
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {value!r}"]
        return [
            violation
            for index, item in enumerate(value)
            for violation in _schema_violations(method, f"{where}[{index}]", schema["items"], item)
        ]
    return _scalar_violations(where, schema, value)


def _object_violations(method: str, where: str, schema: dict[str, Any], value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r}"]
    violations = []
    properties: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        spec = properties.get(name)
        if spec is None and extra is not None:
            spec = extra
        if spec is None:
            violations.append(f"{where}.{name}: no such field")
            continue
        if spec.get("readOnly"):
            violations.append(f"{where}.{name}: output only, a request must not set it")
        violations += _schema_violations(method, f"{where}.{name}", spec, item)
    for name, spec in properties.items():
        if method in spec.get("annotations", {}).get("required", ()) and name not in value:
            violations.append(f"{where}.{name}: required by {method}, missing")
    return violations


def _scalar_violations(where: str, schema: dict[str, Any], value: Any) -> list[str]:
    kind, number = schema.get("type"), schema.get("format", "")
    if kind == "string" and number in ("int64", "uint64"):
        # 64-bit integers travel as JSON strings (proto3 JSON), and are read from numbers too.
        good = (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None) or (
            isinstance(value, int) and not isinstance(value, bool)
        )
    elif kind == "string":
        good = isinstance(value, str)
    elif kind == "integer":
        good = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        good = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean":
        good = isinstance(value, bool)
    else:
        good = True  # "any"
    if not good:
        return [f"{where}: {value!r} is not of type {kind}{f' ({number})' if number else ''}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is none of {', '.join(schema['enum'])}"]
    return []
