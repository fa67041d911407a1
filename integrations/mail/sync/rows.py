"""Multi-row INSERTs for the sync's hot path, without building a model instance per row.

``bulk_create`` constructs and prepares a model instance for every row; at thousands of messages
a second that Python work costs more than the database's. ``insert_rows`` writes plain dicts
keyed by field attname: every concrete column is written (missing keys take the field's default,
``auto_now``/``auto_now_add`` fields the current time), values pass through the backend's
adapters only where a column needs one (datetimes, JSON), and ``ON CONFLICT DO NOTHING`` plus
``RETURNING`` work alike on PostgreSQL and SQLite. Callers set ``organization_id`` themselves:
row-level security checks it on PostgreSQL.

On PostgreSQL, batches go through binary ``COPY`` (psycopg writes rows in C, the server parses
no text; a multi-row VALUES with thousands of placeholders costs more to build client-side than
the server takes to insert):
into a per-session temporary staging table (PostgreSQL refuses COPY into a table under
row-level security), then one ``INSERT … SELECT [… ON CONFLICT DO NOTHING] [RETURNING]``, so
the policy checks every row as it would any INSERT. The commit empties the staging table (ON
COMMIT DELETE ROWS, a truncation); only a second batch of the same table in one transaction
deletes the first's rows first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from integrations.mail.sql import array_param


@cache
def _columns(model: type[models.Model]) -> tuple[tuple[str, str, Any, str], ...]:
    """(attname, column, default, kind) of every column an INSERT writes."""
    columns: list[tuple[str, str, Any, str]] = []
    for field in model._meta.concrete_fields:
        if field.primary_key or getattr(field, "generated", False):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            kind = "now"
        elif isinstance(field, models.JSONField):
            kind = "json"
        elif isinstance(field, models.DateTimeField):
            kind = "datetime"
        else:
            kind = ""
        default = None if kind == "now" else field.get_default()
        columns.append((field.attname, str(field.column), default, kind))
    return tuple(columns)


def _adapter(kind: str, model: type[models.Model], attname: str) -> Callable[[Any], Any] | None:
    ops = connection.ops
    postgresql = connection.vendor == "postgresql"
    if kind in ("datetime", "now"):
        # psycopg writes aware datetimes itself: PostgreSQL's adapter returns its argument.
        return None if postgresql else ops.adapt_datetimefield_value
    if kind == "json":
        encoder = model._meta.get_field(attname).encoder  # type: ignore[union-attr]
        if postgresql:
            return _jsonb_encoded_once(encoder)
        return partial(ops.adapt_json_value, encoder=encoder)
    return None


def _jsonb_encoded_once(encoder: type[json.JSONEncoder] | None) -> Callable[[Any], Jsonb]:
    """JSON values as psycopg's ``Jsonb`` (what Django's adapter makes), a list of strings or
    an empty object encoded once per batch however many rows share it (a mailbox's copies
    share a few folder lists, and their pending flags are empty)."""
    dumps = partial(json.dumps, cls=encoder) if encoder else json.dumps
    seen: dict[Any, Jsonb] = {}

    def adapted(value: Any) -> Jsonb:
        kind = type(value)
        if kind is list and all(type(item) is str for item in value):
            key: Any = tuple(value)
        elif kind is dict and not value:
            key = dict
        else:
            return Jsonb(value, dumps=dumps)
        found = seen.get(key)
        if found is None:
            found = seen[key] = Jsonb(value, dumps=partial(_encoded, dumps(value).encode()))
        return found

    return adapted


def _encoded(data: bytes, _value: Any) -> bytes:
    return data


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
    in_order: bool = False,
    small: bool = False,
) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` in as few statements as the backend allows; returns the ``returning``
    columns of the rows actually inserted (conflicting ones are skipped), in the order of
    ``rows`` when ``in_order``. On PostgreSQL, ``in_order`` or ``small`` rows (a few short
    columns, where COPY's staging statements cost more than they save) go as one statement
    with an array per column."""
    if not rows:
        return []
    columns = _columns(model)
    now = timezone.now()
    names = [attname for attname, _, _, _ in columns]
    defaults = [now if kind == "now" else default for _, _, default, kind in columns]
    adapted = [
        (i, adapt)
        for i, (attname, _, _, kind) in enumerate(columns)
        if (adapt := _adapter(kind, model, attname)) is not None
    ]
    values = []
    for row in rows:
        line = list(map(row.get, names, defaults))
        for i, adapt in adapted:
            if line[i] is not None:
                line[i] = adapt(line[i])
        values.append(line)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names_sql = ", ".join(quote(column) for _, column, _, _ in columns)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        by_name = {f.attname: str(f.column) for f in model._meta.concrete_fields}
        tail += " RETURNING " + ", ".join(quote(by_name[name]) for name in returning)
    if connection.vendor == "postgresql" and len(values) >= COPY_FROM_ROWS:
        if in_order or small:
            return _unnest_insert(model, names_sql, values, tail)
        return _copy_insert(model, names_sql, values, tail)
    return _values_insert(table, names_sql, len(columns), values, tail, bool(returning))


# Below this many rows a VALUES list is as cheap as COPY's extra statements.
COPY_FROM_ROWS = 20


def _values_insert(
    table: str,
    names_sql: str,
    width: int,
    values: list[list[Any]],
    tail: str,
    returns: bool,
) -> list[tuple[Any, ...]]:
    # Table and column names come from the model; every value is a query parameter.
    head = f"INSERT INTO {table} ({names_sql}) VALUES "  # noqa: S608
    placeholder = "(" + ", ".join(["%s"] * width) + ")"
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(len(values), limit // width))
    returned: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            sql = head + ", ".join([placeholder] * len(chunk)) + tail
            cursor.execute(sql, [value for row in chunk for value in row])
            if returns:
                returned.extend(tuple(row) for row in cursor.fetchall())
    return returned


def _unnest_insert(
    model: type[models.Model], names_sql: str, values: list[list[Any]], tail: str
) -> list[tuple[Any, ...]]:
    """One array parameter per column, unnested in order: the statement's text is the same for
    any number of rows (a VALUES list of thousands of placeholders costs more to build and
    parse than to insert), and RETURNING follows the rows' order."""
    table = connection.ops.quote_name(model._meta.db_table)
    arrays = ", ".join(f"%s::{db_type}[]" for db_type in _db_types(model))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names_sql}) SELECT {names_sql} FROM unnest({arrays}) "  # noqa: S608
            f"WITH ORDINALITY AS v ({names_sql}, position) ORDER BY position{tail}",
            [array_param(column) for column in zip(*values, strict=True)],
        )
        return [tuple(row) for row in cursor.fetchall()] if "RETURNING" in tail else []


@cache
def _db_types(model: type[models.Model]) -> tuple[str, ...]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return tuple(
        str(by_attname[attname].cast_db_type(connection)) for attname, *_ in _columns(model)
    )


def _copy_insert(
    model: type[models.Model], names_sql: str, values: list[list[Any]], tail: str
) -> list[tuple[Any, ...]]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    stage_name = f"stage_{model._meta.db_table}"
    stage = quote(stage_name)
    with connection.cursor() as cursor:
        # Created once per session (again after a rolled-back transaction); emptied by every
        # commit. Known to the session once a transaction that saw it committed; looked up
        # otherwise, which is cheaper than CREATE … IF NOT EXISTS (that plans its SELECT and
        # locks the table every time).
        known = _staged.setdefault(connection.connection, {})
        holding = _holding.setdefault(connection.connection, set())
        types = known.get(stage_name) or _stage_types(cursor, stage_name)
        if not types:
            cursor.execute(
                f"CREATE TEMP TABLE {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
                f"SELECT {names_sql} FROM {table} WITH NO DATA"
            )
            _stage_compression_like(cursor, stage, model._meta.db_table)
            types = _stage_types(cursor, stage_name)
        if stage_name not in known:
            transaction.on_commit(partial(known.__setitem__, stage_name, types))
        if stage_name in holding:
            # An earlier batch of this transaction (or of one rolled back: then it is empty).
            cursor.execute(f"DELETE FROM {stage}")  # noqa: S608 - the model's table name
        # Forgotten at the next commit, also after a rollback (that registered nothing that
        # runs): a later transaction's batches pay no DELETE.
        holding.add(stage_name)
        transaction.on_commit(partial(holding.discard, stage_name))
        # Binary: the server parses no text (timestamps, arrays, JSON) and psycopg writes
        # each value in C, typed by the staging table's own columns.
        with cursor.cursor.copy(f"COPY {stage} ({names_sql}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in values:
                copy.write_row(row)
        # Read as it is, not deleted row by row (the rows a DELETE … RETURNING hands over are
        # materialized first): 10% of a page's INSERT of messages.
        cursor.execute(
            f"INSERT INTO {table} ({names_sql}) SELECT {names_sql} FROM {stage}{tail}"  # noqa: S608
        )
        return [tuple(row) for row in cursor.fetchall()] if "RETURNING" in tail else []


# Per database session: the staging tables it holds, with their columns' type oids.
_staged: WeakKeyDictionary[Any, dict[str, list[int]]] = WeakKeyDictionary()
# Per database session: the staging tables its current transaction has filled (kept until a
# transaction that filled them commits).
_holding: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()


def _stage_types(cursor: Any, stage_name: str) -> list[int]:
    """The type oids of the session's staging table's columns, none if it does not exist."""
    cursor.execute(
        "SELECT atttypid FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [f"pg_temp.{stage_name}"],
    )
    return [oid for (oid,) in cursor.fetchall()]


def _stage_compression_like(cursor: Any, stage: str, table: str) -> None:
    """Give the staging columns the table's compression (bodies are lz4 where the server has
    it): a staged body is compressed on COPY and read back before the INSERT."""
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND attcompression = 'l'",
        [table],
    )
    quote = connection.ops.quote_name
    changes = ", ".join(f"ALTER COLUMN {quote(name)} SET COMPRESSION lz4" for (name,) in cursor)
    if changes:
        cursor.execute(f"ALTER TABLE {stage} {changes}")  # names from the catalog
