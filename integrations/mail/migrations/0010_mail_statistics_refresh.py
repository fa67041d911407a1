"""``mail_statistics_refresh()``: fresh planner statistics for the tables a sync fills.

A first sync can grow these tables from nearly empty to hundreds of thousands of rows in
minutes, long before autovacuum's next analyze. With statistics that still say "a few rows" the
planner reads a page's lookups (copies by provider id, messages by Message-ID, threads by id)
by scanning the mailbox's rows and comparing each with every id of the page — each page costs
more than the last. The sync calls this function as it grows (``sync/statistics.py``).

ANALYZE needs the tables' owner, and the application may run as a role that only reads and
writes rows (docs/sql/app_role_grants.sql): the function runs as its owner (SECURITY DEFINER,
a fixed body and search_path), and gives up at once rather than wait for a lock an autovacuum
holds. It samples 6,000 rows a table (statistics target 20, not 100): row counts and the spread
of mailboxes and threads are what the sync's plans need, and it runs while the sync waits;
autovacuum's next analyze brings the finer statistics back. PostgreSQL only; SQLite plans
without such statistics.
"""

from django.db import migrations

TABLES = (
    "mail_message, mail_messagecopy, mail_mailthread, mail_mailboxthread, mail_participant, "
    "mail_threadlink"
)
CREATE = f"""
CREATE FUNCTION mail_statistics_refresh() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET lock_timeout = '100ms'
SET default_statistics_target = 20
AS $$
BEGIN
    ANALYZE {TABLES};
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS mail_statistics_refresh()"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0009_search_deferred"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
