"""An import hands the database the search text of its ASCII rows (contacts migration 0017):
what it writes must be exactly what the database's own trigger would have written."""

import importlib

import polars as pl
import pytest
from django.db import connection

from leadflow.acquisition.pipeline.load import search_texts
from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import search_contacts
from leadflow.contacts.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db
search_text = importlib.import_module("leadflow.contacts.migrations.0007_contact_search_text")
folded = importlib.import_module(
    "leadflow.contacts.migrations.0018_search_text_lowered_in_default_collation"
)
# The text of every contact as the database computes it, beside the one it holds: on
# PostgreSQL lower-cased in the default collation (contacts 0018), on SQLite as 0007 wrote.
COMPUTED = {
    "postgresql": folded.TEXT.replace("NEW.", "contacts_contact.").replace(
        "company_name", search_text.company_name_of("contacts_contact.company_id")
    ),
    "sqlite": search_text.of_row("contacts_contact"),
}


def _texts() -> dict[str, tuple[str, str]]:
    computed = COMPUTED[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT email, search_text, {computed} FROM contacts_contact")  # noqa: S608
        return {email: (held, computed) for email, held, computed in cursor.fetchall()}


def test_every_imported_contact_holds_the_text_the_database_computes(write_list, run_import):
    CompanyFactory(name="Acme Inc.")  # the file spells it ACME INC: the stored name counts
    text = (
        "Email,First Name,Last Name,Company\n"
        "Ann@Example.com,Ann,LEE,ACME INC\n"
        "zoe@example.com,Zoë,Ödegaard,Globex\n"  # not ASCII: the trigger writes it
        "bo@example.com,Bo,,\n"
        "kai@example.com,,,Société Générale\n"
        "ina@example.com,Ina,İnce,Initech\n"  # İ lower-cases differently in Python
    )
    report = run_import(write_list(text))

    assert report["created"] == 5
    texts = _texts()
    assert {email: held for email, (held, _) in texts.items()} == {
        email: computed for email, (_, computed) in texts.items()
    }
    assert texts["ann@example.com"][0] == "ann@example.com ann lee acme inc."
    assert texts["bo@example.com"][0] == "bo@example.com bo  "
    assert Contact.objects.get(email="zoe@example.com").search_text.startswith("zoe@example.com")
    if connection.vendor == "postgresql":  # SQLite's lower() folds ASCII letters only
        assert texts["zoe@example.com"][0] == "zoe@example.com zoë ödegaard globex"


def test_a_row_with_any_non_ascii_part_is_left_to_the_database():
    rows = pl.DataFrame(
        {
            "email": ["a@x.io", "b@x.io", None],
            "first_name": ["Ann", "Zoë", "Bo"],
            "last_name": ["Lee", "Lee", "Lee"],
            "company_id": [1, None, 2],
        }
    )
    texts = search_texts(rows, {1: "ACME Inc.", 2: "Société"})
    assert texts.to_list() == ["a@x.io ann lee acme inc.", "", ""]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL trigger")
def test_only_an_import_s_copy_is_trusted_with_its_text(write_list, run_import):
    run_import(write_list("Email,First Name\nann@example.com,Ann\n"))
    with connection.cursor() as cursor:
        # The import turned the setting off again for the rest of its transaction...
        cursor.execute("SELECT current_setting('leadflow.search_text_given', true)")
        assert cursor.fetchone()[0] == "off"
        # ...so a write that brings a wrong text gets the right one, and an update does
        # even with the setting on.
        cursor.execute(
            "INSERT INTO contacts_contact (email, other_emails, first_name, last_name, phone, "
            "job_title, country, lifecycle_stage, score, consent, attributes, created_at, "
            "updated_at, search_text) VALUES ('bo@example.com', '[]', 'Bo', '', '', '', '', "
            "'lead', 0, 'unknown', '{}', now(), now(), 'wrong')"
        )
        cursor.execute("SET LOCAL leadflow.search_text_given = on")
        cursor.execute(
            "UPDATE contacts_contact SET first_name = 'Ann-Marie', search_text = 'x' "
            "WHERE email = 'ann@example.com'"
        )
    texts = _texts()
    assert texts["bo@example.com"] == ("bo@example.com bo  ", "bo@example.com bo  ")
    assert texts["ann@example.com"][0] == "ann@example.com ann-marie  "


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's lower() folds ASCII letters only"
)
def test_an_import_leaves_no_capital_in_its_texts(write_list, run_import):
    """Rows with a letter beyond ASCII get their text from the trigger (load.search_texts
    leaves them empty), which must fold them as the search does."""
    run_import(write_list("Email,First Name,Last Name\nz@example.com,Zoë,Łukasiewicz\n"))

    (text,) = Contact.objects.filter(email="z@example.com").values_list("search_text", flat=True)
    assert text == "z@example.com zoë łukasiewicz "
    assert set(search_contacts(Contact.objects.all(), "ŁUKASIEWICZ")) == set(
        Contact.objects.filter(email="z@example.com")
    )
