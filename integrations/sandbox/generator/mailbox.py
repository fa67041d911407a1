"""The mailbox being generated: its owner, correspondents, clock and output."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from integrations.sandbox.generator.models import Company, MailItem, Person
from integrations.sandbox.generator.render import (
    Draft,
    render,
)
from integrations.sandbox.generator.words import (
    TITLES,
)


@dataclass
class Side:
    """One correspondent in a thread and the company they write for."""

    person: Person
    company: str
    title: str


@dataclass
class Mailbox:
    rng: random.Random
    owner: Person
    owner_company: str
    seed: int
    now: datetime
    start: datetime
    companies: list[Company]
    colleagues: tuple[Person, ...]
    free_mail: tuple[Person, ...]
    items: list[MailItem] = field(default_factory=list)
    sequence: int = 0

    def message_id(self, sender: Person) -> str:
        self.sequence += 1
        domain = sender.email.rsplit("@", 1)[1]
        return f"<{self.rng.getrandbits(64):016x}.{self.sequence:x}@{domain}>"

    def moment(self, *, business_hours: bool = True) -> datetime:
        """A random instant in the span; business mail mostly between 07:00 and 19:00 UTC."""
        seconds = self.rng.uniform(0, (self.now - self.start).total_seconds())
        moment = self.start + timedelta(seconds=seconds)
        if business_hours:
            moment = moment.replace(hour=self.rng.randint(7, 18))
        latest = self.now - timedelta(seconds=self.rng.randint(60, 3600))
        return max(self.start, min(moment, latest))

    def add(
        self,
        draft: Draft,
        *,
        folder: str,
        unread: bool,
        starred: bool = False,
        category: str | None = None,
        thread_key: str,
        received_at: datetime | None = None,
    ) -> None:
        self.items.append(
            MailItem(
                raw=render(draft, self.rng),
                folder=folder,
                unread=unread,
                starred=starred,
                category=category,
                received_at=received_at or draft.date,
                thread_key=thread_key,
            )
        )


def counterpart(box: Mailbox) -> tuple[Side, list[Person]]:
    """Who the owner writes with, and which of their colleagues may be copied."""
    roll = box.rng.random()
    if roll < 0.12 and box.colleagues:
        person = box.rng.choice(box.colleagues)
        return Side(person, box.owner_company, box.rng.choice(TITLES)), []
    if roll < 0.17 and box.free_mail:
        return Side(box.rng.choice(box.free_mail), "", "Consultant"), []
    company = box.rng.choice(box.companies)
    person = box.rng.choice(company.people)
    others = [p for p in company.people if p != person]
    return Side(person, company.name, box.rng.choice(TITLES)), others
