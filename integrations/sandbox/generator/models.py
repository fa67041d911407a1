"""What the generator produces; both provider sandboxes load these into their stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    people: tuple[Person, ...]


@dataclass(frozen=True)
class MailItem:
    raw: bytes  # RFC 5322 source, CRLF line endings
    folder: str  # "inbox" | "sent" | "archive" | "spam" | "trash" | "drafts"
    unread: bool
    starred: bool
    category: str | None  # None | "promotions" | "social" | "updates" | "forums" (Gmail CATEGORY_*)
    received_at: datetime  # aware UTC internal date
    thread_key: str  # same for every message of one generated thread


@dataclass(frozen=True)
class EventItem:
    uid: str
    summary: str
    description: str
    location: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    timezone: str
    rrule: str | None  # e.g. "RRULE:FREQ=WEEKLY;COUNT=10"
    exdates: tuple[datetime, ...]
    status: str  # "confirmed" | "cancelled"
    organizer: Person
    attendees: tuple[tuple[Person, str], ...]  # (person, needsAction|accepted|declined|tentative)
    conference_url: str | None
    # Set only on a modified occurrence of a recurring series: it shares the series' ``uid`` and
    # names the original start of the occurrence it replaces (iCalendar RECURRENCE-ID).
    recurrence_id: datetime | None = None
