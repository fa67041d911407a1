"""RFC 5322 source → Gmail payload tree, snippet and attachments (no server needed)."""

from __future__ import annotations

import base64

from integrations.sandbox.google.gmail_mime import (
    attachment_part,
    decode_b64,
    normalized_subject,
    parse_envelope,
    parse_message,
)

NESTED = (
    b"From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@acme.test>\r\n"
    b"To: ana@acme.test\r\n"
    b"Subject: Deck\r\n"
    b"  for Monday\r\n"
    b"Message-ID: <deck@acme.test>\r\n"
    b"References: <a@x.test>\r\n <b@x.test>\r\n"
    b"In-Reply-To: <b@x.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/related; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b'<p>It&#39;s here: <img src=3D"cid:logo"> caf=C3=A9</p>\r\n'
    b"--inner\r\n"
    b'Content-Type: image/png; name="logo.png"\r\n'
    b"Content-ID: <logo>\r\n"
    b'Content-Disposition: inline; filename="logo.png"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: application/pdf\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''Angebot%20M%C3%BCller.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQ=\r\n"
    b"--outer--\r\n"
)


def test_part_ids_follow_gmails_numbering() -> None:
    payload = parse_message(NESTED, "18c0ffee00000001").payload
    assert payload["partId"] == "" and payload["body"] == {"size": 0}
    related, pdf = payload["parts"]
    assert (related["partId"], pdf["partId"]) == ("0", "1")
    assert [p["partId"] for p in related["parts"]] == ["0.0", "0.1"]


def test_text_parts_carry_decoded_data_and_files_carry_attachment_ids() -> None:
    parsed = parse_message(NESTED, "18c0ffee00000001")
    html, logo = parsed.payload["parts"][0]["parts"]
    assert base64.urlsafe_b64decode(html["body"]["data"]).decode() == (
        '<p>It&#39;s here: <img src="cid:logo"> café</p>'
    )  # the CRLF belongs to the boundary
    assert logo["filename"] == "logo.png" and "data" not in logo["body"]
    assert attachment_part(logo["body"]["attachmentId"]) == ("18c0ffee00000001", "0.1")
    assert parsed.attachments["0.1"] == base64.b64decode("iVBORw0KGgo=")
    pdf = parsed.payload["parts"][1]
    assert pdf["filename"] == "Angebot Müller.pdf"  # RFC 2231 decoded
    assert pdf["body"]["size"] == len(b"%PDF-1.4")


def test_headers_are_unfolded_and_encoded_words_decoded() -> None:
    headers = {h["name"]: h["value"] for h in parse_message(NESTED, "1").headers}
    assert headers["Subject"] == "Deck  for Monday"
    assert headers["From"] == "Björn <bjorn@acme.test>"


def test_snippet_is_body_text_html_escaped() -> None:
    assert parse_message(NESTED, "1").snippet == "It&#39;s here: café"


def test_envelope_reads_threading_headers() -> None:
    envelope = parse_envelope(NESTED)
    assert envelope.message_id == "<deck@acme.test>"
    assert envelope.references == ("<a@x.test>", "<b@x.test>")
    assert envelope.recipients() == ["ana@acme.test"]


def test_reply_prefixes_do_not_change_the_thread_subject() -> None:
    assert normalized_subject("RE: Fwd: Re[2]: Quote  Q3") == normalized_subject("quote q3")
    assert normalized_subject("Quote Q4") != normalized_subject("Quote Q3")


def test_raw_accepts_both_base64_alphabets_with_or_without_padding() -> None:
    data = b"\xfb\xff\xfe subject"
    standard = base64.b64encode(data).decode()
    url_safe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert decode_b64(standard) == decode_b64(url_safe) == data
