"""Deterministic synthetic mailboxes and calendars, shared by the Google and Microsoft sandboxes.

Everything comes from ``random.Random`` seeded by the caller, from pools of words kept in code:
the same seed and owner always give byte-identical messages. No external data.
"""

from integrations.sandbox.generator.events import generate_events
from integrations.sandbox.generator.mail import generate_mailbox
from integrations.sandbox.generator.models import Company, EventItem, MailItem, Person
from integrations.sandbox.generator.people import default_companies

__all__ = [
    "Company",
    "EventItem",
    "MailItem",
    "Person",
    "default_companies",
    "generate_events",
    "generate_mailbox",
]
