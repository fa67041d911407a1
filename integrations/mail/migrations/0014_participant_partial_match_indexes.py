"""A participant's contact and account are indexed only where set.

Most participants match nobody, yet the plain indexes Django gives a foreign key took an entry
for every row (several a message, written on every page of a sync). Every lookup asks for a given
contact or account, which a partial index serves. The foreign keys themselves are unchanged:
only the indexes are swapped, so no constraint is dropped and re-validated.
"""

import django.db.models.deletion
from django.db import migrations, models

# The plain index each foreign key had, by field.
OLD_INDEXES = {
    "contact": "mail_participant_contact_id_2593b14d",
    "account": "mail_participant_account_id_78c10b23",
}


def _unindexed(name: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name="participant",
        name=name,
        field=models.ForeignKey(
            blank=True,
            db_index=False,
            null=True,
            on_delete=django.db.models.deletion.SET_NULL,
            related_name="+",
            to=f"crm.{name}",
        ),
    )


def _indexed_where_set(name: str) -> migrations.AddIndex:
    return migrations.AddIndex(
        model_name="participant",
        index=models.Index(
            condition=models.Q((f"{name}__isnull", False)),
            fields=[name],
            name=f"participant_{name}_idx",
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0013_recount_pending"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[_unindexed(name) for name in OLD_INDEXES],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{index}"' for index in OLD_INDEXES.values()],
                    reverse_sql=[
                        f'CREATE INDEX "{index}" ON "mail_participant" ("{name}_id")'
                        for name, index in OLD_INDEXES.items()
                    ],
                )
            ],
        ),
        *(_indexed_where_set(name) for name in OLD_INDEXES),
    ]
