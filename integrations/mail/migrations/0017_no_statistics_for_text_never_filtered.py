"""No planner statistics for the mail text columns no query filters, joins or sorts on.

ANALYZE sorts a sample of every column's values to build its statistics; for text that means
collation-aware comparisons of subjects, snippets and bodies. Half of the statistics refreshes
a first sync runs (``sync/statistics.py``) went to sorting these columns, whose statistics no
plan on PostgreSQL uses: full-text search goes through ``mail_search``, the containment search
that reads them is SQLite's. Their statistics target is 0 (ANALYZE, and autovacuum's, skip
them); every other column keeps its statistics.
"""

from django.db import migrations

UNFILTERED = {
    "mail_message": (
        "subject",
        "from_name",
        "snippet",
        "text_body",
        "html_body",
        "in_reply_to",
        "references",
    ),
    "mail_participant": ("name",),
    "mail_mailthread": ("subject",),
}


def _target(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table, columns in UNFILTERED.items():
        changes = ", ".join(
            f"ALTER COLUMN {quote(column)} SET STATISTICS {target}" for column in columns
        )
        schema_editor.execute(f"ALTER TABLE {quote(table)} {changes}")


def skip(apps, schema_editor):
    _target(schema_editor, 0)


def restore(apps, schema_editor):
    _target(schema_editor, -1)


class Migration(migrations.Migration):
    dependencies = [("mail", "0016_policies_read_the_organization_once")]

    operations = [migrations.RunPython(skip, restore)]
