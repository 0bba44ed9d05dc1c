"""A bulk load may hand PostgreSQL's search trigger the text it computed (issue 5).

The trigger (0013) costs 4 µs a contact with a company, a tenth of a bought list's COPY
into contacts once the indexes are fewer (0016). An import knows every part of the text
and computes it for a chunk in one vectorised pass, for the rows whose parts are all
ASCII, where its lower-casing and the database's cannot differ; it leaves the others
empty. For the length of its COPY it sets `leadflow.search_text_given` to on, and then
the trigger keeps a non-empty text an INSERT brings. Every other write (services, the
admin, bulk_create, an UPDATE of any kind, an insert with an empty text) is computed as
before. SQLite needs nothing: its trigger (0007) rewrites a row only when the text it
holds is not the right one.
"""

import importlib

from django.db import migrations

search_text = importlib.import_module("leadflow.contacts.migrations.0007_contact_search_text")
by_primary_key = importlib.import_module(
    "leadflow.contacts.migrations.0013_contact_search_text_trigger_by_primary_key"
)

# The setting's name, read by acquisition/pipeline/load.py.
GIVEN_SETTING = "leadflow.search_text_given"
TEXT = search_text.search_text_sql("NEW.email", "NEW.first_name", "NEW.last_name", "company_name")


def trigger_function(text: str) -> str:
    """The contacts trigger's function, setting NEW.search_text to `text` (SQL over NEW and
    the company's name, `company_name`) unless an import's COPY gave a text."""
    return f"""
    CREATE OR REPLACE FUNCTION contacts_contact_search_text() RETURNS trigger
    LANGUAGE plpgsql SET enable_seqscan = off AS $$
    DECLARE
        company_name text;
    BEGIN
        IF TG_OP = 'INSERT' AND NEW.search_text <> ''
           AND current_setting('{GIVEN_SETTING}', true) = 'on' THEN
            RETURN NEW;
        END IF;
        IF NEW.company_id IS NOT NULL THEN
            SELECT co.name INTO company_name FROM contacts_company AS co
            WHERE co.id = NEW.company_id;
        END IF;
        NEW.search_text := {text};
        RETURN NEW;
    END
    $$
"""  # noqa: S608 (text and the setting's name are the migrations' constants)


TRIGGER_FUNCTION = trigger_function(TEXT)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(by_primary_key.TRIGGER_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0016_fewer_import_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
