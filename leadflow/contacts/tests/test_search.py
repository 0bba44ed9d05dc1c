"""The contacts search: `Contact.search_text` kept right by the database, and what matches.

The text is written by triggers (migration 0007), on SQLite and on PostgreSQL alike, so
these tests go through every kind of write the product makes: the ORM's save and create,
bulk_create (the demo loader), queryset update, raw SQL (as a COPY import would write), a
company rename and a contact changing company. A later migration that remakes the contacts
or companies table on SQLite drops the triggers; these tests are what notices.
"""

import pytest
from django.db import connection

from leadflow.contacts import selectors, services
from leadflow.contacts.models import Company, Contact
from leadflow.contacts.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


def text_of(contact: Contact) -> str:
    return Contact.objects.values_list("search_text", flat=True).get(pk=contact.pk)


def found(text: str, contacts=None) -> set[Contact]:
    return set(selectors.search_contacts(contacts or Contact.objects.all(), text))


@pytest.fixture
def acme():
    return CompanyFactory(name="Acme Rockets")


# --- the trigger keeps search_text right ---------------------------------------------------


def test_insert_through_the_orm_sets_the_text(acme):
    contact = Contact.objects.create(
        email="ann.lee@acme.example", first_name="Ann", last_name="Lee-Smith", company=acme
    )
    assert text_of(contact) == "ann.lee@acme.example ann lee-smith acme rockets"


def test_a_value_django_sends_is_replaced(acme):
    contact = Contact.objects.create(first_name="Ann", search_text="forged")
    assert text_of(contact) == " ann  "
    Contact.objects.filter(pk=contact.pk).update(search_text="forged again")
    assert text_of(contact) == " ann  "


def test_missing_email_and_company_leave_empty_parts():
    contact = Contact.objects.create(email=None, first_name="", last_name="Solo")
    assert text_of(contact) == "  solo "


def test_services_create_and_update_keep_it(acme, admin_user):
    contact = services.create_contact(
        actor=admin_user, email="Bo@Example.com", first_name="Bo", last_name="Ek"
    )
    assert text_of(contact) == "bo@example.com bo ek "
    services.update_contact(contact=contact, actor=admin_user, last_name="Eklund", company=acme)
    assert text_of(contact) == "bo@example.com bo eklund acme rockets"


def test_save_of_a_stale_instance_writes_the_current_text(acme):
    contact = Contact.objects.create(first_name="Cy", last_name="Old", company=acme)
    stale = Contact.objects.get(pk=contact.pk)
    stale.last_name = "New"
    stale.save()
    assert text_of(contact) == " cy new acme rockets"
    # The instance's own copy is not refreshed by save(); a read gets the database's.
    stale.refresh_from_db()
    assert stale.search_text == " cy new acme rockets"


def test_queryset_update_keeps_it():
    contact = ContactFactory(first_name="Di", last_name="Ng", email="di@x.example")
    Contact.objects.filter(pk=contact.pk).update(first_name="Diana")
    assert text_of(contact) == "di@x.example diana ng "


def test_an_update_of_other_columns_leaves_it(acme):
    contact = ContactFactory(first_name="Ed", last_name="Oh", email="ed@x.example", company=acme)
    Contact.objects.filter(pk=contact.pk).update(score=42, lifecycle_stage="mql")
    assert text_of(contact) == "ed@x.example ed oh acme rockets"


def test_bulk_create_sets_it(acme):
    Contact.objects.bulk_create(
        [
            Contact(email=f"bulk{n}@x.example", first_name="Bulk", last_name=f"N{n}", company=acme)
            for n in range(3)
        ]
        + [Contact(email="nocompany@x.example", first_name="No", last_name="Company")]
    )
    texts = set(Contact.objects.values_list("search_text", flat=True))
    assert texts == {
        "bulk0@x.example bulk n0 acme rockets",
        "bulk1@x.example bulk n1 acme rockets",
        "bulk2@x.example bulk n2 acme rockets",
        "nocompany@x.example no company ",
    }


def test_raw_sql_inserts_get_it_too(acme):
    """What a COPY or INSERT ... SELECT import writes, with no Django in between."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO contacts_contact (email, other_emails, first_name, last_name, phone, "
            "job_title, country, company_id, lifecycle_stage, score, consent, attributes, "
            "created_at, updated_at) VALUES ('raw@x.example', '[]', 'Raw', 'Row', '', '', '', "
            "%s, 'lead', 0, 'unknown', '{}', %s, %s)",
            [acme.pk, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"],
        )
    contact = Contact.objects.get(email="raw@x.example")
    assert text_of(contact) == "raw@x.example raw row acme rockets"


def test_a_company_rename_updates_its_contacts(acme, admin_user):
    mine = [ContactFactory(first_name="Fa", last_name=f"L{n}", company=acme) for n in range(2)]
    other = ContactFactory(first_name="Ga", last_name="Hu", company=CompanyFactory(name="Zeta"))
    services.update_company(company=acme, actor=admin_user, name="Apex Orbital")
    for contact in mine:
        assert text_of(contact).endswith(" apex orbital")
    assert text_of(other).endswith(" zeta")
    assert found("orbital") == set(mine)
    assert found("acme") == set()
    # Saving a company without renaming it leaves its contacts alone.
    acme.refresh_from_db()
    acme.size = 12
    acme.save()
    assert text_of(mine[0]).endswith(" apex orbital")


def test_a_queryset_rename_of_companies_updates_their_contacts(acme):
    contact = ContactFactory(first_name="Ha", last_name="Ix", company=acme)
    Company.objects.filter(pk=acme.pk).update(name="Renamed Inc")
    assert text_of(contact).endswith(" renamed inc")


def test_a_contact_changing_company_gets_the_new_name(acme):
    contact = ContactFactory(first_name="Io", last_name="Ju", company=acme)
    contact.company = CompanyFactory(name="Borealis")
    contact.save()
    assert text_of(contact).endswith(" borealis")
    contact.company = None
    contact.save()
    assert text_of(contact).endswith(" io ju ")


def test_deleting_a_company_drops_its_name_from_its_contacts(acme):
    contact = ContactFactory(first_name="Ka", last_name="Lo", company=acme)
    acme.delete()  # on_delete=SET_NULL: Django updates company_id, the trigger follows
    assert "acme" not in text_of(contact)


# --- what a search finds -------------------------------------------------------------------


@pytest.fixture
def people(acme):
    return {
        "ann": ContactFactory(
            email="ann.lee@mail.example", first_name="Ann", last_name="Lee", company=acme
        ),
        "bob": ContactFactory(
            email="bob@builders.example",
            first_name="Bob",
            last_name="Smithson",
            company=CompanyFactory(name="Builders Ltd"),
        ),
        "cat": ContactFactory(email=None, first_name="Cat", last_name="Smith", company=None),
        "dan": ContactFactory(
            email="d.o@plain.example", first_name="Dan", last_name="O'Neil_50%", company=None
        ),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann.lee@mail", {"ann"}),  # email
        ("bob@builders.example", {"bob"}),  # a whole address
        ("Cat", {"cat"}),  # first name
        ("smith", {"bob", "cat"}),  # last names, anywhere in the word
        ("ROCKETS", {"ann"}),  # company name, any case
        ("builders", {"bob"}),  # company name and email domain
        ("ann acme", {"ann"}),  # every word, each anywhere
        ("smith builders", {"bob"}),
        ("smith acme", set()),  # one word matching nobody
        ("  bob   ", {"bob"}),  # spaces around and between words
        ("o'neil_50%", {"dan"}),  # quotes, LIKE wildcards as themselves
        ("50%", {"dan"}),
        ("l_5", {"dan"}),
        ("a_n", set()),  # as wildcards these would match "ann"
        ("e%l", set()),  # ...and "lee@mail"
        ("qzxv", set()),
        ("SMI", {"bob", "cat"}),  # three letters: anywhere, as any longer word
        ("mit", {"bob", "cat"}),
        ("sm", {"bob", "cat"}),  # one or two letters: the start of a word
        ("mi", set()),  # ...not the middle of one
        ("b", {"bob"}),  # Bob, bob@, Builders
        ("o'", {"dan"}),
        ("r", {"ann"}),  # Acme Rockets: each word of a company name counts
        ("bo sm", {"bob"}),
    ],
)
def test_search_matches_every_word_somewhere(people, text, expected):
    assert found(text) == {people[name] for name in expected}


def test_a_word_does_not_span_two_fields(people):
    # "lee acme" is in Ann's text as two words, never as one.
    assert found("leeacme") == set()
    assert found("lee acme") == {people["ann"]}


def test_search_keeps_to_what_the_user_may_see(people, rep, other_rep):
    people["ann"].owner = rep
    people["ann"].save()
    people["bob"].owner = other_rep
    people["bob"].save()
    visible = selectors.list_visible_contacts(user=rep)
    assert found("smith", visible) == {people["cat"]}  # unassigned; Bob is another rep's
    assert found("ann", visible) == {people["ann"]}


def test_search_follows_a_rename_right_away(people, admin_user):
    services.update_contact(contact=people["cat"], actor=admin_user, last_name="Katz")
    assert found("smith") == {people["bob"]}
    assert found("katz") == {people["cat"]}


# --- letters beyond ASCII ---------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's lower() folds ASCII letters only"
)
@pytest.mark.parametrize("word", ["élodie", "Élodie", "ÉLODIE", "ørsted", "ØRSTED", "société"])
def test_accented_capitals_are_found_in_any_case(word):
    """The email's collation ("C", contacts 0016) must not decide how the whole text is
    lower-cased (contacts 0018): "C" folds ASCII letters only."""
    elodie = ContactFactory(
        email="e.orsted@example.com",
        first_name="Élodie",
        last_name="Ørsted",
        company=CompanyFactory(name="Société Générale"),
    )
    assert text_of(elodie) == "e.orsted@example.com élodie ørsted société générale"
    assert found(word) == {elodie}
