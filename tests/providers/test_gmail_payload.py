"""Gmail resource shapes the sandbox does not produce but Gmail does, normalized without a server.

Real Gmail expands attached messages into ``parts``, may omit base64 padding, repeats address
headers, leaves malformed encoded-words in place and writes ids without angle brackets.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

import pytest

from integrations.providers.google.gmail_payload import message_from_resource
from integrations.providers.mime import (
    REMEMBERED_HEADER_LENGTH,
    normalize_address,
    parse_addresses,
)


def b64(data: bytes, *, pad: bool = True) -> str:
    encoded = base64.urlsafe_b64encode(data).decode("ascii")
    return encoded if pad else encoded.rstrip("=")


def header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def resource(payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "18c0ffee",
        "threadId": "18c0ffee",
        "labelIds": ["INBOX"],
        "snippet": "",
        "internalDate": "1767225600000",  # 2026-01-01T00:00:00Z
        "sizeEstimate": 1234,
        "payload": payload,
        **fields,
    }


def test_an_attached_message_is_one_attachment_even_when_gmail_expands_it() -> None:
    payload = {
        "partId": "",
        "mimeType": "multipart/mixed",
        "headers": [header("Subject", "Fwd: hello")],
        "parts": [
            {"partId": "0", "mimeType": "text/plain", "body": {"size": 2, "data": b64(b"hi")}},
            {
                "partId": "1",
                "mimeType": "message/rfc822",
                "filename": "",
                "body": {"size": 300, "attachmentId": "ANGjdJ-inner"},
                "parts": [
                    {"partId": "1.0", "mimeType": "text/plain", "body": {"size": 5}},
                ],
            },
        ],
    }

    message = message_from_resource(resource(payload))

    assert message.text_body == "hi"
    (attached,) = message.attachments
    assert (attached.part_id, attached.content_type, attached.provider_attachment_id) == (
        "1",
        "message/rfc822",
        "ANGjdJ-inner",
    )


def test_unpadded_bodies_repeated_address_headers_and_bare_message_ids() -> None:
    payload = {
        "partId": "",
        "mimeType": "text/plain",
        "headers": [
            header("From", "=?utf-8?q?Ren=C3=A9e?= <renee@example.fr>"),
            header("To", "a@example.com"),
            header("To", "B <b@example.com>, a@example.com"),
            header("Subject", "=?bogus?q?left_as_is?="),
            header("Message-ID", "20260101.1234@legacy.example"),
            header("Content-Type", "text/plain; charset=utf-8"),
        ],
        "body": {"size": 5, "data": b64("é!!!".encode(), pad=False)},
    }

    message = message_from_resource(resource(payload, snippet="R&amp;D &#39;26"))

    assert message.text_body == "é!!!"
    assert message.sender is not None and message.sender.name == "Renée"
    assert [a.address for a in message.to] == ["a@example.com", "b@example.com"]
    assert message.subject == "=?bogus?q?left_as_is?="
    assert message.rfc_message_id == "<20260101.1234@legacy.example>"
    assert message.snippet == "R&D '26"


def test_a_message_without_headers_or_body_still_normalizes() -> None:
    message = message_from_resource(resource({"partId": "", "mimeType": "text/plain"}))

    assert message.sender is None and message.subject == "" and message.rfc_message_id == ""
    assert message.sent_at == message.received_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert message.text_body == "" and message.attachments == ()
    assert message.size == 1234 and message.is_read  # no UNREAD label


@pytest.mark.parametrize(
    "value",
    [
        '"Doe, Jane" <jane@x.test>, bob@y.test',
        "john@x.test (John Smith)",
        "Team: a@x.test, b@x.test;",
        "John  Q.  Public <JQP@X.test>",
        "Name<n@x.test>, , trailing@x.test,",
        "=?utf-8?q?Zo=C3=AB?= <zoe@x.test>",
        "<a@x.test>",
        "a b@c.test",
        "undisclosed-recipients:;",
    ],
)
def test_address_parsing_agrees_with_the_standard_library(value: str) -> None:
    expected = []
    for name, address in getaddresses([value]):
        if "@" in address and normalize_address(address) not in {a for a, _ in expected}:
            expected.append((normalize_address(address), name))

    found = [(a.address, a.name) for a in parse_addresses(value)]

    assert [address for address, _ in found] == [address for address, _ in expected]
    for (_, got), (_, raw) in zip(found, expected, strict=True):
        assert got == raw.strip('"') or "=?" in raw  # encoded words come out decoded


def test_a_header_value_read_again_or_too_long_to_remember_reads_the_same() -> None:
    usual = "Dana <Dana@Customer.test>, bob@alpha.test"
    mailing = ", ".join(f"Person {n} <p{n}@alpha.test>" for n in range(60))
    assert len(mailing) > REMEMBERED_HEADER_LENGTH

    first = parse_addresses(usual)

    assert parse_addresses(usual) is first  # remembered: the answer is immutable
    assert [(a.address, a.name) for a in first] == [
        ("dana@customer.test", "Dana"),
        ("bob@alpha.test", ""),
    ]
    assert parse_addresses(mailing) == parse_addresses(mailing)
    assert [a.address for a in parse_addresses(mailing)][-1] == "p59@alpha.test"
    assert len(parse_addresses(mailing)) == 60
    # A header given twice (Gmail repeats them) is read as one list.
    assert [a.address for a in parse_addresses(usual, "carol@alpha.test")] == [
        "dana@customer.test",
        "bob@alpha.test",
        "carol@alpha.test",
    ]
