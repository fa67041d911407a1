"""The inbox's search box: a query in the style of a mail client, parsed once, run two ways.

``search_parse("from:anna has:attachment \\"price list\\" before:2026-03-01")`` gives a
``SearchQuery``: free words, quoted phrases, and the operators ``from:`` (the sender's address or
name), ``to:`` (a recipient's: to, cc, bcc), ``subject:``, ``has:attachment``,
``before:YYYY-MM-DD`` (sent before that day, UTC) and ``after:YYYY-MM-DD`` (sent that day or
later). An operator's value may be quoted (``from:"Anna Berg"``); an unknown ``word:value`` is
searched as a word. ``search_hits(query, field=..., mailbox_ids=...)`` is what it finds:

- PostgreSQL: one ``to_tsquery`` over the ``mail_search`` index (migration 0008: subject weighted
  A, sender B, recipients C, body D), words matched as prefixes (``meet`` finds "meetings"),
  phrases in order; mail still queued for the index (``search_index``) is indexed first;
- SQLite (and PostgreSQL for operators alone): conditions on the messages, words as
  case-insensitive containment in subject, text body, snippet and participants.

What a query reads decides the visibility it needs (``SearchQuery.level``): words and phrases
read bodies (full content), ``subject:`` subjects, the other operators only who and when.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from crm.tenancy import current_organization
from integrations.mail.models import Message, MessageCopy, Participant, ParticipantRole
from integrations.mail.search_index import search_index_now
from integrations.mail.visibility import FULL, METADATA, SUBJECT

MAX_QUERY_LENGTH = 500
# search_hits' fields, the only names that reach its SQL text
_HIT_COLUMNS = {"thread_id": "s.thread_id", "message_id": "s.message_id"}
RECIPIENT_ROLES = (ParticipantRole.TO, ParticipantRole.CC, ParticipantRole.BCC)
_WORD = re.compile(r"\w", re.UNICODE)
# Characters that mean something to to_tsquery or would end a quoted lexeme.
_TSQUERY_SPECIAL = re.compile(r"['\\:&|!()<>*]")


class SearchSyntaxError(ValueError):
    """The query cannot be read (an unclosed quote, a date that is not YYYY-MM-DD, too long)."""


@dataclass(frozen=True)
class SearchQuery:
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()
    has_attachment: bool = False
    before: date | None = None
    after: date | None = None
    text: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return any((self.words, self.phrases, self.senders, self.recipients, self.subject)) or bool(
            self.has_attachment or self.before or self.after
        )

    @property
    def level(self) -> int:
        """The visibility a message must have for this query to look into it."""
        if self.words or self.phrases:
            return FULL
        if self.subject:
            return SUBJECT
        return METADATA


def _day(value: str, operator: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SearchSyntaxError(f"{operator}: takes a date as YYYY-MM-DD, not “{value}”.") from exc


def search_parse(text: str) -> SearchQuery:
    """Read a search box query; raises SearchSyntaxError."""
    text = text.strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchSyntaxError(f"A search is at most {MAX_QUERY_LENGTH} characters.")
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.quotes = '"'
    lexer.escape = ""
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise SearchSyntaxError("A quote is not closed.") from exc
    found: dict[str, list[str]] = {
        "words": [], "phrases": [], "from": [], "to": [], "subject": [],
    }  # fmt: skip
    has_attachment = False
    before = after = None
    for token in tokens:
        operator, sep, value = token.partition(":")
        operator = operator.lower()
        if sep and value and operator in ("from", "to", "subject"):
            found[operator].append(value.strip())
        elif sep and operator == "has" and value.lower() in ("attachment", "attachments"):
            has_attachment = True
        elif sep and operator == "before":
            before = _day(value, operator)
        elif sep and operator == "after":
            after = _day(value, operator)
        elif " " in token.strip():
            found["phrases"].append(" ".join(token.split()))
        elif token.strip():
            found["words"].append(token.strip())
    return SearchQuery(
        words=tuple(w for w in found["words"] if _WORD.search(w)),
        phrases=tuple(p for p in found["phrases"] if _WORD.search(p)),
        senders=tuple(v for v in found["from"] if _WORD.search(v)),
        recipients=tuple(v for v in found["to"] if _WORD.search(v)),
        subject=tuple(v for v in found["subject"] if _WORD.search(v)),
        has_attachment=has_attachment,
        before=before,
        after=after,
        text=text,
    )


def messages_matching(query: SearchQuery) -> Q:
    """The condition on ``Message`` for the query, read from the messages themselves: the
    operators, and on SQLite the words (PostgreSQL reads words from its index: search_hits)."""
    condition = Q()
    if query.has_attachment:
        condition &= Q(has_attachments=True)
    if query.before:
        condition &= Q(sent_at__lt=_midnight(query.before))
    if query.after:
        condition &= Q(sent_at__gte=_midnight(query.after))
    return condition & _contains(query)


Hits = RawSQL | QuerySet[Any]


def search_hits(query: SearchQuery, *, field: str, mailbox_ids: Sequence[int] | None) -> Hits:
    """The ``field`` ("thread_id" or "message_id") of the messages the query finds among those
    the mailboxes hold (None: whichever), each once: a subquery for ``__in`` or search_ids."""
    tsquery = tsquery_text(query) if connection.vendor == "postgresql" else ""
    if not tsquery:
        messages = Message.objects.filter(messages_matching(query))
        if mailbox_ids is not None:
            held = MessageCopy.objects.filter(message=OuterRef("pk"), mailbox_id__in=mailbox_ids)
            messages = messages.filter(Exists(held))
        return messages.values_list("thread_id" if field == "thread_id" else "pk", flat=True)
    organization_id = current_organization().pk
    # Mail stored since the last drain is indexed first: the index is never behind a reader.
    search_index_now(organization_id)
    # Fixed SQL text; the column comes from _HIT_COLUMNS, every value is a parameter.
    sql = (
        f"SELECT DISTINCT {_HIT_COLUMNS[field]} FROM mail_search s "  # noqa: S608
        "WHERE s.organization_id = %s AND (s.text_doc || s.people_doc) @@ to_tsquery('simple', %s)"
    )
    params: list[Any] = [organization_id, tsquery]
    if query.has_attachment:
        sql += " AND s.has_attachments"
    if query.before:
        sql, params = sql + " AND s.sent_at < %s", [*params, _midnight(query.before)]
    if query.after:
        sql, params = sql + " AND s.sent_at >= %s", [*params, _midnight(query.after)]
    if mailbox_ids is not None:
        sql += (
            " AND EXISTS (SELECT 1 FROM mail_messagecopy c "
            "WHERE c.message_id = s.message_id AND c.mailbox_id = ANY(%s))"
        )
        params.append(list(mailbox_ids))
    return RawSQL(sql, params)  # noqa: S611 - see above


def search_ids(hits: Hits, *, limit: int) -> list[int] | None:
    """The hits' ids when there are at most ``limit`` of them, else None."""
    if isinstance(hits, RawSQL):
        with connection.cursor() as cursor:
            cursor.execute(f"{hits.sql} LIMIT %s", [*hits.params, limit + 1])
            ids = [row[0] for row in cursor.fetchall()]
    else:
        ids = list(hits.distinct()[: limit + 1])
    return ids if len(ids) <= limit else None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- PostgreSQL: one tsquery ---------------------------------------------------------------------


def _lexeme(value: str, label: str) -> str:
    """A quoted to_tsquery operand; its words are split and normalized by the parser itself."""
    return f"'{' '.join(_TSQUERY_SPECIAL.sub(' ', value).split())}'{label}"


def tsquery_text(query: SearchQuery) -> str:
    """The ``to_tsquery('simple', …)`` text of the query's words, phrases and fields."""
    parts = [_lexeme(w, ":*") for w in query.words]
    parts += [_lexeme(p, "") for p in query.phrases]
    parts += [_lexeme(v, ":*A") for v in query.subject]
    parts += [_lexeme(v, ":*B") for v in query.senders]
    parts += [_lexeme(v, ":*C") for v in query.recipients]
    return " & ".join(part for part in parts if part.strip("':*ABCD "))


# -- SQLite: containment -------------------------------------------------------------------------


def _people(roles: tuple[str, ...], value: str) -> Exists:
    people = Participant.objects.filter(message=OuterRef("pk"), role__in=roles)
    return Exists(people.filter(Q(address__icontains=value) | Q(name__icontains=value)))


def _contains(query: SearchQuery) -> Q:
    condition = Q()
    everyone = tuple(ParticipantRole.values)
    for text in (*query.words, *query.phrases):
        condition &= (
            Q(subject__icontains=text)
            | Q(text_body__icontains=text)
            | Q(snippet__icontains=text)
            | Q(_people(everyone, text))
        )
    for text in query.subject:
        condition &= Q(subject__icontains=text)
    for text in query.senders:
        condition &= Q(_people((ParticipantRole.FROM,), text))
    for text in query.recipients:
        condition &= Q(_people(RECIPIENT_ROLES, text))
    return condition
