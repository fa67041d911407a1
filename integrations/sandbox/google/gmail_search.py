"""Gmail's search language (the ``q`` parameter of messages.list / threads.list).

Supported: ``from: to: cc: bcc: subject: in: is: label: category: has:attachment filename:
rfc822msgid: after: before: newer_than: older_than: larger: smaller:``, bare words and
"quoted phrases" (matched in subject, addresses, body text and file names), ``-`` negation,
``OR`` and ``{a b}`` alternatives, and ``( )`` grouping. Terms side by side must all match.

Gmail quirks kept: dates (``2024/01/15``) mean midnight in America/Los_Angeles, epoch seconds are
exact; ``after:`` includes the instant, ``before:`` excludes it; ``newer_than:2d`` counts from now
in days (d), months (m, 30 days) or years (y, 365 days); ``in:anywhere``, ``in:spam`` or
``in:trash`` lift the default exclusion of Spam and Trash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from integrations.sandbox.google.errors import bad_request
from integrations.sandbox.google.gmail_store import Mailbox, StoredMessage

PACIFIC = ZoneInfo("America/Los_Angeles")
_TOKEN = re.compile(r'\s*(\(|\)|\{|\}|-(?=[^\s])|"[^"]*"|[^\s(){}"]+(?:"[^"]*")?)')
_DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})$|(\d{1,2})/(\d{1,2})/(\d{4})$")
_RELATIVE = re.compile(r"(\d+)([dmy])$", re.IGNORECASE)
_SIZE = re.compile(r"(\d+)([km]?)$", re.IGNORECASE)
_UNITS = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}
IN_LABELS = {
    "inbox": "INBOX",
    "sent": "SENT",
    "trash": "TRASH",
    "spam": "SPAM",
    "drafts": "DRAFT",
    "draft": "DRAFT",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "unread": "UNREAD",
    "chats": "CHAT",
}
CATEGORIES = {
    "primary": "CATEGORY_PERSONAL",
    "personal": "CATEGORY_PERSONAL",
    "social": "CATEGORY_SOCIAL",
    "promotions": "CATEGORY_PROMOTIONS",
    "updates": "CATEGORY_UPDATES",
    "forums": "CATEGORY_FORUMS",
}

Matcher = Callable[[StoredMessage], bool]


@dataclass
class Search:
    matches: Matcher
    includes_spam_trash: bool  # the query itself asks for Spam/Trash (in:spam, in:anywhere...)


def compile_query(query: str, mailbox: Mailbox, now_ms: int) -> Search:
    parser = _Parser(_tokens(query), mailbox, now_ms)
    matcher = parser.sequence(closing=None)
    return Search(matcher, parser.includes_spam_trash)


def _tokens(query: str) -> list[str]:
    tokens, position = [], 0
    while position < len(query):
        found = _TOKEN.match(query, position)
        if not found or not found.group(1):
            break
        tokens.append(found.group(1))
        position = found.end()
    return tokens


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _all(matchers: list[Matcher]) -> Matcher:
    return lambda m: all(match(m) for match in matchers)


def _any(matchers: list[Matcher]) -> Matcher:
    return lambda m: any(match(m) for match in matchers)


class _Parser:
    def __init__(self, tokens: list[str], mailbox: Mailbox, now_ms: int) -> None:
        self.tokens = tokens
        self.position = 0
        self.mailbox = mailbox
        self.now_ms = now_ms
        self.includes_spam_trash = False

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def sequence(self, closing: str | None) -> Matcher:
        """Terms until ``closing``: AND of OR-chains (``{...}`` groups are OR of terms)."""
        terms: list[Matcher] = []
        while (token := self._peek()) is not None and token != closing:
            if token in (")", "}"):
                self.position += 1  # a stray closer: Gmail ignores it
                continue
            alternatives = [self.unary()]
            while self._peek() == "OR":
                self.position += 1
                if self._peek() in (None, closing):
                    break
                alternatives.append(self.unary())
            terms.append(alternatives[0] if len(alternatives) == 1 else _any(alternatives))
        if closing is not None and self._peek() == closing:
            self.position += 1
        if closing == "}":
            return _any(terms) if terms else (lambda m: False)
        return _all(terms)

    def unary(self) -> Matcher:
        token = self.tokens[self.position]
        self.position += 1
        if token == "-":
            if self._peek() is None:
                return lambda m: True
            inner = self.unary()
            return lambda m: not inner(m)
        if token == "(":
            return self.sequence(closing=")")
        if token == "{":
            return self.sequence(closing="}")
        return self.term(token)

    def term(self, token: str) -> Matcher:
        operator, sep, value = token.partition(":")
        if not sep or token.startswith('"'):
            return _text(_unquote(token).casefold())
        operator, value = operator.lower(), _unquote(value)
        build = getattr(self, f"_op_{operator}", None)
        if build is None or not value:
            return _text(_unquote(token).casefold())
        return build(value)

    # -- operators -----------------------------------------------------------------------------

    def _op_from(self, value: str) -> Matcher:
        needle = self._address(value)
        return lambda m: needle in m.envelope.sender.casefold()

    def _op_to(self, value: str) -> Matcher:
        needle = self._address(value)
        return lambda m: needle in f"{m.envelope.to} {m.envelope.cc} {m.envelope.bcc}".casefold()

    def _op_cc(self, value: str) -> Matcher:
        needle = self._address(value)
        return lambda m: needle in m.envelope.cc.casefold()

    def _op_bcc(self, value: str) -> Matcher:
        needle = self._address(value)
        return lambda m: needle in m.envelope.bcc.casefold()

    def _op_subject(self, value: str) -> Matcher:
        needle = value.casefold()
        return lambda m: needle in m.envelope.subject.casefold()

    def _op_in(self, value: str) -> Matcher:
        name = value.lower()
        if name in ("anywhere", "all"):
            self.includes_spam_trash = True
            return lambda m: True
        if name in ("spam", "trash"):
            self.includes_spam_trash = True
        label = IN_LABELS.get(name) or self._label_id(value)
        return lambda m: label in m.label_ids

    def _op_is(self, value: str) -> Matcher:
        name = value.lower()
        if name == "read":
            return lambda m: "UNREAD" not in m.label_ids
        label = IN_LABELS.get(name)
        if label is None:
            return lambda m: False  # is:snoozed, is:muted...: nothing in the sandbox is
        return lambda m: label in m.label_ids

    def _op_label(self, value: str) -> Matcher:
        label = self._label_id(value)
        if label in ("SPAM", "TRASH"):
            self.includes_spam_trash = True
        return lambda m: label in m.label_ids

    def _op_category(self, value: str) -> Matcher:
        label = CATEGORIES.get(value.lower(), "")
        return lambda m: label in m.label_ids

    def _op_has(self, value: str) -> Matcher:
        name = value.lower()
        if name == "attachment":
            return lambda m: bool(m.parsed.filenames)
        if name in ("userlabels", "nouserlabels"):
            wanted = name == "userlabels"
            return lambda m: any(label.startswith("Label_") for label in m.label_ids) == wanted
        return lambda m: False

    def _op_filename(self, value: str) -> Matcher:
        needle = value.casefold()
        return lambda m: any(needle in name.casefold() for name in m.parsed.filenames)

    def _op_rfc822msgid(self, value: str) -> Matcher:
        wanted = value if value.startswith("<") else f"<{value}>"
        return lambda m: m.rfc822_id == wanted

    def _op_after(self, value: str) -> Matcher:
        instant = self._instant(value)
        return lambda m: m.internal_date >= instant

    def _op_before(self, value: str) -> Matcher:
        instant = self._instant(value)
        return lambda m: m.internal_date < instant

    def _op_newer_than(self, value: str) -> Matcher:
        instant = self.now_ms - self._age(value)
        return lambda m: m.internal_date > instant

    def _op_older_than(self, value: str) -> Matcher:
        instant = self.now_ms - self._age(value)
        return lambda m: m.internal_date < instant

    def _op_larger(self, value: str) -> Matcher:
        size = self._size(value)
        return lambda m: len(m.raw) > size

    def _op_smaller(self, value: str) -> Matcher:
        size = self._size(value)
        return lambda m: len(m.raw) < size

    # -- values --------------------------------------------------------------------------------

    def _address(self, value: str) -> str:
        return self.mailbox.owner if value.lower() == "me" else value.casefold()

    def _label_id(self, value: str) -> str:
        if value.upper() in (*IN_LABELS.values(), *CATEGORIES.values(), "CHAT"):
            return value.upper()
        wanted = re.sub(r"[-/\s]+", "-", value).casefold()
        for label in self.mailbox.labels.values():
            if re.sub(r"[-/\s]+", "-", label.name).casefold() == wanted or label.id == value:
                return label.id
        return f"\0unknown:{value}"

    def _instant(self, value: str) -> int:
        if value.isdigit():
            return int(value) * 1000
        found = _DATE.match(value)
        if not found:
            raise bad_request(f"Invalid date in query: {value}")
        if found.group(1):
            year, month, day = int(found.group(1)), int(found.group(2)), int(found.group(3))
        else:
            month, day, year = int(found.group(4)), int(found.group(5)), int(found.group(6))
        try:
            midnight = datetime(year, month, day, tzinfo=PACIFIC)
        except ValueError:
            raise bad_request(f"Invalid date in query: {value}") from None
        return int(midnight.timestamp() * 1000)

    def _age(self, value: str) -> int:
        found = _RELATIVE.match(value)
        if not found:
            raise bad_request(f"Invalid relative date in query: {value}")
        return int(found.group(1)) * _UNITS[found.group(2).lower()] * 1000

    def _size(self, value: str) -> int:
        found = _SIZE.match(value)
        if not found:
            raise bad_request(f"Invalid size in query: {value}")
        factor = {"": 1, "k": 1024, "m": 1024 * 1024}[found.group(2).lower()]
        return int(found.group(1)) * factor


def _text(needle: str) -> Matcher:
    def match(message: StoredMessage) -> bool:
        envelope = message.envelope
        haystack = f"{envelope.subject} {envelope.sender} {envelope.to} {envelope.cc}".casefold()
        if needle in haystack:
            return True
        parsed = message.parsed
        return needle in parsed.text or any(needle in n.casefold() for n in parsed.filenames)

    return match
