"""A synthetic mailbox: business threads, newsletters, a little spam/trash/drafts, and oddities."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from integrations.sandbox.generator.mailbox import Mailbox
from integrations.sandbox.generator.models import Company, MailItem, Person
from integrations.sandbox.generator.people import (
    colleagues,
    company_name_for,
    default_companies,
    free_mail_contacts,
)
from integrations.sandbox.generator.singles import (
    add_oddities,
    newsletter,
    owner_draft,
    spam,
    trashed,
)
from integrations.sandbox.generator.threads import business_thread

ODDITY_MIN_COUNT = 12  # smaller mailboxes get no oddities: they would be nothing but oddities


def generate_mailbox(
    *,
    owner: Person,
    seed: int,
    count: int,
    now: datetime,
    span_days: int = 60,
    companies: list[Company] | None = None,
    oddities: bool = True,
) -> list[MailItem]:
    """``count`` messages of the last ``span_days`` days, oldest first, from the owner's view."""
    # The owner is part of the seed so two teammates filled with one seed get distinct mail.
    rng = random.Random(f"{seed}:{owner.email.lower()}")  # noqa: S311 - reproducible
    box = Mailbox(
        rng=rng,
        owner=owner,
        owner_company=company_name_for(owner.email.rsplit("@", 1)[1]),
        seed=seed,
        now=now,
        start=now - timedelta(days=span_days),
        companies=companies if companies is not None else default_companies(seed),
        colleagues=colleagues(rng, owner),
        free_mail=free_mail_contacts(rng),
    )
    odd_count = 6 if oddities and count >= ODDITY_MIN_COUNT else 0
    thread_no = 0
    while len(box.items) < count - odd_count:
        key = f"{seed}-{thread_no}"
        roll = rng.random()
        if roll < 0.72:
            business_thread(box, key, count - odd_count - len(box.items))
        elif roll < 0.94:
            newsletter(box, key)
        elif roll < 0.965:
            spam(box, key)
        elif roll < 0.99:
            trashed(box, key)
        else:
            owner_draft(box, key)
        thread_no += 1
    if odd_count:
        add_oddities(box)
    box.items.sort(key=lambda item: item.received_at)
    return box.items
