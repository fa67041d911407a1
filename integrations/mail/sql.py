"""Small SQL helpers the mail readers and the sync share, for PostgreSQL and SQLite alike.

    ids_condition("m.thread_id", ids) -> ("m.thread_id = ANY(%s)", [ids])   # raw statements
    values_in(ids) / values_in(keys, "text")   # for an ORM ``__in`` lookup
    fetched(sql, params) -> [tuple, ...]

On PostgreSQL a list of values goes as one array parameter: the statement's text is the same
for any number of values (prepared once), and ``values_in`` turns a lookup into a semi-join the
planner can hash or probe through an index. A plain ``IN (…)`` list is checked row by row
against every value, rows times values, when the table's statistics are stale (a table that
a first sync is filling: its planner still thinks it holds a few rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

SQL_TYPES = frozenset({"bigint", "text"})


def ids_condition(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``: one array parameter on PostgreSQL, a list on SQLite."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def values_in(values: Sequence[Any], sql_type: str = "bigint") -> Any:
    """``values`` for an ``__in`` lookup: on PostgreSQL one array, unnested."""
    if connection.vendor == "postgresql":
        if sql_type not in SQL_TYPES:
            raise ValueError(f"unsupported type {sql_type!r}")
        return RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])  # noqa: S611 - fixed type
    return list(values)


def fetched(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one fixed statement, as tuples (hot reads build no models)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
