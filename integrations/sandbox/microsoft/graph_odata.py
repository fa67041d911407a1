"""The OData query options the Outlook endpoints take: ``$select``, ``$filter``, ``$orderby``.

``$filter`` is a small parser for what Outlook accepts on messages: comparisons (eq ne gt ge lt
le) of a property path with a literal, joined by and/or/not and parentheses. Combining
``$filter`` with ``$orderby`` follows Exchange's rule: the ordered properties must appear in the
filter first, in the same order, or the request fails with ``InefficientFilter``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.microsoft.graph_common import GraphError

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<word>[A-Za-z_][A-Za-z0-9_/.]*)
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<number>-?\d+(?:\.\d+)?)
)""",
    re.VERBOSE,
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def _invalid_filter() -> GraphError:
    return GraphError(
        400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
    )


def parse_select(raw: str | None, known: dict[str, str], type_name: str) -> list[str] | None:
    """Canonical property names of ``$select`` (case-insensitive), or None for all."""
    if raw is None:
        return None
    names: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        canonical = known.get(part.lower())
        if canonical is None:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{part}' on type '{type_name}'.",
            )
        if canonical not in names:
            names.append(canonical)
    return names


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str
    value: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or | not
    items: tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if not found or found.end() == position:
            raise _invalid_filter()
        position = found.end()
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _invalid_filter()
        self.position += 1
        return token

    def parse(self) -> Any:
        node = self.or_expr()
        if self.peek() is not None:
            raise _invalid_filter()
        return node

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self._keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Any:
        items = [self.unary()]
        while self._keyword("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self.position += 1
            return True
        return False

    def unary(self) -> Any:
        if self._keyword("not"):
            return BoolOp("not", (self.unary(),))
        token = self.peek()
        if token and token[0] == "lparen":
            self.take()
            node = self.or_expr()
            if self.take()[0] != "rparen":
                raise _invalid_filter()
            return node
        kind, path = self.take()
        if kind != "word":
            raise _invalid_filter()
        op_kind, op = self.take()
        if op_kind != "word" or op.lower() not in _OPS:
            raise _invalid_filter()
        return Comparison(path, op.lower(), self.literal())

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "datetime":
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise _invalid_filter()


def parse_filter(raw: str | None) -> Any:
    return None if raw is None or not raw.strip() else _Parser(raw).parse()


def filter_paths(node: Any) -> list[str]:
    """Property paths in the order the filter mentions them."""
    if node is None:
        return []
    if isinstance(node, Comparison):
        return [node.path.lower()]
    return [path for item in node.items for path in filter_paths(item)]


def compile_filter(node: Any, fields: dict[str, Callable[[Any], Any]]) -> Callable[[Any], bool]:
    """A predicate over items; ``fields`` maps lower-case property paths to getters."""
    if node is None:
        return lambda item: True
    if isinstance(node, BoolOp):
        parts = [compile_filter(item, fields) for item in node.items]
        if node.op == "and":
            return lambda item: all(p(item) for p in parts)
        if node.op == "or":
            return lambda item: any(p(item) for p in parts)
        return lambda item: not parts[0](item)
    getter = fields.get(node.path.lower())
    if getter is None:
        raise _invalid_filter()
    op, expected = node.op, node.value

    def predicate(item: Any) -> bool:
        actual = getter(item)
        if isinstance(actual, str) and isinstance(expected, str):
            actual_cmp, expected_cmp = actual.lower(), expected.lower()
        else:
            actual_cmp, expected_cmp = actual, expected
        try:
            return _compare(op, actual_cmp, expected_cmp)
        except TypeError as exc:
            raise _invalid_filter() from exc

    return predicate


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    return bool(
        {
            "gt": actual > expected,
            "ge": actual >= expected,
            "lt": actual < expected,
            "le": actual <= expected,
        }[op]
    )


def parse_orderby(raw: str | None, sortable: dict[str, str]) -> list[tuple[str, bool]]:
    """[(lower-case path, descending)] of ``$orderby``."""
    if raw is None or not raw.strip():
        return []
    keys: list[tuple[str, bool]] = []
    for part in raw.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0].lower() not in sortable:
            raise GraphError(400, "BadRequest", f"Invalid $orderby expression '{part.strip()}'.")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise GraphError(400, "BadRequest", f"Invalid $orderby expression '{part.strip()}'.")
        keys.append((words[0].lower(), direction == "desc"))
    return keys


def check_filter_with_orderby(filter_node: Any, order: list[tuple[str, bool]]) -> None:
    """Exchange: with both options, ordered properties must lead the filter, in order."""
    if filter_node is None or not order:
        return
    mentioned: list[str] = []
    for path in filter_paths(filter_node):
        if path not in mentioned:
            mentioned.append(path)
    if mentioned[: len(order)] != [path for path, _ in order]:
        raise GraphError(
            400,
            "InefficientFilter",
            "The restriction or sort order is too complex for this operation.",
        )
