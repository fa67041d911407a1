"""Row-level security policies that read the current organization once per statement.

The policies compared each row with ``current_setting(...)``, which PostgreSQL evaluates per
row: about 2% of the database's CPU in a sync, which writes tens of thousands of rows a minute,
and as much again on every large read. Read in a sub-select (``crm.tenancy.RLS_CONDITION``),
the setting becomes an InitPlan evaluated once per statement; what the policy admits is
unchanged. Every tenant table's policy is rewritten, whichever application created it.
"""

from django.db import migrations

from crm.tenancy import ALL_TENANTS_SETTING, ORGANIZATION_SETTING, RLS_CONDITION

PER_ROW = (
    f"(organization_id = NULLIF(current_setting('{ORGANIZATION_SETTING}', true), '')::bigint "
    f"OR coalesce(current_setting('{ALL_TENANTS_SETTING}', true), '') = 'on')"
)


def _rewrite(schema_editor, condition: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, policyname, qual IS NOT NULL, with_check IS NOT NULL "
            "FROM pg_policies WHERE schemaname = current_schema() "
            "AND coalesce(qual, '') || coalesce(with_check, '') LIKE %s",
            [f"%current_setting('{ORGANIZATION_SETTING}'%"],
        )
        policies = cursor.fetchall()
    quote = schema_editor.quote_name
    for table, policy, has_using, has_check in policies:
        clauses = (f"USING {condition}" if has_using else "") + (
            f" WITH CHECK {condition}" if has_check else ""
        )
        schema_editor.execute(f"ALTER POLICY {quote(policy)} ON {quote(table)} {clauses}")


def once_per_statement(apps, schema_editor):
    _rewrite(schema_editor, RLS_CONDITION)


def per_row(apps, schema_editor):
    _rewrite(schema_editor, PER_ROW)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_row_level_security"),
        ("connections", "0002_row_level_security"),
        ("mail", "0015_sync_tables_without_redundant_checks"),
    ]

    operations = [migrations.RunPython(once_per_statement, per_row)]
