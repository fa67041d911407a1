"""A listing row's uniqueness leads with its conversation: (thread, scope), not (scope, thread).

Every lookup of listing rows by conversation (a recount replaces a conversation's rows; the
reading view gathers a conversation's rows in the person's scopes) went through the plain index
Django gives the foreign key, next to the unique one. Led by the conversation, the unique index
serves those lookups, and the plain one goes: a sync's recounts write one index entry fewer for
every listing row. The lookups by scope lead with the organization, and the listing indexes
serve them.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0019_partial_reference_indexes"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="mailboxthread",
            constraint=models.UniqueConstraint(
                fields=("thread", "scope"), name="unique_thread_scope"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="mailboxthread",
            name="unique_scope_thread",
        ),
        migrations.AlterField(
            model_name="mailboxthread",
            name="thread",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="mail.mailthread",
            ),
        ),
    ]
