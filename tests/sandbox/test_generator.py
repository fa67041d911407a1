"""The synthetic mailbox and calendar generator: determinism, MIME fidelity, oddities, events."""

from __future__ import annotations

import csv
import io
import itertools
import re
import struct
import zlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

import pytest

from integrations.sandbox.generator import (
    Person,
    default_companies,
    generate_events,
    generate_mailbox,
)

OWNER = Person("Ana Ruiz", "ana@liaison-demo.com")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mailbox():
    return generate_mailbox(owner=OWNER, seed=5, count=1500, now=NOW)


@pytest.fixture(scope="module")
def parsed(mailbox) -> list[EmailMessage]:
    return [message_from_bytes(item.raw, policy=policy.default) for item in mailbox]


def _parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def test_same_seed_gives_identical_bytes():
    first = generate_mailbox(owner=OWNER, seed=9, count=200, now=NOW)
    second = generate_mailbox(owner=OWNER, seed=9, count=200, now=NOW)
    assert first == second


def test_different_seed_or_owner_gives_different_mail():
    base = generate_mailbox(owner=OWNER, seed=9, count=50, now=NOW)
    other_seed = generate_mailbox(owner=OWNER, seed=10, count=50, now=NOW)
    other_owner = generate_mailbox(
        owner=Person("Bo Li", "bo@liaison-demo.com"), seed=9, count=50, now=NOW
    )
    assert [i.raw for i in base] != [i.raw for i in other_seed]
    ids = {message_from_bytes(i.raw)["Message-ID"] for i in base} - {None}
    other_ids = {message_from_bytes(i.raw)["Message-ID"] for i in other_owner} - {None}
    assert ids and not ids & other_ids


@pytest.mark.parametrize("count", [1, 7, 12, 333])
def test_count_is_exact(count):
    assert len(generate_mailbox(owner=OWNER, seed=1, count=count, now=NOW)) == count


def test_every_line_ends_with_crlf(mailbox):
    for item in mailbox:
        assert b"\n" not in item.raw.replace(b"\r\n", b"")
        assert item.raw.endswith(b"\r\n")


def test_messages_are_ordered_and_received_within_the_span(mailbox):
    times = [item.received_at for item in mailbox]
    assert times == sorted(times)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
    assert NOW - timedelta(days=60) <= times[0] and times[-1] <= NOW


def test_messages_parse_with_the_core_headers(parsed):
    for message in parsed:
        assert message.defects == []
        assert message["From"] and message["To"] and message["Subject"] is not None
        assert message["MIME-Version"] == "1.0"


def test_sent_messages_come_from_the_owner(mailbox, parsed):
    for item, message in zip(mailbox, parsed, strict=True):
        sender = message["From"].addresses[0].addr_spec
        if item.folder in ("sent", "drafts"):
            assert sender == OWNER.email
        else:
            assert sender != OWNER.email
            recipients = [
                a for _, a in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
            ]
            assert OWNER.email in recipients


def test_threads_chain_message_ids_through_in_reply_to_and_references(mailbox, parsed):
    threads: dict[str, list[EmailMessage]] = {}
    for item, message in zip(mailbox, parsed, strict=True):
        threads.setdefault(item.thread_key, []).append(message)
    long_threads = [t for t in threads.values() if len(t) >= 4]
    assert long_threads
    sizes = Counter(len(t) for t in threads.values())
    assert max(sizes) <= 8
    for thread in long_threads:
        for previous, message in itertools.pairwise(thread):
            assert message["In-Reply-To"] == previous["Message-ID"]
            assert message["References"].split()[-1] == previous["Message-ID"]
            assert message["References"].split()[0] == thread[0]["Message-ID"]
            assert message["Subject"].lower().startswith("re: ")


def test_replies_quote_the_previous_message(mailbox, parsed):
    replies = [m for m in parsed if m["In-Reply-To"] and m.get_body(("plain",))]
    assert replies
    for message in replies[:50]:
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert re.search(
            r"^On \w{3}, \w{3} \d{1,2}, \d{4} at \d{1,2}:\d{2} [AP]M, .+ wrote:$",
            text,
            re.MULTILINE,
        )
        assert "\n> " in text


def test_html_replies_quote_in_a_gmail_blockquote(parsed):
    replies = [m for m in parsed if m["In-Reply-To"] and m.get_body(("html",))]
    html = replies[0].get_body(("html",)).get_content()
    assert '<blockquote class="gmail_quote"' in html
    assert re.search(r"<blockquote[^>]*><div", html)


def test_alternative_bodies_carry_text_and_html(parsed):
    alternatives = [m for m in parsed if "multipart/alternative" in _parts(m)]
    assert len(alternatives) > 100
    message = alternatives[0]
    assert message.get_body(("plain",)).get_content().strip()
    assert message.get_body(("html",)).get_content().startswith('<div dir="ltr">')


def test_attachments_of_every_kind_are_valid_files(parsed):
    found: dict[str, bytes] = {}
    for message in parsed:
        for part in message.iter_attachments():
            if part.get_content_disposition() == "attachment":
                found.setdefault(part.get_content_type(), part.get_content())
    assert set(found) >= {"application/pdf", "image/png", "text/csv", "text/calendar"}
    _assert_valid_pdf(found["application/pdf"])
    _assert_valid_png(found["image/png"])
    rows = list(csv.reader(io.StringIO(found["text/csv"])))
    assert rows[0] == ["account", "stage", "amount_eur", "close_date"] and len(rows) > 1
    ics = found["text/calendar"]
    assert ics.startswith("BEGIN:VCALENDAR") and "METHOD:REQUEST" in ics
    assert "BEGIN:VEVENT" in ics and "UID:" in ics


def _assert_valid_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    xref_at = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[xref_at : xref_at + 4] == b"xref"
    first_offset = int(data[xref_at:].split(b"\n")[3][:10])
    assert data[first_offset:].startswith(b"1 0 obj")


def _assert_valid_png(data: bytes) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        kinds.append(kind)
        if kind == b"IDAT":
            width, height = struct.unpack(">II", data[16:24])
            assert len(zlib.decompress(body)) == height * (1 + 3 * width)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_non_ascii_attachment_names_use_rfc2231(parsed):
    names = [part.get_filename() for m in parsed for part in m.iter_attachments()]
    assert any(name and "\u2013" in name for name in names)  # en dash


def test_inline_images_are_related_parts_cited_by_cid(parsed):
    related = [m for m in parsed if "multipart/related" in _parts(m)]
    assert related
    for message in related:
        html = message.get_body(("html",)).get_content()
        images = [
            p
            for p in message.walk()
            if p.get_content_type() == "image/png" and p.get_content_disposition() == "inline"
        ]
        assert images
        cid = images[0]["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        _assert_valid_png(images[0].get_content())


def test_non_ascii_names_are_rfc2047_encoded(mailbox, parsed):
    encoded = [
        (i, m)
        for i, m in zip(mailbox, parsed, strict=True)
        if re.search(rb"^(From|To): =\?utf-8\?", i.raw, re.MULTILINE)
    ]
    assert encoded
    item, message = encoded[0]
    names = [a.display_name for a in message["From"].addresses + message["To"].addresses]
    assert any(not name.isascii() for name in names)
    assert item.raw.isascii()


def test_non_ascii_subjects_are_encoded_words(mailbox, parsed):
    subjects = [
        m["Subject"] for i, m in zip(mailbox, parsed, strict=True) if b"Subject: =?utf-8?" in i.raw
    ]
    assert subjects and all(not s.isascii() for s in subjects)


def test_bodies_use_quoted_printable_base64_and_7bit(parsed):
    encodings = Counter(
        part.get("Content-Transfer-Encoding")
        for m in parsed
        for part in m.walk()
        if part.get_content_maintype() == "text"
    )
    assert encodings["quoted-printable"] and encodings["base64"] and encodings["7bit"]
    for message in parsed[:300]:
        for part in message.walk():
            if part.get_content_maintype() == "text":
                assert isinstance(part.get_content(), str)
                assert part.defects == []


def test_folders_mix_inbox_sent_archive_with_some_spam_trash_drafts(mailbox):
    folders = Counter(item.folder for item in mailbox)
    assert folders["inbox"] > 200 and folders["sent"] > 200 and folders["archive"] > 100
    assert 0 < folders["spam"] < 100 and 0 < folders["trash"] < 100 and folders["drafts"] > 0


def test_categories_go_to_newsletters_from_non_company_senders(mailbox, parsed):
    company_domains = {c.domain for c in default_companies(5)}
    categories = Counter(item.category for item in mailbox)
    assert {"promotions", "social", "updates", "forums"} <= set(categories)
    for item, message in zip(mailbox, parsed, strict=True):
        if item.category:
            domain = message["From"].addresses[0].domain
            assert domain not in company_domains and item.folder in ("inbox", "archive")
            assert message["List-Unsubscribe"]


def test_unread_and_starred_are_mixed_and_sent_is_read(mailbox):
    assert 0 < sum(i.unread for i in mailbox) < len(mailbox) / 2
    assert 0 < sum(i.starred for i in mailbox) < len(mailbox) / 10
    assert not any(i.unread for i in mailbox if i.folder == "sent")


def test_oddity_message_without_message_id(mailbox, parsed):
    missing = [m for m in parsed if m["Message-ID"] is None]
    assert len(missing) == 1


def test_oddity_two_messages_share_a_message_id(parsed):
    counts = Counter(m["Message-ID"] for m in parsed if m["Message-ID"])
    duplicated = [mid for mid, n in counts.items() if n > 1]
    assert len(duplicated) == 1 and counts[duplicated[0]] == 2


def test_oddity_message_with_200_recipients(parsed):
    crowd = [
        m for m in parsed if len(getaddresses(m.get_all("To", []) + m.get_all("Cc", []))) == 200
    ]
    assert len(crowd) == 1
    assert OWNER.email in [a for _, a in getaddresses(crowd[0].get_all("To", []))]


def test_oddity_message_with_a_1000_character_subject(mailbox, parsed):
    long = [m for m in parsed if len(m["Subject"]) == 1000]
    assert len(long) == 1
    assert all(len(line) <= 998 for i in mailbox for line in i.raw.split(b"\r\n"))


def test_oddity_message_with_a_malformed_date(parsed):
    bad = []
    for message in parsed:
        try:
            parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            bad.append(message)
    assert len(bad) == 1


def test_no_oddities_when_turned_off():
    items = generate_mailbox(owner=OWNER, seed=5, count=300, now=NOW, oddities=False)
    messages = [message_from_bytes(i.raw, policy=policy.default) for i in items]
    assert all(m["Message-ID"] for m in messages)
    assert len({m["Message-ID"] for m in messages}) == len(messages)
    assert max(len(m["Subject"]) for m in messages) < 200


def test_generates_a_large_mailbox_with_unique_message_ids_per_thread():
    items = generate_mailbox(owner=OWNER, seed=2, count=5_000, now=NOW)
    assert len(items) == 5_000
    assert len({item.thread_key for item in items}) < len(items)


def test_default_companies_are_deterministic_with_people_at_their_domain():
    companies = default_companies(3)
    assert companies == default_companies(3) != default_companies(4)
    assert len({c.domain for c in companies}) == len(companies) >= 10
    assert any(not c.name.isascii() for c in companies)
    for company in companies:
        assert company.people
        assert all(
            p.email.endswith("@" + company.domain) and p.email.isascii() for p in company.people
        )


def test_custom_companies_are_the_only_external_correspondents():
    company = default_companies(1)[0]
    items = generate_mailbox(
        owner=OWNER, seed=1, count=200, now=NOW, companies=[company], oddities=False
    )
    business = [
        message_from_bytes(i.raw, policy=policy.default)
        for i in items
        if i.category is None and i.folder in ("inbox", "archive")
    ]
    domains = {m["From"].addresses[0].domain for m in business}
    assert company.domain in domains


@pytest.fixture(scope="module")
def events():
    return generate_events(owner=OWNER, seed=5, count=30, now=NOW)


def test_events_are_deterministic_and_exact_in_count(events):
    assert generate_events(owner=OWNER, seed=5, count=30, now=NOW) == events
    assert len(events) == 30
    assert generate_events(owner=OWNER, seed=6, count=30, now=NOW) != events


def test_weekly_series_has_an_exdate_on_one_of_its_occurrences(events):
    (series,) = [e for e in events if e.rrule]
    assert series.rrule.startswith("RRULE:FREQ=WEEKLY;")
    assert series.start.tzinfo is not None and series.timezone
    (skipped,) = series.exdates
    assert (skipped - series.start) % timedelta(weeks=1) == timedelta(0)


def test_modified_occurrence_shares_the_series_uid(events):
    (series,) = [e for e in events if e.rrule]
    (moved,) = [e for e in events if e.recurrence_id is not None]
    assert moved.uid == series.uid and moved.rrule is None
    assert (moved.recurrence_id - series.start) % timedelta(weeks=1) == timedelta(0)
    assert moved.recurrence_id not in series.exdates
    assert moved.start != moved.recurrence_id


def test_calendar_holds_a_cancelled_and_an_all_day_event(events):
    assert [e.status for e in events].count("cancelled") == 1
    (all_day,) = [e for e in events if e.all_day]
    assert type(all_day.start) is date and type(all_day.end) is date
    assert all_day.end > all_day.start


def test_meetings_have_company_attendees_and_some_conference_links(events):
    company_emails = {p.email for c in default_companies(5) for p in c.people}
    meetings = [e for e in events if not e.all_day and not e.rrule and e.recurrence_id is None]
    assert all(any(p.email in company_emails for p, _ in e.attendees) for e in meetings)
    assert all(OWNER in [p for p, _ in e.attendees] for e in events)
    urls = [e.conference_url for e in events if e.conference_url]
    assert urls and all(u.startswith("https://") for u in urls)
    statuses = {s for e in events for _, s in e.attendees}
    assert statuses <= {"needsAction", "accepted", "declined", "tentative"}
    assert len(statuses) > 2


def test_events_are_unique_except_for_the_modified_occurrence(events):
    uids = Counter(e.uid for e in events)
    assert sorted(uids.values())[-1] == 2 and list(uids.values()).count(2) == 1
