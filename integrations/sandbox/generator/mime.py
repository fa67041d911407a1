"""Byte-level MIME building for the generator: headers, encodings, multiparts, attachments.

Messages are assembled by hand rather than with ``email.message.EmailMessage`` because the
generator must write 20,000 of them in a few seconds; the stdlib still does the encodings
(RFC 2047 words, quoted-printable, base64). Every line ends in CRLF, as on the wire.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email import quoprimime
from email.header import Header
from email.utils import formataddr
from functools import lru_cache
from urllib.parse import quote

CRLF = "\r\n"
MAX_LINE = 76


def is_ascii(text: str) -> bool:
    return text.isascii()


def address(name: str, email: str) -> str:
    """``Name <email>`` with an RFC 2047 encoded-word for a non-ASCII name."""
    return formataddr((name, email), charset="utf-8")


def fold_list(name: str, items: Sequence[str], sep: str = ",") -> str:
    """``Name: a, b, c`` folded between items so no line passes 78 characters."""
    lines: list[str] = []
    current = f"{name}:"
    for index, item in enumerate(items):
        piece = f" {item}{sep if index < len(items) - 1 else ''}"
        if len(current) + len(piece) > 78 and current.strip():
            lines.append(current)
            current = piece
        else:
            current += piece
    lines.append(current)
    return CRLF.join(lines)


def fold_text(name: str, value: str) -> str:
    """An unstructured header (Subject): encoded words if non-ASCII, else folded at spaces."""
    if not is_ascii(value):
        encoded = Header(value, "utf-8", header_name=name).encode(linesep=CRLF)
        return f"{name}: {encoded}"
    words = value.split(" ")
    lines: list[str] = []
    current = f"{name}:"
    for word in words:
        if len(current) + 1 + len(word) > 78 and current.strip() != f"{name}:":
            lines.append(current)
            current = f" {word}"
        else:
            current += f" {word}"
    lines.append(current)
    return CRLF.join(lines)


def to_crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", CRLF)


def qp_encode(text: str) -> str:
    # What email.charset does for utf-8 + QP: encode, then treat the bytes as latin-1 code points.
    return quoprimime.body_encode(
        to_crlf(text).encode("utf-8").decode("latin-1"), maxlinelen=MAX_LINE, eol=CRLF
    )


def b64_encode(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", CRLF).rstrip(CRLF)


def text_part(text: str, subtype: str = "plain", encoding: str | None = None) -> str:
    """One text/* part; 7bit when it can be, else quoted-printable, or base64 when asked."""
    if encoding is None:
        plain = is_ascii(text) and all(len(line) <= 998 for line in text.split("\n"))
        encoding = "7bit" if plain else "quoted-printable"
    charset = "us-ascii" if encoding == "7bit" else "UTF-8"
    if encoding == "base64":
        body = b64_encode(to_crlf(text).encode("utf-8"))
    elif encoding == "quoted-printable":
        body = qp_encode(text)
    else:
        body = to_crlf(text)
    return (
        f'Content-Type: text/{subtype}; charset="{charset}"{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}"
    )


def _filename_params(filename: str) -> str:
    if is_ascii(filename):
        return f'filename="{filename}"'
    # RFC 2231, as Gmail and Outlook write non-ASCII attachment names.
    return f"filename*=utf-8''{quote(filename, safe='')}"


def binary_part(
    data: bytes,
    content_type: str,
    filename: str,
    *,
    inline: bool = False,
    content_id: str | None = None,
) -> str:
    disposition = "inline" if inline else "attachment"
    name_param = f'name="{filename}"' if is_ascii(filename) else _filename_params(filename)
    lines = [
        f"Content-Type: {content_type}; {name_param}",
        f"Content-Disposition: {disposition}; {_filename_params(filename)}",
        "Content-Transfer-Encoding: base64",
    ]
    if content_id:
        lines.append(f"Content-ID: <{content_id}>")
        lines.append(f"X-Attachment-Id: {content_id.split('@')[0]}")
    return CRLF.join(lines) + CRLF + CRLF + _b64_cached(data)


@lru_cache(maxsize=256)
def _b64_cached(data: bytes) -> str:
    return b64_encode(data)


def multipart(subtype: str, parts: Iterable[str], boundary: str) -> str:
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}'
        f"{body}--{boundary}--{CRLF}"
    )


def message(headers: Sequence[str], entity: str) -> bytes:
    """A whole message: header lines, MIME-Version, then the top entity (its headers + body)."""
    head = CRLF.join([*headers, "MIME-Version: 1.0"])
    text = f"{head}{CRLF}{entity}"
    if not text.endswith(CRLF):
        text += CRLF
    return text.encode("utf-8")


# -- attachments made in code ------------------------------------------------------------------


def _pdf_escape(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF 1.4 with Helvetica text and a correct xref table."""
    text_ops = ["BT", "/F1 18 Tf", "72 740 Td", f"({_pdf_escape(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        text_ops += ["0 -18 Td", f"({_pdf_escape(line)}) Tj"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=64)
def make_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid truecolour PNG: a diagonal gradient of ``rgb``, like a small logo."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            shade = (x + y) * 255 // max(1, width + height - 2)
            rows += bytes(min(255, c * (255 - shade) // 255 + shade // 3) for c in rgb)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


def make_csv(rows: Sequence[Sequence[object]]) -> bytes:
    def cell(value: object) -> str:
        text = str(value)
        if any(ch in text for ch in ',"\n'):
            return '"' + text.replace('"', '""') + '"'
        return text

    return "".join(",".join(cell(v) for v in row) + "\r\n" for row in rows).encode("utf-8")


def _ics_fold(line: str) -> str:
    # RFC 5545 3.1: lines longer than 75 octets continue on the next line after a space.
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    out: list[str] = []
    chunk = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > (75 if not out else 74):
            out.append(chunk.decode("utf-8"))
            chunk = b""
        chunk += encoded
    out.append(chunk.decode("utf-8"))
    return "\r\n ".join(out)


def _ics_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def make_ics(
    *,
    uid: str,
    summary: str,
    start: datetime,
    end: datetime,
    stamp: datetime,
    organizer: tuple[str, str],
    attendees: Sequence[tuple[str, str]],
    location: str = "",
    method: str = "REQUEST",
    sequence: int = 0,
) -> bytes:
    """An iMIP invitation (RFC 6047) for a meeting; times in UTC."""
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Liaison Sandbox//Generator//EN",
        "VERSION:2.0",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"DTSTART:{_ics_utc(start)}",
        f"DTEND:{_ics_utc(end)}",
        f"DTSTAMP:{_ics_utc(stamp)}",
        f'ORGANIZER;CN="{organizer[0]}":mailto:{organizer[1]}',
        f"UID:{uid}",
    ]
    for name, email in attendees:
        lines.append(
            f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;"
            f'RSVP=TRUE;CN="{name}":mailto:{email}'
        )
    lines += [
        f"SEQUENCE:{sequence}",
        "STATUS:CONFIRMED",
        f"SUMMARY:{summary}",
        f"LOCATION:{location}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_ics_fold(line) for line in lines) + "\r\n").encode("utf-8")
