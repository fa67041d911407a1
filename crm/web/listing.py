"""List pages: search, filters, sortable columns and ``page`` / ``limit`` pagination."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import models
from django.http import HttpRequest

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
LIMIT_CHOICES = (10, 25, 50, 100)


@dataclass(frozen=True)
class Column:
    """A table column; ``order`` (model fields) makes it sortable under the key ``key``."""

    key: str
    label: str
    order: tuple[str, ...] = ()
    css: str = ""


@dataclass(frozen=True)
class ListParams:
    q: str
    sort: str
    page: str
    limit: int
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.filters)


def _limit(raw: str | None) -> int:
    try:
        value = int(raw or DEFAULT_LIMIT)
    except ValueError:
        return DEFAULT_LIMIT
    return max(1, min(value, MAX_LIMIT))


def list_params(
    request: HttpRequest,
    *,
    columns: tuple[Column, ...],
    default_sort: str,
    filters: tuple[str, ...],
) -> ListParams:
    """Read the list parameters; an unknown sort key falls back to the default."""
    sortable = {c.key for c in columns if c.order}
    sort = request.GET.get("sort", "")
    if sort.removeprefix("-") not in sortable:
        sort = default_sort
    return ListParams(
        q=request.GET.get("q", "").strip()[:200],
        sort=sort,
        page=request.GET.get("page", "1"),
        limit=_limit(request.GET.get("limit")),
        filters={name: request.GET[name] for name in filters if request.GET.get(name)},
    )


def _order_expression(name: str, descending: bool) -> models.OrderBy:
    # Empty dates and amounts sort last in both directions, as people expect.
    expression = models.F(name)
    if descending:
        return expression.desc(nulls_last=True)
    return expression.asc(nulls_last=True)


def sorted_queryset(
    queryset: models.QuerySet[Any], *, columns: tuple[Column, ...], sort: str
) -> models.QuerySet[Any]:
    descending = sort.startswith("-")
    column = next(c for c in columns if c.key == sort.removeprefix("-"))
    ordering = [_order_expression(name, descending) for name in column.order]
    return queryset.order_by(*ordering, "-pk" if descending else "pk")


def paginate(queryset: models.QuerySet[Any], params: ListParams) -> Page:
    return Paginator(queryset, params.limit).get_page(params.page)


def header_cells(columns: tuple[Column, ...], sort: str) -> list[dict[str, Any]]:
    """Table headers with the sort value each link sets and the current direction."""
    cells = []
    for column in columns:
        direction = ""
        if sort == column.key:
            direction = "asc"
        elif sort == f"-{column.key}":
            direction = "desc"
        cells.append(
            {
                "label": column.label,
                "css": column.css,
                "sortable": bool(column.order),
                "next": f"-{column.key}" if direction == "asc" else column.key,
                "direction": direction,
            }
        )
    return cells
