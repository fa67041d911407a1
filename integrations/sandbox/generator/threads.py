"""Business threads: 1-8 messages between the owner and a contact, quoting each other."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from integrations.sandbox.generator import mime
from integrations.sandbox.generator.mailbox import Mailbox, Side, counterpart
from integrations.sandbox.generator.models import Person
from integrations.sandbox.generator.render import (
    LOGO_COLOURS,
    ZONES,
    Attachment,
    Draft,
    quote_html,
    quote_text,
)
from integrations.sandbox.generator.words import (
    CITIES,
    SUBJECTS,
    TITLES,
    TOPICS,
    ascii_slug,
    business_body,
    fill,
    html_from_text,
)

THREAD_SIZES = (1, 2, 3, 4, 5, 6, 7, 8)
THREAD_SIZE_WEIGHTS = (30, 25, 15, 10, 8, 5, 4, 3)


def reply_delay(rng: random.Random) -> timedelta:
    roll = rng.random()
    if roll < 0.2:
        return timedelta(minutes=rng.randint(4, 90))
    if roll < 0.7:
        return timedelta(hours=rng.uniform(1, 10))
    return timedelta(days=rng.uniform(1, 4))


def attachments(
    box: Mailbox, sender: Person, side: Side, topic: str, date: datetime
) -> list[Attachment]:
    rng = box.rng
    if rng.random() >= 0.10:
        return []
    kind = rng.choices(("pdf", "csv", "png", "ics"), weights=(45, 20, 20, 15))[0]
    their = side.company or side.person.name
    if kind == "pdf":
        name = rng.choice(
            (
                f"Proposal_{ascii_slug(their)[:20]}_v{rng.randint(1, 4)}.pdf",
                f"Order form \u2013 {their}.pdf",
                f"INV-{rng.randint(1000, 9999)}.pdf",
            )
        )
        lines = [
            fill(f"{topic.capitalize()} for {their}: {{number}} seats", rng),
            f"Prepared {date:%d %B %Y}",
            "Confidential",
        ]
        return [Attachment(mime.make_pdf(topic.title(), lines), "application/pdf", name)]
    if kind == "csv":
        rows: list[tuple[object, ...]] = [("account", "stage", "amount_eur", "close_date")]
        rows += [
            (
                rng.choice(box.companies).name,
                rng.choice(("Discovery", "Proposal", "Won")),
                rng.randint(5, 400) * 100,
                f"{date:%Y-%m}-{rng.randint(10, 28)}",
            )
            for _ in range(rng.randint(3, 12))
        ]
        return [Attachment(mime.make_csv(rows), "text/csv", "pipeline_export.csv")]
    if kind == "png":
        png = mime.make_png(64, 40, rng.choice(LOGO_COLOURS))
        return [Attachment(png, "image/png", rng.choice(("screenshot.png", "diagram.png")))]
    start = (date + timedelta(days=rng.randint(2, 9))).replace(minute=0, second=0, microsecond=0)
    ics = mime.make_ics(
        uid=f"{rng.getrandbits(64):016x}@{box.owner.email.rsplit('@', 1)[1]}",
        summary=f"{topic.capitalize()} \u2013 {their}",
        start=start,
        end=start + timedelta(minutes=30),
        stamp=date,
        organizer=(sender.name, sender.email),
        attendees=[(p.name, p.email) for p in (box.owner, side.person) if p != sender],
        location=rng.choice(CITIES),
    )
    return [Attachment(ics, "text/calendar; method=REQUEST; charset=UTF-8", "invite.ics")]


def reply_prefix(person: Person) -> str:
    # Outlook writes "RE:", Gmail "Re:"; pin each correspondent to one client.
    return "RE: " if sum(map(ord, person.email)) % 3 == 0 else "Re: "


def business_thread(box: Mailbox, key: str, room: int) -> None:
    rng = box.rng
    side, their_colleagues = counterpart(box)
    cc_theirs = [rng.choice(their_colleagues)] if their_colleagues and rng.random() < 0.3 else []
    cc_ours = [rng.choice(box.colleagues)] if box.colleagues and rng.random() < 0.15 else []
    me = Side(box.owner, box.owner_company, rng.choice(TITLES))
    topic = rng.choice(TOPICS)
    subject = fill(
        rng.choice(SUBJECTS),
        rng,
        topic=topic,
        ours=box.owner_company,
        their=side.company or side.person.name.split()[0],
    )
    size = min(room, rng.choices(THREAD_SIZES, weights=THREAD_SIZE_WEIGHTS)[0])
    owner_starts = rng.random() < 0.45
    zones = {box.owner.email: rng.choice(ZONES), side.person.email: rng.choice(ZONES)}
    date = box.moment()
    drafts: list[Draft] = []
    for index in range(size):
        if index:
            date = date + reply_delay(rng)
            if date > box.now:
                break
        mine = (index % 2 == 0) == owner_starts
        sender, receiver = (me, side) if mine else (side, me)
        text = business_body(
            rng,
            to_first=receiver.person.name.split()[0],
            sender=sender.person.name,
            sender_title=sender.title,
            sender_company=sender.company or sender.person.name,
            topic=topic,
        )
        html = html_from_text(text) if rng.random() < 0.7 else None
        prev = drafts[-1] if drafts else None
        if prev is not None:
            text += quote_text(prev)
            if html is not None:
                html += quote_html(prev)
        refs = [*prev.references, prev.message_id] if prev and prev.message_id else []
        drafts.append(
            Draft(
                sender=sender.person,
                to=[receiver.person],
                cc=cc_theirs + cc_ours,
                subject=(reply_prefix(sender.person) + subject) if index else subject,
                date=date,
                text=text,
                html=html,
                html_only=html is not None and rng.random() < 0.1,
                message_id=box.message_id(sender.person),
                in_reply_to=prev.message_id if prev else None,
                references=refs,
                attachments=attachments(box, sender.person, side, topic, date),
                inline_image=html is not None and rng.random() < 0.06,
                delivered_to=None if mine else box.owner.email,
                zone=zones[sender.person.email],
                encoding_roll=rng.random(),
            )
        )
    age = box.now - drafts[-1].date
    archived = rng.random() < (0.6 if age > timedelta(days=7) else 0.1)
    for draft in drafts:
        if draft.sender == box.owner:
            box.add(draft, folder="sent", unread=False, starred=rng.random() < 0.01, thread_key=key)
            continue
        recent = box.now - draft.date
        unread_odds = (
            0.5 if recent < timedelta(days=3) else 0.15 if recent < timedelta(days=14) else 0.03
        )
        box.add(
            draft,
            folder="archive" if archived else "inbox",
            unread=rng.random() < (0.01 if archived else unread_odds),
            starred=rng.random() < 0.04,
            thread_key=key,
            received_at=min(box.now, draft.date + timedelta(seconds=rng.randint(1, 20))),
        )
