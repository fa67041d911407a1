"""One-message threads: newsletters, spam, trash, drafts, and the deliberate oddities."""

from __future__ import annotations

from datetime import timedelta

from integrations.sandbox.generator.mailbox import Mailbox, counterpart
from integrations.sandbox.generator.models import Person
from integrations.sandbox.generator.render import (
    Draft,
)
from integrations.sandbox.generator.words import (
    FIRST_NAMES,
    LAST_NAMES,
    NEWSLETTERS,
    SPAMMERS,
    TOPICS,
    business_body,
    fill,
    html_from_text,
    newsletter_body,
)

MALFORMED_DATE = "Tue, 30 Feb 2026 24:61:00 +2500"


def newsletter(box: Mailbox, key: str) -> None:
    rng = box.rng
    name, email, category, subjects, list_id = rng.choice(NEWSLETTERS)
    sender = Person(name, email)
    subject = fill(rng.choice(subjects), rng)
    text = newsletter_body(rng, name, subject)
    domain = email.rsplit("@", 1)[1]
    headers = [
        f"List-Unsubscribe: <https://{domain}/u/{rng.getrandbits(48):012x}>, "
        f"<mailto:unsubscribe@{domain}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        f"List-Id: {name} <{list_id}>" if list_id else "Precedence: bulk",
    ]
    date = box.moment(business_hours=False)
    draft = Draft(
        sender=sender,
        to=[box.owner],
        subject=subject,
        date=date,
        text=text,
        html=html_from_text(text),
        html_only=rng.random() < 0.2,
        message_id=box.message_id(sender),
        inline_image=rng.random() < 0.15,
        extra_headers=headers,
        delivered_to=box.owner.email,
        encoding_roll=rng.random(),
    )
    old = box.now - date > timedelta(days=14)
    box.add(
        draft,
        folder="archive" if old and rng.random() < 0.4 else "inbox",
        unread=rng.random() < 0.7,
        category=category,
        thread_key=key,
    )


def spam(box: Mailbox, key: str) -> None:
    rng = box.rng
    name, email, subject = rng.choice(SPAMMERS)
    sender = Person(name, email)
    text = f"Dear customer,\n\n{subject}. Click here to claim: http://{email.split('@')[1]}/c"
    draft = Draft(
        sender=sender,
        to=[box.owner],
        subject=subject,
        date=box.moment(business_hours=False),
        text=text,
        html=html_from_text(text),
        html_only=True,
        message_id=box.message_id(sender),
        delivered_to=box.owner.email,
        encoding_roll=rng.random(),
    )
    box.add(draft, folder="spam", unread=True, thread_key=key)


def trashed(box: Mailbox, key: str) -> None:
    """A cold pitch from a contact that the owner deleted."""
    rng = box.rng
    side, _ = counterpart(box)
    text = business_body(
        rng,
        to_first=box.owner.name.split()[0],
        sender=side.person.name,
        sender_title=side.title,
        sender_company=side.company or "Freelance",
        topic=rng.choice(TOPICS),
    )
    draft = Draft(
        sender=side.person,
        to=[box.owner],
        subject=f"Quick intro from {side.company or side.person.name}",
        date=box.moment(),
        text=text,
        message_id=box.message_id(side.person),
        delivered_to=box.owner.email,
        encoding_roll=rng.random(),
    )
    box.add(draft, folder="trash", unread=False, thread_key=key)


def owner_draft(box: Mailbox, key: str) -> None:
    rng = box.rng
    side, _ = counterpart(box)
    text = f"Hi {side.person.name.split()[0]},\n\nDraft: thoughts on the {rng.choice(TOPICS)}"
    draft = Draft(
        sender=box.owner,
        to=[side.person],
        subject=f"Notes for {side.company or side.person.name}",
        date=box.moment(),
        text=text,
        message_id=box.message_id(box.owner),
        encoding_roll=rng.random(),
    )
    box.add(draft, folder="drafts", unread=False, thread_key=key)


def add_oddities(box: Mailbox) -> None:
    """Mail real mailboxes contain and parsers trip over; six messages in all."""
    rng = box.rng
    company = rng.choice(box.companies)
    contact = company.people[0]
    domain = contact.email.rsplit("@", 1)[1]

    def inbound(subject: str, **overrides: object) -> Draft:
        text = business_body(
            rng,
            to_first=box.owner.name.split()[0],
            sender=contact.name,
            sender_title="Operations Manager",
            sender_company=company.name,
            topic=rng.choice(TOPICS),
        )
        fields: dict = dict(
            sender=contact,
            to=[box.owner],
            subject=subject,
            date=box.moment(),
            text=text,
            message_id=box.message_id(contact),
            delivered_to=box.owner.email,
            encoding_roll=rng.random(),
        )
        fields.update(overrides)
        return Draft(**fields)

    odd = f"{box.seed}-odd"
    box.add(
        inbound("Sent from an old mail server", message_id=None),
        folder="inbox",
        unread=True,
        thread_key=f"{odd}-no-message-id",
    )
    shared_id = box.message_id(contact)
    box.add(
        inbound("Weekly status", message_id=shared_id),
        folder="inbox",
        unread=False,
        thread_key=f"{odd}-duplicate-1",
    )
    box.add(
        inbound("Weekly status (resent)", message_id=shared_id),
        folder="inbox",
        unread=True,
        thread_key=f"{odd}-duplicate-2",
    )
    crowd = [
        Person(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", f"staff{n:03d}@{domain}")
        for n in range(199)
    ]
    box.add(
        inbound(
            f"{company.name} office move: all hands", to=[box.owner, *crowd[:149]], cc=crowd[149:]
        ),
        folder="inbox",
        unread=False,
        thread_key=f"{odd}-crowd",
    )
    long_subject = " ".join(rng.choice(TOPICS) for _ in range(120))[:1000]
    long_subject = long_subject[:-1] + "." if long_subject.endswith(" ") else long_subject
    box.add(inbound(long_subject), folder="inbox", unread=False, thread_key=f"{odd}-long-subject")
    box.add(
        inbound("Invoice reminder", date_header=MALFORMED_DATE),
        folder="inbox",
        unread=True,
        thread_key=f"{odd}-bad-date",
    )
