"""Google's partial-response ``fields`` parameter: ``fields=messages(id,threadId),nextPageToken``.

Syntax: comma-separated selections; ``a/b`` selects ``b`` inside ``a``; ``a(b,c)`` selects
several inside ``a``; ``*`` selects everything at its level. Selections apply through arrays.
A malformed selection answers 400 "Invalid field selection ...", as Google does.
"""

from __future__ import annotations

import re
from typing import Any

from integrations.sandbox.google.errors import bad_request

FieldTree = dict[str, "FieldTree | None"]  # None: the whole value
_NAME = re.compile(r"[A-Za-z0-9_*]+(?:/[A-Za-z0-9_*]+)*")


def parse_fields(spec: str) -> FieldTree:
    tree, position = _parse_list(spec.replace(" ", ""), 0, spec)
    if position != len(spec.replace(" ", "")):
        raise bad_request(f"Invalid field selection {spec}")
    return tree


def _parse_list(text: str, position: int, spec: str) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    while True:
        found = _NAME.match(text, position)
        if not found:
            raise bad_request(f"Invalid field selection {spec}")
        position = found.end()
        segments = found.group().split("/")
        node = tree
        for segment in segments[:-1]:
            child = node.get(segment, {})
            if child is None:  # already selected whole
                break
            node[segment] = child
            node = child
        else:
            last = segments[-1]
            if position < len(text) and text[position] == "(":
                sub, position = _parse_list(text, position + 1, spec)
                if position >= len(text) or text[position] != ")":
                    raise bad_request(f"Invalid field selection {spec}")
                position += 1
                if node.get(last, {}) is not None:
                    node[last] = {**(node.get(last) or {}), **sub}
            else:
                node[last] = None
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        return tree, position


def apply_fields(value: Any, tree: FieldTree | None) -> Any:
    if tree is None or ("*" in tree and tree["*"] is None):
        return value
    if isinstance(value, list):
        return [apply_fields(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    wildcard = tree.get("*", {}) if "*" in tree else None
    selected: dict[str, Any] = {}
    for key, item in value.items():
        if key in tree:
            selected[key] = apply_fields(item, tree[key])
        elif wildcard is not None:
            selected[key] = apply_fields(item, wildcard)
    return selected
