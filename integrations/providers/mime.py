"""Header and body helpers shared by the mail drivers: tolerant of what real mail contains.

Decoding uses the standard library's ``compat32`` primitives with explicit RFC 2047 handling:
on this machine ``email.policy.default`` parses a 9 KB multipart message about 10x slower.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

from integrations.providers.mail import RemoteAddress

SNIPPET_LENGTH = 200
# A mailbox's mail names the same people over and over (its owner on almost every message, a
# customer on every message of a conversation): a sync remembers what each address header
# value it has read said, and matching what it decided about each address (a 20,000-message
# sandbox mailbox has 65,000 address fields and 261 distinct ones).
ADDRESS_CACHE_SIZE = 16384
# Longer values (a mailing to hundreds) and repeated headers are read each time: the memory
# stays small.
REMEMBERED_HEADER_LENGTH = 1000
_WHITESPACE = re.compile(r"\s+")
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]+>", re.IGNORECASE | re.DOTALL)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Characters that need the real address parser: quotes, comments, escapes, groups, routes.
_NOT_SIMPLE = re.compile(r'["()\\;:\[\]]|=\?')
_SIMPLE_ITEM = re.compile(r"([^<>@]*?)\s*<\s*([^<>\s@]+@[^<>\s@]+)\s*>|([^<>\s@]+@[^<>\s@]+)")


def decode_words(value: str | None) -> str:
    """An RFC 2047 header value as text; undecodable words are kept as they came."""
    if not value:
        return ""
    if "=?" not in value:
        return value  # the common case, and decode_header's slowest path
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeDecodeError, ValueError, TypeError):
        return value


def normalize_address(address: str) -> str:
    return address.strip().strip("<>").strip().lower()


def _simple_pairs(value: str) -> list[tuple[str, str]] | None:
    """``Name <a@b>, c@d`` lists without quoting, comments or groups, split without the RFC 5322
    parser (which is most of the cost of normalizing a message); None for anything else."""
    if _NOT_SIMPLE.search(value):
        return None
    pairs = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        found = _SIMPLE_ITEM.fullmatch(item)
        if found is None:
            return None
        name, address, bare = found.groups()
        pairs.append((" ".join(name.split()), address) if address else ("", bare))
    return pairs


def address_pairs(values: list[str]) -> list[tuple[str, str]]:
    """(name, address) pairs as ``email.utils.getaddresses`` gives them, faster when simple."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        simple = _simple_pairs(value)
        pairs += getaddresses([value]) if simple is None else simple
    return pairs


def parse_addresses(*values: str | None) -> tuple[RemoteAddress, ...]:
    """Addresses from To/Cc/From-style headers, names decoded, duplicates and junk dropped.
    The answer for one header value of usual length is remembered (it is immutable)."""
    if not values:
        return ()
    if len(values) > 1 or len(values[0] or "") > REMEMBERED_HEADER_LENGTH:
        return _addresses_read(values)
    return _addresses_remembered(values)


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def _addresses_remembered(values: tuple[str | None, ...]) -> tuple[RemoteAddress, ...]:
    return _addresses_read(values)


def _addresses_read(values: tuple[str | None, ...]) -> tuple[RemoteAddress, ...]:
    found: list[RemoteAddress] = []
    seen: set[str] = set()
    present = [v for v in values if v]
    if not present:
        return ()
    for name, address in address_pairs(present):
        address = normalize_address(address)
        if "@" not in address or address in seen:
            continue
        seen.add(address)
        found.append(RemoteAddress(address=address, name=decode_words(name).strip().strip('"')))
    return tuple(found)


def parse_date(value: str | None, fallback: datetime) -> datetime:
    """The Date header as aware UTC; a malformed or missing one falls back (to received time)."""
    if value:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            try:
                return parsed.astimezone(UTC)
            except (OverflowError, ValueError):
                pass
    return fallback


def message_ids(value: str | None) -> tuple[str, ...]:
    """``<id@host>`` tokens of a Message-ID, In-Reply-To or References header, in order."""
    return tuple(dict.fromkeys(_MESSAGE_ID.findall(value or "")))


def first_message_id(value: str | None) -> str:
    ids = message_ids(value)
    return ids[0] if ids else ""


def html_to_text(markup: str) -> str:
    return html.unescape(_TAGS.sub(" ", markup))


def snippet_of(text: str, markup: str = "") -> str:
    source = text if text.strip() else html_to_text(markup)
    return _WHITESPACE.sub(" ", source).strip()[:SNIPPET_LENGTH]


def decode_payload(data: bytes, charset: str | None) -> str | None:
    """Bytes of a text part as str; None when the charset is unknown or the bytes don't fit it."""
    for candidate in (charset or "utf-8", "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return None
