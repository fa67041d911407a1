"""``mail_recount_pending``: conversations whose counts and inbox rows a sync still owes.

A sync run on PostgreSQL does not recount the conversations a page touched inside the page's
transaction: the page queues their ids here, in that same transaction, and the run recounts
the queue on a connection of its own while it stores the next pages (``sync/recount.py``),
then drains what is left before it reports the run done. A queued id is committed with the page
that needs it, so a worker killed at any moment leaves the debt in the queue for the next run.

Like ``mail_search_pending`` the queue has no foreign key (a queued conversation may be gone
by the time it is recounted) and no index: it is drained as it fills. Duplicates are allowed,
so a page never waits on a drain. Its policies check the organization for every command.
PostgreSQL only; elsewhere the page recounts in place.
"""

from django.db import migrations

from crm.tenancy import rls_policy_sql

CREATE = [
    """
    CREATE TABLE mail_recount_pending (
        thread_id bigint NOT NULL,
        organization_id bigint NOT NULL
    )
    """,
    *rls_policy_sql("mail_recount_pending"),
]
DROP = ["DROP TABLE IF EXISTS mail_recount_pending"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0012_message_bodies_lz4"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
