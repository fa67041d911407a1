"""The inbox's listing rows and folder counters (filled from the stored mail), and on
PostgreSQL the full-text search index of messages.

``mail_search`` is kept by triggers on messages and participants, so the sync's bulk inserts pay
no Python time for it. Its read policy lets every row through: PostgreSQL does not use a GIN
index for ``@@`` (not leakproof) under a row-level security filter, so a policy that filtered
reads would turn every search into a scan of the organization's mail. Writes are checked per
organization like every tenant table. Its rows (the words of the mail, no text to show) are read
by one query, in ``integrations.mail.search``, that names the organization and is joined to
tables whose policies do filter reads.
"""

import django.db.models.deletion
from django.db import migrations, models

from crm.tenancy import ALL_TENANTS_SETTING, ORGANIZATION_SETTING, EnableRowLevelSecurity
from integrations.mail.inbox_sql import inbox_rows_backfill

ORGANIZATION = (
    f"(organization_id = NULLIF(current_setting('{ORGANIZATION_SETTING}', true), '')::bigint "
    f"OR coalesce(current_setting('{ALL_TENANTS_SETTING}', true), '') = 'on')"
)

SEARCH_SQL = [
    """
    CREATE TABLE mail_search (
        message_id bigint PRIMARY KEY,
        organization_id bigint NOT NULL,
        thread_id bigint NOT NULL,
        sent_at timestamptz NOT NULL,
        has_attachments boolean NOT NULL,
        text_doc tsvector NOT NULL,
        people_doc tsvector NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX mail_search_doc_idx ON mail_search USING gin ((text_doc || people_doc))",
    # Subject (weight A) and body (D): the text body, else the HTML without its markup.
    r"""
    CREATE FUNCTION mail_search_text(subject text, text_body text, html_body text, snippet text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT setweight(to_tsvector('simple', coalesce(subject, '')), 'A')
            || setweight(to_tsvector('simple', left(CASE
                WHEN coalesce(text_body, '') <> '' THEN text_body
                WHEN coalesce(html_body, '') <> '' THEN regexp_replace(regexp_replace(
                    regexp_replace(left(html_body, 400000), '<style.*?</style>', ' ', 'gi'),
                    '<script.*?</script>', ' ', 'gi'), '<[^>]*>', ' ', 'g')
                ELSE coalesce(snippet, '') END, 100000)), 'D')
    $$
    """,
    # Senders (B), recipients (C), reply-to (D): each address whole, its local part, its domain,
    # and the name.
    """
    CREATE FUNCTION mail_search_people_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
        UPDATE mail_search s SET people_doc = p.doc
        FROM (
            SELECT a.id,
                setweight(to_tsvector('simple', coalesce(string_agg(CASE WHEN m.role = 'from'
                    THEN m.person END, ' '), '')), 'B')
                || setweight(to_tsvector('simple', coalesce(string_agg(CASE WHEN m.role IN
                    ('to', 'cc', 'bcc') THEN m.person END, ' '), '')), 'C')
                || setweight(to_tsvector('simple', coalesce(string_agg(CASE WHEN m.role NOT IN
                    ('from', 'to', 'cc', 'bcc') THEN m.person END, ' '), '')), 'D') AS doc
            FROM unnest(ids) AS a(id)
            JOIN mail_search indexed ON indexed.message_id = a.id
            LEFT JOIN LATERAL (
                SELECT role, concat_ws(' ', address, split_part(address, '@', 1),
                    split_part(address, '@', 2), name) AS person
                FROM mail_participant WHERE message_id = a.id
            ) m ON true
            GROUP BY a.id
        ) p
        WHERE s.message_id = p.id
    $$
    """,
    """
    CREATE FUNCTION mail_search_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO mail_search (message_id, organization_id, thread_id, sent_at,
            has_attachments, text_doc)
        SELECT id, organization_id, thread_id, sent_at, has_attachments,
            mail_search_text(subject, text_body, html_body, snippet)
        FROM new_rows;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_message_insert AFTER INSERT ON mail_message
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION mail_search_messages_inserted()
    """,
    """
    CREATE FUNCTION mail_search_message_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE mail_search SET thread_id = NEW.thread_id, sent_at = NEW.sent_at,
            has_attachments = NEW.has_attachments,
            text_doc = mail_search_text(NEW.subject, NEW.text_body, NEW.html_body, NEW.snippet)
        WHERE message_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_message_update
    AFTER UPDATE OF subject, text_body, html_body, snippet, thread_id, sent_at, has_attachments
    ON mail_message FOR EACH ROW WHEN (
        OLD.subject IS DISTINCT FROM NEW.subject OR OLD.text_body IS DISTINCT FROM NEW.text_body
        OR OLD.html_body IS DISTINCT FROM NEW.html_body OR OLD.snippet IS DISTINCT FROM NEW.snippet
        OR OLD.thread_id IS DISTINCT FROM NEW.thread_id OR OLD.sent_at IS DISTINCT FROM NEW.sent_at
        OR OLD.has_attachments IS DISTINCT FROM NEW.has_attachments
    ) EXECUTE FUNCTION mail_search_message_updated()
    """,
    # Rows go with their messages by trigger, not by a foreign key: Django's test flush
    # truncates its own tables only, and a key from this one would refuse it.
    """
    CREATE FUNCTION mail_search_messages_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM mail_search WHERE message_id IN (SELECT id FROM old_rows);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_message_delete AFTER DELETE ON mail_message
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION mail_search_messages_deleted()
    """,
    """
    CREATE FUNCTION mail_search_messages_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE mail_search;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_message_truncate AFTER TRUNCATE ON mail_message
    FOR EACH STATEMENT EXECUTE FUNCTION mail_search_messages_truncated()
    """,
    """
    CREATE FUNCTION mail_search_participants_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM mail_search_people_refresh(ARRAY(SELECT DISTINCT message_id FROM new_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_participant_insert AFTER INSERT ON mail_participant
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION mail_search_participants_inserted()
    """,
    """
    CREATE FUNCTION mail_search_participants_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM mail_search_people_refresh(ARRAY(SELECT DISTINCT message_id FROM old_rows));
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_participant_delete AFTER DELETE ON mail_participant
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION mail_search_participants_deleted()
    """,
    """
    CREATE FUNCTION mail_search_participant_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM mail_search_people_refresh(ARRAY[OLD.message_id, NEW.message_id]);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_search_participant_update
    AFTER UPDATE OF message_id, role, address, name ON mail_participant
    FOR EACH ROW EXECUTE FUNCTION mail_search_participant_updated()
    """,
    "ALTER TABLE mail_search ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE mail_search FORCE ROW LEVEL SECURITY",
    "CREATE POLICY search_read ON mail_search FOR SELECT USING (true)",
    f"CREATE POLICY search_insert ON mail_search FOR INSERT WITH CHECK {ORGANIZATION}",
    f"CREATE POLICY search_update ON mail_search FOR UPDATE USING {ORGANIZATION} "
    f"WITH CHECK {ORGANIZATION}",
    f"CREATE POLICY search_delete ON mail_search FOR DELETE USING {ORGANIZATION}",
]

SEARCH_FILL_SQL = [
    """
    INSERT INTO mail_search (message_id, organization_id, thread_id, sent_at, has_attachments,
        text_doc)
    SELECT id, organization_id, thread_id, sent_at, has_attachments,
        mail_search_text(subject, text_body, html_body, snippet)
    FROM mail_message
    """,
    "SELECT mail_search_people_refresh(ARRAY(SELECT message_id FROM mail_search))",
]

SEARCH_DROP_SQL = [
    "DROP TRIGGER IF EXISTS mail_search_message_insert ON mail_message",
    "DROP TRIGGER IF EXISTS mail_search_message_update ON mail_message",
    "DROP TRIGGER IF EXISTS mail_search_message_delete ON mail_message",
    "DROP TRIGGER IF EXISTS mail_search_message_truncate ON mail_message",
    "DROP TRIGGER IF EXISTS mail_search_participant_insert ON mail_participant",
    "DROP TRIGGER IF EXISTS mail_search_participant_delete ON mail_participant",
    "DROP TRIGGER IF EXISTS mail_search_participant_update ON mail_participant",
    "DROP FUNCTION IF EXISTS mail_search_messages_inserted()",
    "DROP FUNCTION IF EXISTS mail_search_message_updated()",
    "DROP FUNCTION IF EXISTS mail_search_messages_deleted()",
    "DROP FUNCTION IF EXISTS mail_search_messages_truncated()",
    "DROP FUNCTION IF EXISTS mail_search_participants_inserted()",
    "DROP FUNCTION IF EXISTS mail_search_participants_deleted()",
    "DROP FUNCTION IF EXISTS mail_search_participant_updated()",
    "DROP FUNCTION IF EXISTS mail_search_people_refresh(bigint[])",
    "DROP FUNCTION IF EXISTS mail_search_text(text, text, text, text)",
    "DROP TABLE IF EXISTS mail_search",
]


def _as_every_tenant(schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"SELECT set_config('{ALL_TENANTS_SETTING}', 'on', true)")


def search_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _as_every_tenant(schema_editor)
    for statement in [*SEARCH_SQL, *SEARCH_FILL_SQL]:
        schema_editor.execute(statement)


def search_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in SEARCH_DROP_SQL:
            schema_editor.execute(statement)


def rows_fill(apps, schema_editor):
    _as_every_tenant(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        inbox_rows_backfill(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0007_flags_write_through"),
    ]

    operations = [
        migrations.CreateModel(
            name="FolderCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.BigIntegerField()),
                (
                    "folder",
                    models.CharField(
                        choices=[
                            ("inbox", "Inbox"),
                            ("sent", "Sent"),
                            ("archive", "Archive"),
                            ("starred", "Starred"),
                            ("all", "All mail"),
                        ],
                        max_length=10,
                    ),
                ),
                ("slot", models.PositiveSmallIntegerField(default=0)),
                ("threads", models.IntegerField(default=0)),
                ("unread_threads", models.IntegerField(default=0)),
                ("messages", models.IntegerField(default=0)),
                ("unread_messages", models.IntegerField(default=0)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="crm.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "scope", "folder", "slot"),
                        name="unique_folder_count",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="MailboxThread",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.BigIntegerField()),
                ("last_message_at", models.DateTimeField()),
                ("message_count", models.PositiveIntegerField(default=0)),
                ("unread_count", models.PositiveIntegerField(default=0)),
                ("in_inbox", models.BooleanField(default=False)),
                ("in_sent", models.BooleanField(default=False)),
                ("in_archive", models.BooleanField(default=False)),
                ("starred", models.BooleanField(default=False)),
                ("has_attachments", models.BooleanField(default=False)),
                ("inbound", models.BooleanField(default=False)),
                ("outbound", models.BooleanField(default=False)),
                ("inbox_messages", models.PositiveIntegerField(default=0)),
                ("inbox_unread", models.PositiveIntegerField(default=0)),
                ("sent_messages", models.PositiveIntegerField(default=0)),
                ("sent_unread", models.PositiveIntegerField(default=0)),
                ("archive_messages", models.PositiveIntegerField(default=0)),
                ("archive_unread", models.PositiveIntegerField(default=0)),
                ("starred_messages", models.PositiveIntegerField(default=0)),
                ("starred_unread", models.PositiveIntegerField(default=0)),
                (
                    "latest_message",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mail.message",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="crm.organization",
                    ),
                ),
                (
                    "thread",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="mail.mailthread",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("in_inbox", True)),
                        fields=["organization", "scope", "-last_message_at", "-thread"],
                        name="inbox_inbox_idx",
                    ),
                    models.Index(
                        condition=models.Q(("in_sent", True)),
                        fields=["organization", "scope", "-last_message_at", "-thread"],
                        name="inbox_sent_idx",
                    ),
                    models.Index(
                        condition=models.Q(("in_archive", True)),
                        fields=["organization", "scope", "-last_message_at", "-thread"],
                        name="inbox_archive_idx",
                    ),
                    models.Index(
                        condition=models.Q(("starred", True)),
                        fields=["organization", "scope", "-last_message_at", "-thread"],
                        name="inbox_starred_idx",
                    ),
                    models.Index(
                        fields=["organization", "scope", "-last_message_at", "-thread"],
                        name="inbox_all_idx",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("scope", "thread"), name="unique_scope_thread"),
                ],
            },
        ),
        EnableRowLevelSecurity("mailboxthread"),
        EnableRowLevelSecurity("foldercount"),
        migrations.RunPython(rows_fill, migrations.RunPython.noop),
        migrations.RunPython(search_create, search_drop),
    ]
