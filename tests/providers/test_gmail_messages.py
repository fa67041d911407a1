"""What a fetched Gmail message looks like once normalized: headers, bodies, attachments."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from integrations.providers.mail import RemoteMessage, SyncWindow
from integrations.sandbox.client import SandboxClient
from integrations.sandbox.generator.singles import MALFORMED_DATE
from tests.providers.gmail_support import GmailBox, all_pages, email, gmail_box

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def box(sandbox: SandboxClient, settings: Any) -> GmailBox:
    return gmail_box(sandbox, settings)


def fetch_one(box: GmailBox, raw: bytes, **kwargs: Any) -> RemoteMessage:
    message_id = box.deliver(raw, **kwargs)
    (result,) = box.driver().fetch([message_id])
    assert isinstance(result, RemoteMessage), result
    return result


def test_generated_mailbox_oddities_all_normalize(box: GmailBox) -> None:
    box.sandbox.google.fill(box.address, seed=9, count=300)
    driver = box.driver()
    everything = SyncWindow(since=None, include_categories=True)
    ids = [i for page in all_pages(driver, None, everything) for i in page.fetch]

    results = driver.fetch(ids)

    assert all(isinstance(result, RemoteMessage) for result in results)
    messages: list[RemoteMessage] = results
    by_subject = {message.subject: message for message in messages}
    assert by_subject["Sent from an old mail server"].rfc_message_id == ""
    first, resent = by_subject["Weekly status"], by_subject["Weekly status (resent)"]
    assert first.rfc_message_id == resent.rfc_message_id != ""
    assert first.provider_id != resent.provider_id
    crowd = next(m for m in messages if m.subject.endswith("office move: all hands"))
    assert len(crowd.to) + len(crowd.cc) == 200
    assert max(len(message.subject) for message in messages) == 1000
    late = by_subject["Invoice reminder"]
    assert late.sent_at == late.received_at  # Date "Tue, 30 Feb 2026 24:61:00 +2500"
    stored = {m["id"]: m for m in box.stored()}
    assert all(
        int(stored[m.provider_id]["internalDate"]) == round(m.received_at.timestamp() * 1000)
        for m in messages
    )
    assert MALFORMED_DATE  # the generator's own constant, so this test follows it


def test_generated_attachments_can_be_downloaded(box: GmailBox) -> None:
    box.sandbox.google.fill(box.address, seed=4, count=400)
    driver = box.driver()
    ids = [i for page in all_pages(driver, None, SyncWindow(since=None)) for i in page.fetch]
    messages = [m for m in driver.fetch(ids) if isinstance(m, RemoteMessage)]
    with_files = [(m, a) for m in messages for a in m.attachments if a.provider_attachment_id]
    assert with_files

    message, attachment = with_files[0]
    data = driver.fetch_attachment(provider_message_id=message.provider_id, attachment=attachment)

    assert len(data) == attachment.size > 0


def related_message() -> bytes:
    message = EmailMessage()
    message["From"] = "=?iso-8859-1?q?Jos=E9_Mart=EDn?= <Jose@Example.ES>"
    message["To"] = "Olivia <olivia@liaison-test.com>, Team <team@liaison-test.com>"
    message["Cc"] = '"Doe, Jane" <jane@client.test>'
    message["Reply-To"] = "replies@example.es"
    message["Subject"] = "=?utf-8?q?Caf=C3=A9_order_=E2=80=94_quote?="
    message["Message-ID"] = "<quote-17@example.es>"
    message["In-Reply-To"] = "<ask-3@liaison-test.com>"
    message["References"] = "<ask-1@liaison-test.com> <ask-3@liaison-test.com>"
    message["Date"] = "Mon, 02 Mar 2026 10:15:00 +0100"
    message.set_content("Plain body, café.\n")
    message.add_alternative('<p>See <img src="cid:logo@example.es"></p>', subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(
        PNG, "image", "png", cid="<logo@example.es>", filename="logo.png", disposition="inline"
    )
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Quote 17.pdf")
    return bytes(message)


def test_related_bodies_inline_images_and_attachments_come_out_right(box: GmailBox) -> None:
    message = fetch_one(box, related_message())

    assert message.subject == "Café order — quote"
    assert message.sender is not None
    assert (message.sender.address, message.sender.name) == ("jose@example.es", "José Martín")
    assert [a.address for a in message.to] == ["olivia@liaison-test.com", "team@liaison-test.com"]
    assert [(a.address, a.name) for a in message.cc] == [("jane@client.test", "Doe, Jane")]
    assert [a.address for a in message.reply_to] == ["replies@example.es"]
    assert message.rfc_message_id == "<quote-17@example.es>"
    assert message.in_reply_to == "<ask-3@liaison-test.com>"
    assert message.references == ("<ask-1@liaison-test.com>", "<ask-3@liaison-test.com>")
    assert message.sent_at.isoformat() == "2026-03-02T09:15:00+00:00"
    assert message.text_body.strip() == "Plain body, café."
    assert 'src="cid:logo@example.es"' in message.html_body
    assert message.is_read is False and message.folder_ids
    logo, quote = message.attachments
    assert (logo.filename, logo.content_type, logo.content_id, logo.is_inline) == (
        "logo.png",
        "image/png",
        "logo@example.es",
        True,
    )
    assert (quote.filename, quote.content_type, quote.is_inline) == (
        "Quote 17.pdf",
        "application/pdf",
        False,
    )
    assert quote.size == len(PDF)

    driver = box.driver()
    for attachment, expected in ((logo, PNG), (quote, PDF)):
        data = driver.fetch_attachment(
            provider_message_id=message.provider_id, attachment=attachment
        )
        assert data == expected


ODD_TEXT_PARTS = b"""\
From: Legacy Mailer <old@legacy.test>
To: olivia@liaison-test.com
Subject: Odd charsets
Message-ID: legacy-42@legacy.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

Jos\xe9 wrote this.
--b1
Content-Type: text/plain; charset="x-klingon"
Content-Transfer-Encoding: 8bit

\xff\xfe\xfa not text in any charset we know
--b1
Content-Type: text/plain; charset=us-ascii

A second text part, e.g. a list footer.
--b1
Content-Type: text/plain
Content-Disposition: attachment

Notes sent as an attachment without a name.
--b1--
"""


def test_text_parts_that_are_not_the_body_are_kept_as_attachments(box: GmailBox) -> None:
    message = fetch_one(box, ODD_TEXT_PARTS)

    assert message.text_body.strip() == "José wrote this."
    assert message.rfc_message_id == "<legacy-42@legacy.test>"
    klingon, footer, notes = message.attachments
    assert klingon.content_type == "text/plain" and klingon.part_id == "1"
    assert klingon.data is not None and klingon.data.startswith(b"\xff\xfe\xfa")
    assert footer.data is not None and b"list footer" in footer.data
    assert notes.provider_attachment_id and notes.data is None  # Gmail keeps it apart
    driver = box.driver()
    fetched = {
        attachment.part_id: driver.fetch_attachment(
            provider_message_id=message.provider_id, attachment=attachment
        )
        for attachment in message.attachments
    }
    assert fetched["1"] == klingon.data
    assert b"without a name" in fetched["3"]


def test_snippet_is_gmails_unescaped(box: GmailBox) -> None:
    message = fetch_one(box, email("Snippet", body="It's <fine> & done"))

    assert message.snippet == "It's <fine> & done"


def test_flags_come_from_labels(box: GmailBox) -> None:
    message = fetch_one(box, email("Starred"), label_ids=["INBOX", "STARRED"])

    assert message.is_read and message.is_starred
    assert set(message.folder_ids) == {"INBOX", "STARRED"}
    assert message.size > 0 and message.provider_thread_id
