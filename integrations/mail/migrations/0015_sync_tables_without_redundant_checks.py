"""The sync's tables without foreign-key checks that could never fail.

PostgreSQL checks each foreign key of each row a transaction inserted when it commits, one
index lookup and row lock per key per row: a 19,400-message Graph first sync made about
290,000 such checks, about a quarter of the database's CPU. Dropped here:

- the organization key of the tables a sync fills (messages, copies, participants,
  attachments, conversations, listing rows, CRM links): row-level security already admits only
  the current organization's id on every write;
- a participant's message: participants are only written in the transaction that inserts
  their message (an attachment's is kept: fetching a body later can add attachments);
- a listing row's conversation: only written by the recount, which holds the conversation's
  row lock (and deletes it, when empty, in the same transaction).

The relations stay in the models: deleting an organization, a message or a conversation still
deletes what belongs to it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("mail", "0014_participant_partial_match_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attachment",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
        migrations.AlterField(
            model_name="mailboxthread",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
        migrations.AlterField(
            model_name="mailboxthread",
            name="thread",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="mail.mailthread",
            ),
        ),
        migrations.AlterField(
            model_name="mailthread",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
        migrations.AlterField(
            model_name="messagecopy",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
        migrations.AlterField(
            model_name="participant",
            name="message",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="participants",
                to="mail.message",
            ),
        ),
        migrations.AlterField(
            model_name="participant",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
        migrations.AlterField(
            model_name="threadlink",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="crm.organization",
            ),
        ),
    ]
