"""Gmail's ``q`` search language, on a mailbox in memory (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sandbox.google.gmail_search import compile_query
from integrations.sandbox.google.gmail_store import Mailbox, StoredMessage

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def add(
    box: Mailbox,
    *,
    sender: str,
    to: str,
    subject: str,
    when: datetime,
    labels: list[str],
    message_id: str = "",
    body: str = "Body text.",
) -> StoredMessage:
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        headers.append(f"Message-ID: {message_id}")
    raw = ("\r\n".join(headers) + f"\r\n\r\n{body}\r\n").encode()
    return box.add(raw, labels, ms(when), NOW.timestamp())


@pytest.fixture
def box() -> Mailbox:
    mailbox = Mailbox("ana@acme.test")
    add(
        mailbox,
        sender="Lucas <lucas@kestrel.test>",
        to="ana@acme.test",
        subject="Quote Q3",
        when=datetime(2024, 3, 19, 9, tzinfo=UTC),
        labels=["INBOX", "UNREAD"],
        message_id="<q3@kestrel.test>",
    )
    add(
        mailbox,
        sender="ana@acme.test",
        to="lucas@kestrel.test",
        subject="Re: Quote Q3",
        when=datetime(2024, 3, 1, 9, tzinfo=UTC),
        labels=["SENT"],
        body="Signed contract",
    )
    add(
        mailbox,
        sender="news@shop.test",
        to="ana@acme.test",
        subject="Spring sale",
        when=datetime(2024, 1, 5, 9, tzinfo=UTC),
        labels=["INBOX", "CATEGORY_PROMOTIONS"],
    )
    add(
        mailbox,
        sender="spammer@bad.test",
        to="ana@acme.test",
        subject="Win big",
        when=datetime(2024, 3, 18, 9, tzinfo=UTC),
        labels=["SPAM"],
    )
    label = mailbox.create_label("Deals/Won", None, None, None)
    add(
        mailbox,
        sender="eve@globex.test",
        to="ana@acme.test",
        subject="PO attached",
        when=datetime(2024, 2, 10, 9, tzinfo=UTC),
        labels=["INBOX", "STARRED", label.id],
    )
    return mailbox


def subjects(box: Mailbox, query: str) -> list[str]:
    search = compile_query(query, box, ms(NOW))
    return sorted(m.envelope.subject for m in box.messages.values() if search.matches(m))


def test_from_to_and_subject_match_case_insensitively(box: Mailbox) -> None:
    assert subjects(box, "from:KESTREL.test") == ["Quote Q3"]
    assert subjects(box, "to:lucas@kestrel.test") == ["Re: Quote Q3"]
    assert subjects(box, 'subject:"quote q3"') == ["Quote Q3", "Re: Quote Q3"]
    assert subjects(box, "from:me") == ["Re: Quote Q3"]


def test_dates_are_midnight_pacific_and_epoch_seconds_are_exact(box: Mailbox) -> None:
    assert subjects(box, "after:2024/03/02 before:2024/03/19") == ["Win big"]
    # 2024-03-19 09:00 UTC is 02:00 in Los Angeles, so it is after midnight Pacific of the 19th.
    assert "Quote Q3" in subjects(box, "after:2024/03/19")
    cut = int(datetime(2024, 3, 19, 9, tzinfo=UTC).timestamp())
    assert subjects(box, f"after:{cut}") == ["Quote Q3"]
    assert "Quote Q3" not in subjects(box, f"before:{cut}")


def test_newer_than_and_older_than_count_back_from_now(box: Mailbox) -> None:
    assert subjects(box, "newer_than:3d") == ["Quote Q3", "Win big"]
    assert subjects(box, "older_than:2m") == ["Spring sale"]


def test_in_is_label_and_category(box: Mailbox) -> None:
    assert subjects(box, "in:sent") == ["Re: Quote Q3"]
    assert subjects(box, "is:unread") == ["Quote Q3"]
    assert subjects(box, "is:starred") == ["PO attached"]
    assert subjects(box, "label:deals-won") == ["PO attached"]
    assert subjects(box, "label:Deals/Won") == ["PO attached"]
    assert subjects(box, "category:promotions") == ["Spring sale"]


def test_negation_or_braces_and_grouping(box: Mailbox) -> None:
    assert "Quote Q3" not in subjects(box, "-from:kestrel.test")
    assert subjects(box, "from:eve@globex.test OR from:news@shop.test") == [
        "PO attached",
        "Spring sale",
    ]
    assert subjects(box, "{from:eve@globex.test from:news@shop.test}") == [
        "PO attached",
        "Spring sale",
    ]
    assert subjects(box, "in:inbox (from:lucas OR from:eve)") == ["PO attached", "Quote Q3"]


def test_bare_words_search_subject_and_body(box: Mailbox) -> None:
    assert subjects(box, "contract") == ["Re: Quote Q3"]
    assert subjects(box, '"spring sale"') == ["Spring sale"]


def test_rfc822msgid_matches_with_or_without_brackets(box: Mailbox) -> None:
    assert subjects(box, "rfc822msgid:q3@kestrel.test") == ["Quote Q3"]
    assert subjects(box, "rfc822msgid:<q3@kestrel.test>") == ["Quote Q3"]


def test_in_spam_trash_or_anywhere_lifts_the_default_exclusion(box: Mailbox) -> None:
    assert compile_query("in:spam", box, ms(NOW)).includes_spam_trash
    assert compile_query("in:anywhere", box, ms(NOW)).includes_spam_trash
    assert not compile_query("in:inbox", box, ms(NOW)).includes_spam_trash
