"""Message bodies compressed with lz4 rather than pglz, where the server is built with it.

A body longer than about 2 KB is compressed as it is stored and decompressed as it is read;
pglz costs several times what lz4 does both ways, and the sync stores every body twice (its
staging table, then the table). Only new values are written with lz4; stored ones stay readable
as they are. PostgreSQL only (14 and newer, built with lz4); elsewhere nothing changes.
"""

from django.db import migrations

COLUMNS = ("text_body", "html_body")


def _compression(schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'",
            [method],
        )
        row = cursor.fetchone()
    if not row or not row[0]:
        return
    changes = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in COLUMNS)
    schema_editor.execute(f"ALTER TABLE mail_message {changes}")


def to_lz4(apps, schema_editor):
    _compression(schema_editor, "lz4")


def to_pglz(apps, schema_editor):
    _compression(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0011_drop_redundant_indexes"),
    ]

    operations = [
        migrations.RunPython(to_lz4, to_pglz),
    ]
