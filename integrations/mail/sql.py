"""Small SQL helpers the mail readers and the sync share, for PostgreSQL and SQLite alike.

    ids_condition("m.thread_id", ids) -> ("m.thread_id = ANY(%s)", [ids])   # raw statements
    values_in(ids) / values_in(keys, "text")   # for an ORM ``__in`` lookup
    values_condition("c.address", keys, "text") -> (sql, params)   # the same, raw
    array_param(values)   # one array parameter, as PostgreSQL's array literal where it can
    fetched(sql, params) -> [tuple, ...]
    tenant_rows_among("SELECT a, b FROM t", "t.a", keys, "text", organization_id=…)

On PostgreSQL a list of values goes as one array parameter: the statement's text is the same
for any number of values (prepared once), and ``values_in`` turns a lookup into a semi-join the
planner can hash or probe through an index. A plain ``IN (…)`` list is checked row by row
against every value, rows times values, when the table's statistics are stale (a table that
a first sync is filling: its planner still thinks it holds a few rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

SQL_TYPES = frozenset({"bigint", "text"})


def ids_condition(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``: one array parameter on PostgreSQL, a list on SQLite."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [array_param(ids)]
    return values_condition(column, ids)


def _unnested(sql_type: str) -> str:
    if sql_type not in SQL_TYPES:
        raise ValueError(f"unsupported type {sql_type!r}")
    return f"SELECT unnest(%s::{sql_type}[])"


def values_in(values: Sequence[Any], sql_type: str = "bigint") -> Any:
    """``values`` for an ``__in`` lookup: on PostgreSQL one array, unnested."""
    if connection.vendor == "postgresql":
        return RawSQL(_unnested(sql_type), [array_param(values)])  # noqa: S611 - fixed type
    return list(values)


def values_condition(
    column: str, values: Sequence[Any], sql_type: str = "bigint"
) -> tuple[str, list[Any]]:
    """``column`` among ``values`` in a raw statement, as ``values_in`` is in a lookup."""
    if connection.vendor == "postgresql":
        return f"{column} IN ({_unnested(sql_type)})", [array_param(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def array_param(values: Sequence[Any]) -> str | list[Any]:
    """``values`` as one PostgreSQL array parameter. Integers, strings, booleans, datetimes and
    NULLs are written as the array's literal text (the statement casts it to its type),
    several times cheaper than psycopg's per-element array adaptation, which a sync pays on
    every page; any other value leaves the list to psycopg. Inside double quotes only a
    backslash and a double quote need escaping."""
    if not isinstance(values, list | tuple):
        values = list(values)
    kinds = set(map(type, values))
    # A sync's usual lists (ids, or keys with nothing to escape) are joined in one call.
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        joined = '","'.join(values)
        # Each separator holds two quotes: any other quote is a value's own, to be escaped.
        if "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
            return '{"' + joined + '"}'
    if values and len(kinds) == 1 and values.count(values[0]) == len(values):
        # One value throughout (a batch's creation time): written once.
        element = _array_element(values[0])
        if element is None:
            return list(values)
        return "{" + ",".join([element] * len(values)) + "}"
    parts = []
    for value in values:
        element = _array_element(value)
        if element is None:
            return list(values)
        parts.append(element)
    return "{" + ",".join(parts) + "}"


def _array_element(value: Any) -> str | None:
    """One value as an array literal's element; None for a value it cannot write."""
    kind = type(value)
    if isinstance(value, str):  # choices' enum members too: their text is their value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind is int:
        return str(value)
    if value is None:
        return "NULL"
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime:
        return '"' + value.isoformat() + '"'
    return None


def tenant_rows_among(
    select: str,
    column: str,
    values: Sequence[Any],
    sql_type: str = "bigint",
    *,
    organization_id: int,
    where: str = "",
    params: Sequence[Any] = (),
    order_by: str = "",
) -> list[tuple[Any, ...]]:
    """The rows of ``select`` (``SELECT … FROM table [alias] [JOIN …]``) of one organization
    whose ``column`` is among ``values`` (and that match ``where``, with its ``params``). The
    organization's column is the one of ``column``'s table (``"r.address"`` →
    ``r.organization_id``). For reads the sync's pages make many times: building a queryset
    costs more than such a lookup itself."""
    table, _, _ = column.rpartition(".")
    organization_column = f"{table}.organization_id" if table else "organization_id"
    condition, values_params = values_condition(column, values, sql_type)
    also = f" AND {where}" if where else ""
    order = f" ORDER BY {order_by}" if order_by else ""
    return fetched(
        f"{select} WHERE {organization_column} = %s AND {condition}{also}{order}",
        [organization_id, *values_params, *params],
    )


def fetched(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one fixed statement, as tuples (hot reads build no models)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
