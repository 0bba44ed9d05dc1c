"""The search text is lower-cased in the database's collation again (PostgreSQL).

Contacts 0016 made `email` `COLLATE "C"`. The trigger's text concatenates the email with
the names and the company's name, so the concatenation took the email's collation, and
lower() in "C" folds ASCII letters only: "Élodie Müller" was stored as "Élodie müller",
while search_contacts lowers the word in the database's collation ("élodie"), and the
contact could not be found by its own name. The trigger now lowers the text in the
database's default collation, as the word is, and the stored texts that kept an upper-case
letter are written again (setting the column fires the trigger). SQLite's lower() folds
ASCII only on both sides and needs nothing.
"""

import importlib

from django.db import migrations

given = importlib.import_module("leadflow.contacts.migrations.0017_search_text_given_by_imports")

# 0007's text, its parts and lower() spelled out, with the concatenation in the default
# collation whatever the columns' own.
TEXT = (
    "lower((coalesce(NEW.email, '') || ' ' || coalesce(NEW.first_name, '') || ' ' "
    "|| coalesce(NEW.last_name, '') || ' ' || coalesce(company_name, '')) "
    'COLLATE "default")'
)
TRIGGER_FUNCTION = given.trigger_function(TEXT)
# Only a text with an upper-case letter left can be wrong: 0016's lower() folded the rest.
REWRITE_UNFOLDED = """
    UPDATE contacts_contact SET search_text = search_text
    WHERE search_text COLLATE "default" <> lower(search_text COLLATE "default")
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_FUNCTION)
        schema_editor.execute(REWRITE_UNFOLDED)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(given.TRIGGER_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0017_search_text_given_by_imports")]

    operations = [migrations.RunPython(forwards, backwards)]
