"""A participant's contact and account are indexed only where set.

Most participants match nobody, yet the plain indexes Django gives a foreign key took an entry
for every row (five a message, written on every page of a sync). Every lookup asks for a given
contact or account, which a partial index serves. The foreign keys themselves are unchanged:
only the indexes are swapped, so no constraint is dropped and re-validated.
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_INDEXES = ("mail_participant_account_id_78c10b23", "mail_participant_contact_id_2593b14d")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0013_recount_pending"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="participant",
                    name="account",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="crm.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="participant",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="crm.contact",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in OLD_INDEXES],
                    reverse_sql=[
                        'CREATE INDEX "mail_participant_account_id_78c10b23" '
                        'ON "mail_participant" ("account_id")',
                        'CREATE INDEX "mail_participant_contact_id_2593b14d" '
                        'ON "mail_participant" ("contact_id")',
                    ],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                condition=models.Q(("contact__isnull", False)),
                fields=["contact"],
                name="participant_contact_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                condition=models.Q(("account__isnull", False)),
                fields=["account"],
                name="participant_account_idx",
            ),
        ),
    ]
