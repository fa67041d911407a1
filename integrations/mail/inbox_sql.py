"""The inbox's rows computed from the copies in SQL, set-based, for PostgreSQL and SQLite alike.

One template (``rows_sql``) serves three callers: ``inbox_rows`` rewriting the rows of the
conversations that changed, ``inbox_rows_backfill`` building every row and counter of stored
mail (migration 0008, the inbox benchmark), and the list reading conversations as several
mailboxes hold them together. Per scope, a message is in a folder when one of its copies is
(archive: archived and in no inbox), unread when one of its copies is; a conversation counts
its messages. Every statement is fixed text with its values as parameters.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

# Per mailbox and message: the copies' flags combined.
_COPIES = """
WITH copies AS (
    SELECT c.organization_id, c.mailbox_id, b.visibility, m.thread_id, m.id AS message_id,
        m.sent_at, m.direction, CASE WHEN m.has_attachments THEN 1 ELSE 0 END AS attachments,
        MAX(CASE WHEN c.in_inbox THEN 1 ELSE 0 END) AS inbox,
        MAX(CASE WHEN c.in_sent THEN 1 ELSE 0 END) AS sent,
        MAX(CASE WHEN c.is_archived THEN 1 ELSE 0 END) AS archived,
        MAX(CASE WHEN c.is_starred THEN 1 ELSE 0 END) AS starred,
        MAX(CASE WHEN c.is_read THEN 0 ELSE 1 END) AS unread
    {source}
    JOIN mail_mailbox b ON b.id = c.mailbox_id
    WHERE {where}
    GROUP BY c.organization_id, c.mailbox_id, b.visibility, m.thread_id, m.id, m.sent_at,
        m.direction, m.has_attachments
)
"""
# PostgreSQL: some conversations' copies, reached from their messages, one index probe each. As a
# plain join, the planner (misjudging the tables a first sync is filling) read and hashed all
# of an organization's copies to recount a few hundred conversations: for 600 conversations of
# a 37,000-copy organization, 31 to 52 ms instead of 20 to 25. OFFSET 0 keeps the subquery
# from being flattened back into that join.
_FROM_MESSAGES = """FROM mail_message m
    CROSS JOIN LATERAL (
        SELECT * FROM mail_messagecopy c WHERE c.message_id = m.id OFFSET 0
    ) c"""
# Every copy (a backfill): one pass over each table.
_FROM_COPIES = """FROM mail_messagecopy c
    JOIN mail_message m ON m.id = c.message_id"""
_ONE_SCOPE = """
    SELECT organization_id, {scope} AS scope, thread_id, message_id, sent_at, direction,
        attachments, MAX(inbox) AS inbox, MAX(sent) AS sent, MAX(archived) AS archived,
        MAX(starred) AS starred, MAX(unread) AS unread
    FROM copies {where}
    GROUP BY organization_id, thread_id, message_id, sent_at, direction, attachments
"""
# Each mailbox, and the team (the mailboxes that are not private, scope 0).
_NOT_PRIVATE = "WHERE visibility <> 'private'"
_EACH_MAILBOX = """
    SELECT organization_id, mailbox_id AS scope, thread_id, message_id, sent_at, direction,
        attachments, inbox, sent, archived, starred, unread
    FROM copies
    UNION ALL"""
_MAILBOXES_AND_TEAM = _EACH_MAILBOX + _ONE_SCOPE.format(scope=0, where=_NOT_PRIVATE)
_ROWS = """, scoped AS ({scoped}
), messages AS (
    SELECT organization_id, scope, thread_id, message_id, sent_at, direction, attachments,
        inbox, sent, starred, unread,
        CASE WHEN archived = 1 AND inbox = 0 THEN 1 ELSE 0 END AS archived,
        ROW_NUMBER() OVER (
            PARTITION BY scope, thread_id ORDER BY sent_at DESC, message_id DESC
        ) AS newest
    FROM scoped
)
SELECT organization_id, scope, thread_id, MAX(sent_at) AS last_message_at,
    MAX(CASE WHEN newest = 1 THEN message_id END) AS latest_message_id,
    COUNT(*) AS message_count, SUM(unread) AS unread_count,
    SUM(inbox) > 0 AS in_inbox, SUM(sent) > 0 AS in_sent,
    SUM(archived) > 0 AND SUM(inbox) = 0 AS in_archive, SUM(starred) > 0 AS starred,
    MAX(attachments) > 0 AS has_attachments,
    MAX(CASE WHEN direction = 'inbound' THEN 1 ELSE 0 END) > 0 AS inbound,
    MAX(CASE WHEN direction = 'outbound' THEN 1 ELSE 0 END) > 0 AS outbound,
    SUM(inbox) AS inbox_messages, SUM(inbox * unread) AS inbox_unread,
    SUM(sent) AS sent_messages, SUM(sent * unread) AS sent_unread,
    SUM(archived) AS archive_messages, SUM(archived * unread) AS archive_unread,
    SUM(starred) AS starred_messages, SUM(starred * unread) AS starred_unread
FROM messages
GROUP BY organization_id, scope, thread_id
"""
# The columns of a row, as rows_sql names them, in its order.
ROW_COLUMNS = (
    "organization_id", "scope", "thread_id", "last_message_at", "latest_message_id",
    "message_count", "unread_count", "in_inbox", "in_sent", "in_archive", "starred",
    "has_attachments", "inbound", "outbound", "inbox_messages", "inbox_unread",
    "sent_messages", "sent_unread", "archive_messages", "archive_unread", "starred_messages",
    "starred_unread",
)  # fmt: skip


def rows_sql(where: str, *, combined: bool = False, every_copy: bool = False) -> str:
    """The rows of the copies matching ``where`` (on ``c`` copy, ``m`` message): one per
    mailbox and one for the team per conversation, or — ``combined`` — one per conversation
    for all those copies together (scope 0). ``where`` picks conversations (``m.thread_id``),
    unless ``every_copy``: then it may pick any share of the copies."""
    scoped = _ONE_SCOPE.format(scope=0, where="") if combined else _MAILBOXES_AND_TEAM
    by_message = connection.vendor == "postgresql" and not every_copy  # SQLite has no LATERAL
    source = _FROM_MESSAGES if by_message else _FROM_COPIES
    return _COPIES.format(source=source, where=where) + _ROWS.format(scoped=scoped)


def rows_insert_sql(where: str, *, every_copy: bool = False) -> str:
    columns = ", ".join(ROW_COLUMNS)
    return f"INSERT INTO mail_mailboxthread ({columns}) {rows_sql(where, every_copy=every_copy)}"


# What a row adds to each folder's counters: (is in it, messages in it, unread messages).
FOLDER_MEMBERSHIP = {
    "inbox": ("in_inbox", "inbox_messages", "inbox_unread"),
    "sent": ("in_sent", "sent_messages", "sent_unread"),
    "archive": ("in_archive", "archive_messages", "archive_unread"),
    "starred": ("starred", "starred_messages", "starred_unread"),
    "all": ("1 = 1", "message_count", "unread_count"),
}
_CONTRIBUTION = (
    "SUM(CASE WHEN {member} THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN {member} AND unread_count > 0 THEN 1 ELSE 0 END), "
    "SUM({messages}), SUM({unread})"
)


def contributions_sql(where: str, source: str = "mail_mailboxthread") -> str:
    """Per organization and scope, the rows of ``source`` matching ``where``: four numbers per
    folder (conversations, unread ones, messages, unread ones), in FOLDER_MEMBERSHIP's order."""
    sums = ", ".join(
        _CONTRIBUTION.format(member=member, messages=messages, unread=unread)
        for member, messages, unread in FOLDER_MEMBERSHIP.values()
    )
    return (
        f"SELECT organization_id, scope, {sums} FROM {source} "  # noqa: S608
        f"WHERE {where} GROUP BY organization_id, scope"
    )


def rows_replaced_sql(rows_where: str) -> str:
    """PostgreSQL: delete the rows matching ``rows_where`` and return what they contributed
    (one statement instead of a read and a delete)."""
    gone = f"DELETE FROM mail_mailboxthread WHERE {rows_where} RETURNING *"  # noqa: S608
    return f"WITH gone AS ({gone}) {contributions_sql('1 = 1', source='gone')}"


def rows_written_sql(copies_where: str) -> str:
    """PostgreSQL: insert the rows of the copies matching ``copies_where`` and return what
    they contribute (one statement instead of a write and a read)."""
    written = f"{rows_insert_sql(copies_where)} RETURNING *"
    return f"WITH written AS ({written}) {contributions_sql('1 = 1', source='written')}"


def contributions_by_folder(rows: list[Any]) -> dict[tuple[int, int, str], list[int]]:
    """contributions_sql's rows as {(organization, scope, folder): [four numbers]}."""
    found: dict[tuple[int, int, str], list[int]] = {}
    for organization_id, scope, *numbers in rows:
        for i, folder in enumerate(FOLDER_MEMBERSHIP):
            numbers_of_folder = numbers[4 * i : 4 * i + 4]
            found[(organization_id, scope, folder)] = [int(n or 0) for n in numbers_of_folder]
    return found


def inbox_rows_backfill(cursor: Any, *, organization_id: int | None = None) -> None:
    """Rows and counters (slot 0) for every stored conversation — of one organization, when
    given — that has none yet."""
    params = [organization_id] if organization_id is not None else []
    where = "c.organization_id = %s" if params else "1 = 1"
    cursor.execute(rows_insert_sql(where, every_copy=True), params)
    cursor.execute(contributions_sql("organization_id = %s" if params else "1 = 1"), params)
    counts = contributions_by_folder(cursor.fetchall())
    if counts:
        values = ", ".join(["(%s, %s, %s, 0, %s, %s, %s, %s)"] * len(counts))
        cursor.execute(
            "INSERT INTO mail_foldercount (organization_id, scope, folder, slot, threads, "  # noqa: S608
            f"unread_threads, messages, unread_messages) VALUES {values}",
            [value for key, numbers in counts.items() for value in (*key, *numbers)],
        )
