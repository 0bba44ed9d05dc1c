# Indexes for the contacts list at a million contacts (issue 3, see docs/benchmarks.md).
#
# - contact_updated: the list's "recently updated" sort had no index, so every page sorted
#   the whole table.
# - Trigram GIN indexes (PostgreSQL only) on the expressions search_contacts filters by:
#   Django's icontains is UPPER(column::text) LIKE UPPER('%word%'), which no B-tree serves.
#   On SQLite this operation does nothing; search there stays a scan, which is fine at the
#   sizes SQLite is for.

from django.conf import settings
from django.db import migrations, models

# name: (table, column); the expression must match what icontains generates.
TRIGRAM_INDEXES = {
    "contact_email_trgm": ("contacts_contact", "email"),
    "contact_first_name_trgm": ("contacts_contact", "first_name"),
    "contact_last_name_trgm": ("contacts_contact", "last_name"),
    "company_name_trgm": ("contacts_company", "name"),
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension: a database owner may create it without superuser.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0003_activity_kind_consent_changed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["-updated_at", "-id"], name="contact_updated"),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
