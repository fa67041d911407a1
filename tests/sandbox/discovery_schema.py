"""Validate sandbox responses against the discovery documents google-api-python-client ships.

Discovery schemas are a JSON-Schema dialect: ``$ref`` names another schema of the same
document, ``format`` refines strings (``int64``/``uint64`` numbers travel as decimal strings,
``byte`` is base64url, ``date-time``/``date`` are RFC 3339) and integers (``int32``/``uint32``),
``additionalProperties`` types map values. A property the schema does not declare is an error:
the sandbox must not invent fields the real API never sends.

    assert_schema("gmail.v1", "Message", body)
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT_STRING = re.compile(r"-?\d+")
_BASE64 = re.compile(r"[A-Za-z0-9_\-+/]*={0,2}")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}


@cache
def schemas(api: str) -> dict[str, Any]:
    """The ``schemas`` of a shipped discovery document, e.g. ``schemas("gmail.v1")``."""
    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / f"{api}.json"
    return json.loads(path.read_text(encoding="utf-8"))["schemas"]


def schema_errors(api: str, name: str, value: Any) -> list[str]:
    """Every way ``value`` departs from schema ``name`` of ``api`` (empty when it conforms)."""
    errors: list[str] = []
    _check(api, schemas(api)[name], value, name, errors)
    return errors


def assert_schema(api: str, name: str, value: Any) -> None:
    errors = schema_errors(api, name, value)
    assert not errors, f"{name} does not match the {api} schema:\n" + "\n".join(errors)


def _check(api: str, schema: dict[str, Any], value: Any, where: str, errors: list[str]) -> None:
    if "$ref" in schema:
        _check(api, schemas(api)[schema["$ref"]], value, where, errors)
        return
    kind = schema.get("type", "any")
    if kind == "object":
        _check_object(api, schema, value, where, errors)
    elif kind == "array":
        if not isinstance(value, list):
            errors.append(f"{where}: expected an array, got {value!r}")
            return
        for index, item in enumerate(value):
            _check(api, schema.get("items", {}), item, f"{where}[{index}]", errors)
    elif kind == "string":
        _check_string(schema, value, where, errors)
    elif kind == "integer":
        low, high = _INT_RANGES.get(schema.get("format", ""), (None, None))
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{where}: expected an integer, got {value!r}")
        elif low is not None and high is not None and not low <= value <= high:
            errors.append(f"{where}: {value} out of {schema['format']} range")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{where}: expected a number, got {value!r}")
    elif kind == "boolean" and not isinstance(value, bool):
        errors.append(f"{where}: expected a boolean, got {value!r}")


def _check_object(
    api: str, schema: dict[str, Any], value: Any, where: str, errors: list[str]
) -> None:
    if not isinstance(value, dict):
        errors.append(f"{where}: expected an object, got {value!r}")
        return
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _check(api, properties[key], item, f"{where}.{key}", errors)
        elif extra is not None:
            _check(api, extra, item, f"{where}.{key}", errors)
        else:
            errors.append(f"{where}: unknown property {key!r}")


def _check_string(schema: dict[str, Any], value: Any, where: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        errors.append(f"{where}: expected a string, got {value!r}")
        return
    fmt = schema.get("format")
    if fmt == "date-time" and not _DATE_TIME.fullmatch(value):
        errors.append(f"{where}: not an RFC 3339 date-time: {value!r}")
    elif fmt == "date" and not _DATE.fullmatch(value):
        errors.append(f"{where}: not a date: {value!r}")
    elif fmt in ("int64", "uint64") and not _INT_STRING.fullmatch(value):
        errors.append(f"{where}: not an {fmt} string: {value!r}")
    elif fmt == "byte" and not _BASE64.fullmatch(value):
        errors.append(f"{where}: not base64: {value[:40]!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not one of {schema['enum']}")
