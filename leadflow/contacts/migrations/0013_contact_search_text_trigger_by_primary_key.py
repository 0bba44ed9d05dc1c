"""The contacts search trigger finds the company by its primary key, and only when there is
one (PostgreSQL; SQLite's triggers are unchanged).

0007's trigger called contacts_contact_search_text_of(), whose company sub-select ran for
every contact written, with or without a company, and which the planner served with a
sequential scan while the companies table was a few pages (a new install importing its
first list, say): 28 µs a row, a third of what PostgreSQL spent COPYing a bought list into
contacts (docs/benchmarks.md, issue 5). Now the look-up runs only for a contact with a
company, and `SET enable_seqscan = off` for the trigger's own statement makes it the
primary-key probe it should be: 4 µs a row, 1 µs without a company. The text is the same
expression (0007's search_text_sql), so nothing needs a backfill.
"""

import importlib

from django.db import migrations

search_text = importlib.import_module("leadflow.contacts.migrations.0007_contact_search_text")

TEXT = search_text.search_text_sql("NEW.email", "NEW.first_name", "NEW.last_name", "company_name")
TRIGGER_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION contacts_contact_search_text() RETURNS trigger
    LANGUAGE plpgsql SET enable_seqscan = off AS $$
    DECLARE
        company_name text;
    BEGIN
        IF NEW.company_id IS NOT NULL THEN
            SELECT co.name INTO company_name FROM contacts_company AS co
            WHERE co.id = NEW.company_id;
        END IF;
        NEW.search_text := {TEXT};
        RETURN NEW;
    END
    $$
"""
# 0007's definition, for the way back.
PREVIOUS_FUNCTION = next(
    sql
    for sql in search_text.POSTGRESQL_CREATE
    if "FUNCTION contacts_contact_search_text() RETURNS trigger" in sql
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0012_fewer_activity_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
