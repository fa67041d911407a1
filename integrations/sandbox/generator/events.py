"""A synthetic calendar: meetings with company contacts and the awkward cases sync must handle.

With ``count >= 4`` the calendar always holds a weekly series with an EXDATE, one modified
occurrence of that series (same ``uid``, ``recurrence_id`` = the start it replaces), a cancelled
meeting and an all-day event; the rest are one-off meetings, many with a conference link.
"""

from __future__ import annotations

import random
import string
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from integrations.sandbox.generator.models import Company, EventItem, Person
from integrations.sandbox.generator.people import colleagues, company_name_for, default_companies
from integrations.sandbox.generator.words import CITIES, ROOMS, TOPICS

TIMEZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "America/Los_Angeles")
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RESPONSES = ("accepted", "needsAction", "tentative", "declined")
RESPONSE_WEIGHTS = (60, 20, 10, 10)
SUMMARIES = (
    "{their} <> {ours}: {topic}",
    "Demo for {their}",
    "Kickoff: {topic}",
    "QBR \u2013 {their}",
    "{topic} working session",
    "Lunch with {first}",
)
SERIES_WEEKS = 12


def _uid(rng: random.Random, owner: Person) -> str:
    return f"{rng.getrandbits(64):016x}@{owner.email.rsplit('@', 1)[1]}"


def _conference(rng: random.Random) -> tuple[str, str]:
    """(join URL, location text) for Meet, Teams or Zoom, shaped like the real links."""
    kind = rng.random()
    if kind < 0.4:
        letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
        return f"https://meet.google.com/{letters[:3]}-{letters[3:7]}-{letters[7:]}", ""
    if kind < 0.8:
        token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(40))
        url = f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{token}%40thread.v2/0"
        return url, "Microsoft Teams Meeting"
    meeting = rng.randint(10**9, 10**10 - 1)
    url = f"https://us02web.zoom.us/j/{meeting}"
    return url, url


def _attendees(
    rng: random.Random, owner: Person, organizer: Person, guests: list[Person]
) -> tuple[tuple[Person, str], ...]:
    result = []
    for person in [owner, *guests]:
        if person == organizer:
            result.append((person, "accepted"))
        else:
            result.append((person, rng.choices(RESPONSES, weights=RESPONSE_WEIGHTS)[0]))
    if organizer != owner and organizer not in guests:
        result.append((organizer, "accepted"))
    return tuple(result)


def _meeting(
    rng: random.Random,
    owner: Person,
    ours: str,
    companies: list[Company],
    zone: ZoneInfo,
    now: datetime,
    status: str = "confirmed",
) -> EventItem:
    company = rng.choice(companies)
    guests = rng.sample(company.people, rng.randint(1, min(3, len(company.people))))
    organizer = owner if rng.random() < 0.6 else guests[0]
    day = (now.astimezone(zone) + timedelta(days=rng.randint(-45, 30))).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = datetime.combine(day, time(rng.randint(8, 16), rng.choice((0, 30))), tzinfo=zone)
    topic = rng.choice(TOPICS)
    summary = rng.choice(SUMMARIES).format(
        their=company.name, ours=ours, topic=topic, first=guests[0].name.split()[0]
    )
    conference_url, location = _conference(rng) if rng.random() < 0.55 else (None, "")
    if not location:
        office = f"{company.name}, {rng.choice(CITIES)}"
        location = rng.choice(ROOMS) if organizer == owner else office
    description = f"Agenda:\n1. {topic.capitalize()}\n2. Open questions\n3. Next steps"
    if conference_url:
        description += f"\n\nJoin: {conference_url}"
    return EventItem(
        uid=_uid(rng, owner),
        summary=summary,
        description=description,
        location=location,
        start=start,
        end=start + timedelta(minutes=rng.choice((30, 45, 60, 90))),
        all_day=False,
        timezone=zone.key,
        rrule=None,
        exdates=(),
        status=status,
        organizer=organizer,
        attendees=_attendees(rng, owner, organizer, guests),
        conference_url=conference_url,
    )


def _weekly_series(
    rng: random.Random, owner: Person, team: tuple[Person, ...], zone: ZoneInfo, now: datetime
) -> tuple[EventItem, EventItem]:
    """A weekly team meeting that began six weeks ago, one week skipped and one moved."""
    first_day = (now.astimezone(zone) - timedelta(weeks=6)).date()
    while first_day.weekday() >= 5:
        first_day += timedelta(days=1)
    start = datetime.combine(first_day, time(10, 0), tzinfo=zone)
    conference_url, location = _conference(rng)
    attendees = _attendees(rng, owner, owner, list(team))
    series = EventItem(
        uid=_uid(rng, owner),
        summary="Weekly pipeline review",
        description="Pipeline, forecast and blockers. Bring your top three deals.",
        location=location or "Boardroom",
        start=start,
        end=start + timedelta(minutes=45),
        all_day=False,
        timezone=zone.key,
        rrule=f"RRULE:FREQ=WEEKLY;BYDAY={BYDAY[start.weekday()]};COUNT={SERIES_WEEKS}",
        exdates=(start + timedelta(weeks=2),),
        status="confirmed",
        organizer=owner,
        attendees=attendees,
        conference_url=conference_url,
    )
    original = start + timedelta(weeks=4)
    moved = original + timedelta(hours=3)
    exception = EventItem(
        uid=series.uid,
        summary="Weekly pipeline review (moved to the afternoon)",
        description=series.description,
        location=series.location,
        start=moved,
        end=moved + timedelta(minutes=45),
        all_day=False,
        timezone=zone.key,
        rrule=None,
        exdates=(),
        status="confirmed",
        organizer=owner,
        attendees=attendees,
        conference_url=conference_url,
        recurrence_id=original,
    )
    return series, exception


def _all_day(
    rng: random.Random, owner: Person, team: tuple[Person, ...], zone: ZoneInfo, now: datetime
) -> EventItem:
    first = (now.astimezone(zone) + timedelta(days=rng.randint(3, 20))).date()
    city = rng.choice(CITIES)
    return EventItem(
        uid=_uid(rng, owner),
        summary=f"Sales offsite \u2013 {city}",
        description="Two days of planning. Travel booked by the ops team.",
        location=city,
        start=first,
        end=first + timedelta(days=2),
        all_day=True,
        timezone=zone.key,
        rrule=None,
        exdates=(),
        status="confirmed",
        organizer=owner,
        attendees=_attendees(rng, owner, owner, list(team)),
        conference_url=None,
    )


def generate_events(
    *, owner: Person, seed: int, count: int, now: datetime, companies: list[Company] | None = None
) -> list[EventItem]:
    """``count`` calendar items around ``now`` (45 days back to 30 ahead), ordered by start."""
    rng = random.Random(f"{seed}:{owner.email.lower()}:events")  # noqa: S311 - reproducible
    companies = companies if companies is not None else default_companies(seed)
    zone = ZoneInfo(rng.choice(TIMEZONES))
    team = colleagues(rng, owner, 3)
    ours = company_name_for(owner.email.rsplit("@", 1)[1])
    items: list[EventItem] = []
    if count >= 1:
        series, exception = _weekly_series(rng, owner, team, zone, now)
        items.append(series)
        if count >= 4:
            items.append(exception)
    if count >= 2:
        items.append(_meeting(rng, owner, ours, companies, zone, now, status="cancelled"))
    if count >= 3:
        items.append(_all_day(rng, owner, team, zone, now))
    while len(items) < count:
        items.append(_meeting(rng, owner, ours, companies, zone, now))
    return sorted(items, key=lambda item: _sort_key(item, zone))


def _sort_key(item: EventItem, zone: ZoneInfo) -> datetime:
    if isinstance(item.start, datetime):
        return item.start
    assert isinstance(item.start, date)
    return datetime.combine(item.start, time(0), tzinfo=zone)
