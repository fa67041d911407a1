"""The sync tables' remaining references checked once per statement, not once per row.

A foreign key checks each row a transaction wrote when it commits: one query, with its own
executor start-up, and one row lock per key per row. The references a sync page writes by the
thousand (a message's conversation, a copy's message and mailbox, an attachment's message, a
participant's matched contact and account, a conversation's links to the CRM) cost about
100,000 such checks in a 20,000-message Graph first sync: 0.6 s of its commits, on the path
every page waits for.

Here those foreign keys become statement-level triggers that hold the same guarantee:

- ``mail_references_present(column, table)``, after an INSERT or an UPDATE: the distinct ids
  the statement wrote in the column (an UPDATE: the changed ones) must all be rows of
  ``table``. The rows another transaction wrote are locked FOR KEY SHARE (as a foreign key
  locks them), so none can be deleted before this transaction ends; rows this transaction
  wrote itself need no lock (an inserted row is invisible to others, an updated one is
  already locked). One missing id fails the statement with ``foreign_key_violation``.
- ``mail_references_gone(table, column, ...)``, after a DELETE: no row of the named tables may
  still refer to a deleted id. Against a concurrent writer it works as a foreign key does: a
  writer that locked the row first makes the DELETE wait until it commits, after which this
  check sees its rows; a writer that comes after the DELETE waits for it and then finds the
  row gone.

Checks run at the end of each statement (the foreign keys were deferred to the commit): every
writer already writes a row after the rows it refers to, and Django's collector deletes and
nulls what refers to a row before the row. Both probe an index once per distinct id. The
checks see what row-level security lets the writer see: a reference to another organization's
row fails, as it should. PostgreSQL only; SQLite keeps no check for these columns (Django's
collector still cascades).
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, column, referenced table) of each reference the triggers check.
REFERENCES = (
    ("mail_message", "thread_id", "mail_mailthread"),
    ("mail_messagecopy", "message_id", "mail_message"),
    ("mail_messagecopy", "mailbox_id", "mail_mailbox"),
    ("mail_attachment", "message_id", "mail_message"),
    ("mail_participant", "contact_id", "crm_contact"),
    ("mail_participant", "account_id", "crm_account"),
    ("mail_threadlink", "thread_id", "mail_mailthread"),
    ("mail_threadlink", "contact_id", "crm_contact"),
    ("mail_threadlink", "account_id", "crm_account"),
    ("mail_threadlink", "deal_id", "crm_deal"),
)

PRESENT = """
CREATE FUNCTION mail_references_present() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    column_name text := TG_ARGV[0];
    referenced text := TG_ARGV[1];
    wanted bigint[];
    found bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN  -- only the ids the statement changed
        EXECUTE format(
            'SELECT array_agg(DISTINCT n.%1$I) FROM new_rows n JOIN old_rows o ON o.id = n.id '
            'WHERE n.%1$I IS NOT NULL AND n.%1$I IS DISTINCT FROM o.%1$I', column_name
        ) INTO wanted;
    ELSE
        EXECUTE format(
            'SELECT array_agg(DISTINCT %1$I) FROM new_rows WHERE %1$I IS NOT NULL', column_name
        ) INTO wanted;
    END IF;
    IF wanted IS NULL THEN
        RETURN NULL;
    END IF;
    -- One index probe per id, whatever the planner thinks of the table's size (a subquery per
    -- id is never turned into a hash join over the whole table). The rows this transaction
    -- wrote need no lock: an inserted one is invisible to others, an updated one locked.
    EXECUTE format(
        'WITH present AS MATERIALIZED ('
        '    SELECT w.id, (SELECT t.xmin = xid(pg_current_xact_id()) FROM %1$I t'
        '                  WHERE t.id = w.id) AS own'
        '    FROM unnest($1) AS w(id)'
        ') SELECT (SELECT count(*) FROM present WHERE own) + ('
        '    SELECT count(*) FROM present p CROSS JOIN LATERAL ('
        '        SELECT FROM %1$I t WHERE t.id = p.id FOR KEY SHARE OF t'
        '    ) locked WHERE NOT p.own'
        ')',
        referenced
    ) INTO found USING wanted;
    IF found < cardinality(wanted) THEN
        RAISE EXCEPTION 'insert or update on table "%" violates its reference to "%"',
            TG_TABLE_NAME, referenced
            USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Some %s of the statement is not present in table "%s".',
                            column_name, referenced);
    END IF;
    RETURN NULL;
END $$
"""

GONE = """
CREATE FUNCTION mail_references_gone() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    ids bigint[];
    i integer := 0;
    still boolean;
BEGIN
    SELECT array_agg(id) INTO ids FROM old_rows;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    WHILE i < TG_NARGS LOOP
        EXECUTE format(
            'SELECT EXISTS (SELECT FROM unnest($1) AS g(id) '
            'WHERE (SELECT true FROM %I r WHERE r.%I = g.id LIMIT 1))',
            TG_ARGV[i], TG_ARGV[i + 1]
        ) INTO still USING ids;
        IF still THEN
            RAISE EXCEPTION 'delete on table "%" violates the reference from "%"',
                TG_TABLE_NAME, TG_ARGV[i]
                USING ERRCODE = 'foreign_key_violation',
                DETAIL = format('A deleted row is still referenced from %s.%s.',
                                TG_ARGV[i], TG_ARGV[i + 1]);
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NULL;
END $$
"""


def _referencing_triggers() -> list[str]:
    statements = []
    for table, column, referenced in REFERENCES:
        # A trigger with transition tables fires on one event, for any column.
        for event, old in (("INSERT", ""), ("UPDATE", "OLD TABLE AS old_rows ")):
            statements.append(
                f"CREATE TRIGGER {table}_{column}_{event.lower()}_present "
                f"AFTER {event} ON {table} REFERENCING {old}NEW TABLE AS new_rows "
                f"FOR EACH STATEMENT EXECUTE FUNCTION "
                f"mail_references_present('{column}', '{referenced}')"
            )
    return statements


def _referenced_triggers() -> list[str]:
    by_referenced: dict[str, list[str]] = {}
    for table, column, referenced in REFERENCES:
        by_referenced.setdefault(referenced, []).extend([f"'{table}'", f"'{column}'"])
    return [
        f"CREATE TRIGGER {referenced}_references_gone AFTER DELETE ON {referenced} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "
        f"mail_references_gone({', '.join(arguments)})"
        for referenced, arguments in by_referenced.items()
    ]


def _drops() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS {table}_{column}_{event}_present ON {table}"
        for table, column, _ in REFERENCES
        for event in ("insert", "update")
    ]
    statements += [
        f"DROP TRIGGER IF EXISTS {referenced}_references_gone ON {referenced}"
        for referenced in dict.fromkeys(referenced for *_, referenced in REFERENCES)
    ]
    return [
        *statements,
        "DROP FUNCTION IF EXISTS mail_references_present()",
        "DROP FUNCTION IF EXISTS mail_references_gone()",
    ]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in [PRESENT, GONE, *_referencing_triggers(), *_referenced_triggers()]:
            schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _drops():
            schema_editor.execute(statement, params=None)


def _checked_per_statement(to: str, **options: object) -> models.ForeignKey:
    return models.ForeignKey(db_constraint=False, to=to, **options)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0017_no_statistics_for_text_never_filtered"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="thread",
            field=_checked_per_statement(
                "mail.mailthread",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
            ),
        ),
        migrations.AlterField(
            model_name="messagecopy",
            name="message",
            field=_checked_per_statement(
                "mail.message", on_delete=django.db.models.deletion.CASCADE, related_name="copies"
            ),
        ),
        migrations.AlterField(
            model_name="messagecopy",
            name="mailbox",
            field=_checked_per_statement(
                "mail.mailbox",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="copies",
                db_index=False,
            ),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="message",
            field=_checked_per_statement(
                "mail.message",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attachments",
            ),
        ),
        *(
            migrations.AlterField(
                model_name="participant",
                name=name,
                field=_checked_per_statement(
                    f"crm.{name}",
                    on_delete=django.db.models.deletion.SET_NULL,
                    null=True,
                    blank=True,
                    related_name="+",
                    db_index=False,
                ),
            )
            for name in ("contact", "account")
        ),
        migrations.AlterField(
            model_name="threadlink",
            name="thread",
            field=_checked_per_statement(
                "mail.mailthread", on_delete=django.db.models.deletion.CASCADE, related_name="links"
            ),
        ),
        *(
            migrations.AlterField(
                model_name="threadlink",
                name=name,
                field=_checked_per_statement(
                    f"crm.{name}",
                    on_delete=django.db.models.deletion.CASCADE,
                    null=True,
                    blank=True,
                    related_name="+",
                ),
            )
            for name in ("contact", "account", "deal")
        ),
        migrations.RunPython(create, drop),
    ]
