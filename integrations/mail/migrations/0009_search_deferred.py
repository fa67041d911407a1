"""On PostgreSQL, new mail is indexed for search after the sync's transaction, not inside it.

Migration 0008 computed each new message's ``mail_search`` row (to_tsvector over its subject and
whole bodies, then its participants) in triggers on the sync's own inserts, which cost the sync
more database time than everything else it writes. Now an insert only queues the message in
``mail_search_pending``; ``mail_search_index(org, max_rows)`` indexes up to ``max_rows`` queued
messages of one organization in one statement, and ``integrations.mail.search_index`` calls it
from a task queued by the sync, from a beat entry that drains leftovers, and before every
full-text search (so a search never misses stored mail).

Changes to already indexed mail keep their triggers: a message's text is recomputed inline (one
row: a body fetched on demand), a participant change queues the message again.

The queue has no foreign key, like ``mail_search`` (Django's test flush truncates its own tables
only): its rows go with their messages by the delete and truncate triggers. Its policies check
the organization for every command; unlike ``mail_search`` it has no GIN index whose use a
filtered read would prevent.
"""

import importlib
from types import ModuleType

from django.db import migrations

from crm.tenancy import ALL_TENANTS_SETTING, ORGANIZATION_SETTING

ORGANIZATION = (
    f"(organization_id = NULLIF(current_setting('{ORGANIZATION_SETTING}', true), '')::bigint "
    f"OR coalesce(current_setting('{ALL_TENANTS_SETTING}', true), '') = 'on')"
)

DEFER_SQL = [
    "DROP TRIGGER mail_search_message_insert ON mail_message",
    "DROP TRIGGER mail_search_participant_insert ON mail_participant",
    "DROP FUNCTION mail_search_messages_inserted()",
    "DROP FUNCTION mail_search_participants_inserted()",
    "DROP FUNCTION mail_search_people_refresh(bigint[])",
    """
    CREATE TABLE mail_search_pending (
        message_id bigint PRIMARY KEY,
        organization_id bigint NOT NULL
    )
    """,
    "CREATE INDEX mail_search_pending_org_idx ON mail_search_pending (organization_id)",
    "ALTER TABLE mail_search_pending ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE mail_search_pending FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY pending_tenant ON mail_search_pending USING {ORGANIZATION} "
    f"WITH CHECK {ORGANIZATION}",
    """
    CREATE FUNCTION mail_search_messages_queued() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO mail_search_pending (message_id, organization_id)
        SELECT id, organization_id FROM new_rows
        ON CONFLICT (message_id) DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_message_queue AFTER INSERT ON mail_message
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION mail_search_messages_queued()
    """,
    # Indexes the taken messages whole: text and people in one insert. SKIP LOCKED: two callers
    # never take the same message; one's taken rows stay locked until its transaction ends.
    # Senders (B), recipients (C), reply-to (D): each address whole, its local part, its domain,
    # and the name.
    """
    CREATE FUNCTION mail_search_index(org bigint, max_rows int) RETURNS int
    LANGUAGE sql AS $$
        WITH taken AS (
            DELETE FROM mail_search_pending q
            WHERE q.message_id IN (
                SELECT message_id FROM mail_search_pending
                WHERE organization_id = org
                LIMIT max_rows
                FOR UPDATE SKIP LOCKED
            )
            RETURNING q.message_id
        ), indexed AS (
            INSERT INTO mail_search AS s (message_id, organization_id, thread_id, sent_at,
                has_attachments, text_doc, people_doc)
            SELECT m.id, m.organization_id, m.thread_id, m.sent_at, m.has_attachments,
                mail_search_text(m.subject, m.text_body, m.html_body, m.snippet), people.doc
            FROM taken
            JOIN mail_message m ON m.id = taken.message_id
            CROSS JOIN LATERAL (
                SELECT setweight(to_tsvector('simple', coalesce(string_agg(CASE
                        WHEN p.role = 'from' THEN p.person END, ' '), '')), 'B')
                    || setweight(to_tsvector('simple', coalesce(string_agg(CASE
                        WHEN p.role IN ('to', 'cc', 'bcc') THEN p.person END, ' '), '')), 'C')
                    || setweight(to_tsvector('simple', coalesce(string_agg(CASE
                        WHEN p.role NOT IN ('from', 'to', 'cc', 'bcc') THEN p.person END, ' '),
                        '')), 'D') AS doc
                FROM (
                    SELECT role, concat_ws(' ', address, split_part(address, '@', 1),
                        split_part(address, '@', 2), name) AS person
                    FROM mail_participant WHERE message_id = m.id
                ) p
            ) people
            ON CONFLICT (message_id) DO UPDATE SET thread_id = EXCLUDED.thread_id,
                sent_at = EXCLUDED.sent_at, has_attachments = EXCLUDED.has_attachments,
                text_doc = EXCLUDED.text_doc, people_doc = EXCLUDED.people_doc
            RETURNING 1
        )
        SELECT count(*)::int FROM indexed
    $$
    """,
    # Not indexed yet (queued, or taken by an indexer that has not committed): queue it, so its
    # new text is read by the indexer that takes it (after that one commits, if taken).
    """
    CREATE OR REPLACE FUNCTION mail_search_message_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE mail_search SET thread_id = NEW.thread_id, sent_at = NEW.sent_at,
            has_attachments = NEW.has_attachments,
            text_doc = mail_search_text(NEW.subject, NEW.text_body, NEW.html_body, NEW.snippet)
        WHERE message_id = NEW.id;
        IF NOT FOUND THEN
            INSERT INTO mail_search_pending (message_id, organization_id)
            VALUES (NEW.id, NEW.organization_id) ON CONFLICT (message_id) DO NOTHING;
        END IF;
        RETURN NULL;
    END $$
    """,
    # The queue row first: it waits for an indexer holding it to commit, and the next
    # statement (a new snapshot) then sees, and removes, the row that indexer wrote.
    """
    CREATE OR REPLACE FUNCTION mail_search_messages_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM mail_search_pending WHERE message_id IN (SELECT id FROM old_rows);
        DELETE FROM mail_search WHERE message_id IN (SELECT id FROM old_rows);
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION mail_search_messages_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE mail_search, mail_search_pending;
        RETURN NULL;
    END $$
    """,
    # Participants are written with their message, before it is indexed: the probe finds
    # nothing then. A change to an indexed message's participants queues it again.
    """
    CREATE FUNCTION mail_search_requeue(ids bigint[]) RETURNS void LANGUAGE sql AS $$
        INSERT INTO mail_search_pending (message_id, organization_id)
        SELECT message_id, organization_id FROM mail_search WHERE message_id = ANY(ids)
        ON CONFLICT (message_id) DO NOTHING
    $$
    """,
    """
    CREATE FUNCTION mail_search_participants_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM mail_search_requeue(ARRAY(SELECT DISTINCT message_id FROM new_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_participant_insert AFTER INSERT ON mail_participant
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION mail_search_participants_inserted()
    """,
    """
    CREATE OR REPLACE FUNCTION mail_search_participants_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM mail_search_requeue(ARRAY(SELECT DISTINCT message_id FROM old_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION mail_search_participant_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM mail_search_requeue(ARRAY[OLD.message_id, NEW.message_id]);
        RETURN NULL;
    END $$
    """,
]

UNDEFER_SQL = [
    "DROP TRIGGER IF EXISTS mail_search_message_queue ON mail_message",
    "DROP FUNCTION IF EXISTS mail_search_messages_queued()",
    "DROP FUNCTION IF EXISTS mail_search_index(bigint, int)",
    "DROP FUNCTION IF EXISTS mail_search_requeue(bigint[])",
    "DROP TABLE IF EXISTS mail_search_pending",
]


def _search_listing() -> ModuleType:
    return importlib.import_module("integrations.mail.migrations.0008_inbox_listing")


def defer(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"SELECT set_config('{ALL_TENANTS_SETTING}', 'on', true)")
    for statement in DEFER_SQL:
        schema_editor.execute(statement)


def undefer(apps, schema_editor):
    """Back to 0008: its triggers and functions, the index rebuilt from the messages."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in UNDEFER_SQL:
        schema_editor.execute(statement)
    listing = _search_listing()
    listing.search_drop(apps, schema_editor)
    listing.search_create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0008_inbox_listing"),
    ]

    operations = [
        migrations.RunPython(defer, undefer),
    ]
