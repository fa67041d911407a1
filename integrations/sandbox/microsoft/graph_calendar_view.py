"""Graph calendarView, a series' instances, and calendarView delta (recurrences expanded)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.events_json import EVENT_SELECTABLE
from integrations.sandbox.microsoft.events_model import (
    Instance,
    event_bounds,
    expand,
    occurs_in,
    original_key,
)
from integrations.sandbox.microsoft.graph_common import (
    GRAPH_ROOT,
    Ctx,
    GraphError,
    graph_route,
    next_link,
    page_params,
)
from integrations.sandbox.microsoft.graph_delta import (
    DEFAULT_PAGE_SIZE,
    changes_since,
    copy_token,
    emit_page,
    load_token,
)
from integrations.sandbox.microsoft.graph_events import EVENT, event_or_404, out_zone, render_event
from integrations.sandbox.microsoft.graph_odata import parse_select
from integrations.sandbox.microsoft.records import DeltaState, Mailbox, StoredEvent

VIEW = r"(?:/(?i:calendar)|/(?i:calendars)/[^/]+)?/(?i:calendarView)"


def _instant(raw: str) -> datetime:
    # A '+' in an unencoded offset arrives as a space; Graph reads offset-less values as UTC.
    moment = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window(ctx: Ctx) -> tuple[datetime, datetime]:
    start, end = (
        ctx.arg("startDateTime") or ctx.arg("startdatetime"),
        (ctx.arg("endDateTime") or ctx.arg("enddatetime")),
    )
    if not start or not end:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string "
            "parameters StartDateTime and EndDateTime.",
        )
    try:
        return _instant(start), _instant(end)
    except ValueError as exc:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "The parameter 'StartDateTime' or 'EndDateTime' is invalid.",
        ) from exc


def instances_in(
    event: StoredEvent, low: datetime, high: datetime, include_cancelled: bool = False
) -> list[Instance | None]:
    """A single event as [None] when it overlaps; a series' occurrences in the window."""
    if not event.data.get("recurrence"):
        return [None] if occurs_in(event.data, low, high) else []
    found = expand(event.data, event.cancelled_occurrences, event.occurrence_overrides, low, high)
    return [i for i in found if include_cancelled or not i.cancelled]


def _start_of(event: StoredEvent, instance: Instance | None) -> datetime:
    return instance.start if instance else event_bounds(event.data)[0]


def _view(ctx: Ctx, events: list[StoredEvent], tail: str) -> Response:
    low, high = window(ctx)
    select = parse_select(ctx.arg("$select"), EVENT_SELECTABLE, "microsoft.graph.event")
    top, skip = page_params(ctx)
    zone = out_zone(ctx)
    rows = [(event, instance) for event in events for instance in instances_in(event, low, high)]
    rows.sort(key=lambda row: _start_of(*row))
    body: dict[str, Any] = {"@odata.context": ctx.context(tail)}
    if skip + top < len(rows):
        body["@odata.nextLink"] = next_link(ctx, skip + top)
    body["value"] = [render_event(ctx, e, i, select, zone) for e, i in rows[skip : skip + top]]
    return ctx.ok(body)


@graph_route("GET", VIEW, name="graph.calendarView.list", access="calendar.read")
def calendar_view(ctx: Ctx) -> Response:
    return _view(ctx, list(ctx.mailbox.events.values()), "calendarView")


@graph_route(
    "GET", EVENT + r"/(?i:instances)", name="graph.events.instances", access="calendar.read"
)
def event_instances(ctx: Ctx) -> Response:
    event, key = event_or_404(ctx)
    if key is not None or not event.data.get("recurrence"):
        window(ctx)
        return ctx.ok(
            {"@odata.context": ctx.context(f"events('{event.id}')/instances"), "value": []}
        )
    return _view(ctx, [event], f"events('{event.id}')/instances")


# -- calendarView delta ----------------------------------------------------------------------


def _keys_in(event: StoredEvent, low: datetime, high: datetime) -> tuple[set[str], set[str]]:
    """(item keys shown in the window, keys of cancelled occurrences in the window)."""
    shown: set[str] = set()
    cancelled: set[str] = set()
    for instance in instances_in(event, low, high, include_cancelled=True):
        key = f"{event.id}|{original_key(instance.original_start) if instance else ''}"
        (cancelled if instance is not None and instance.cancelled else shown).add(key)
    return shown, cancelled


def _item_id(key: str) -> str:
    event_id, _, original = key.partition("|")
    return ids.occurrence_id(event_id, original) if original else event_id


@graph_route("GET", VIEW + r"/(?i:delta)", name="graph.calendarView.delta", access="calendar.read")
def calendar_view_delta(ctx: Ctx) -> Response:
    for option in ("$select", "$filter", "$orderby", "$top", "$search", "$expand"):
        if ctx.arg(option) is not None:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                "The following parameters are not supported with change tracking "
                f"over the 'CalendarView' resource: '{option}'.",
            )
    mailbox = ctx.mailbox
    token_value = ctx.arg("$deltatoken") or ctx.arg("$skiptoken")
    if token_value is None:
        low, high = window(ctx)
        container = f"{low.isoformat()}|{high.isoformat()}"
        token = DeltaState(
            token="",
            oid=mailbox.oid,
            kind="events",
            container=container,
            since_seq=0,
            epoch=mailbox.delta_epoch,
            issued_at=ctx.now,
            select=None,
            page_size=DEFAULT_PAGE_SIZE,
            next_seq=mailbox.seq,
        )
        rows = [(e, i) for e in mailbox.events.values() for i in instances_in(e, low, high)]
        rows.sort(key=lambda row: _start_of(*row))
        token.remaining = [f"{e.id}|{original_key(i.original_start) if i else ''}" for e, i in rows]
    else:
        stored = _load_any(ctx)
        low, high = (datetime.fromisoformat(p) for p in stored.container.split("|"))
        token = (
            copy_token(stored)
            if ctx.arg("$deltatoken") is None
            else _incremental(mailbox, stored, low, high)
        )
    zone = out_zone(ctx)

    def render(key: str) -> dict[str, Any] | None:
        event_id, _, original = key.partition("|")
        event = mailbox.events.get(event_id)
        if event is None:
            return None
        for instance in instances_in(event, low, high):
            if (instance is None and not original) or (
                instance is not None and original_key(instance.original_start) == original
            ):
                return {
                    "@odata.type": "#microsoft.graph.event",
                    **render_event(ctx, event, instance, zone=zone),
                }
        return None

    def removed(key: str) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.event",
            "id": _item_id(key),
            "@removed": {"reason": "deleted"},
        }

    return emit_page(
        ctx,
        token,
        render=render,
        removed=removed,
        context=f"{ctx.request.base_url}{GRAPH_ROOT}/$metadata#Collection(event)",
    )


def _load_any(ctx: Ctx) -> DeltaState:
    value = ctx.arg("$deltatoken") or ctx.arg("$skiptoken") or ""
    found = ctx.state.delta_states.get(value)
    container = found.container if found is not None and found.kind == "events" else ""
    token = load_token(ctx, "events", container)
    assert token is not None
    return token


def _incremental(
    mailbox: Mailbox, previous: DeltaState, low: datetime, high: datetime
) -> DeltaState:
    token = copy_token(previous, remaining=[], removed=[], next_seq=mailbox.seq)
    for event_id in changes_since(mailbox, "event", None, previous.since_seq):
        current = mailbox.events.get(event_id)
        shown, cancelled = _keys_in(current, low, high) if current else (set(), set())
        before = mailbox.event_tombstones.get(event_id)
        had = _keys_in(before, low, high)[0] if before else set()
        token.remaining.extend(sorted(shown))
        token.removed.extend(sorted((had | cancelled) - shown))
    return token
