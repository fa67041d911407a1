from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0006_shared_inboxes_assignment_links"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailbox",
            name="flags_lease_token",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="mailbox",
            name="flags_lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="messagecopy",
            index=models.Index(
                condition=models.Q(("pending_flags", {}), _negated=True),
                fields=["mailbox"],
                name="copy_pending_flags_idx",
            ),
        ),
    ]
