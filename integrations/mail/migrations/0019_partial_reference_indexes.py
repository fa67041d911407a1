"""A conversation link's contact, account, deal and author, and a conversation's team inbox and
assignee, are indexed only where set.

A link sets one record of the three, and only a link made by hand has an author; most
conversations are in no team inbox and assigned to nobody. Yet the plain index Django gives a
foreign key took an entry for every row: three null entries for every link a sync writes, two
for every conversation it starts, and two more each time a recount rewrites its counts (the
counts' update cannot stay on the row's page while the last message's date, indexed, moves).
Every lookup asks for a given record, which a partial index serves. As in migration 0014 only
the indexes are swapped: no foreign key is dropped and validated again.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The plain index each foreign key had: (model, field, table) → index.
OLD_INDEXES = {
    ("mailthread", "shared_inbox", "mail_mailthread"): "mail_mailthread_shared_inbox_id_ed82bca7",
    ("mailthread", "assigned_to", "mail_mailthread"): "mail_mailthread_assigned_to_id_1e51897a",
    ("threadlink", "contact", "mail_threadlink"): "mail_threadlink_contact_id_e57d18ea",
    ("threadlink", "account", "mail_threadlink"): "mail_threadlink_account_id_8d421c69",
    ("threadlink", "deal", "mail_threadlink"): "mail_threadlink_deal_id_98aedd10",
    ("threadlink", "created_by", "mail_threadlink"): "mail_threadlink_created_by_id_cf72a8f9",
}
PREFIXES = {"mailthread": "thread", "threadlink": "threadlink"}


SET_NULL, CASCADE = django.db.models.deletion.SET_NULL, django.db.models.deletion.CASCADE
FIELDS = {
    ("mailthread", "shared_inbox"): models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=SET_NULL,
        related_name="threads",
        to="mail.sharedinbox",
    ),
    ("mailthread", "assigned_to"): models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=SET_NULL,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
    ),
    **{
        ("threadlink", name): models.ForeignKey(
            blank=True,
            db_constraint=False,
            db_index=False,
            null=True,
            on_delete=CASCADE,
            related_name="+",
            to=f"crm.{name}",
        )
        for name in ("contact", "account", "deal")
    },
    ("threadlink", "created_by"): models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=SET_NULL,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
    ),
}


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0018_references_checked_per_statement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name=model, name=name, field=field)
                for (model, name), field in FIELDS.items()
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{index}"' for index in OLD_INDEXES.values()],
                    reverse_sql=[
                        f'CREATE INDEX "{index}" ON "{table}" ("{name}_id")'
                        for (_, name, table), index in OLD_INDEXES.items()
                    ],
                )
            ],
        ),
        *(
            migrations.AddIndex(
                model_name=model,
                index=models.Index(
                    condition=models.Q((f"{name}__isnull", False)),
                    fields=[name],
                    name=f"{PREFIXES[model]}_{name}_idx",
                ),
            )
            for model, name, _ in OLD_INDEXES
        ),
    ]
