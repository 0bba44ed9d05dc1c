"""A list imported twice does not make its people twice, with or without emails."""

import pytest

from leadflow.contacts.models import Contact
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

POSTAL_LIST = (
    "First Name,Last Name,Phone,City,Zip\n"
    "John,Smith,202-555-0101,Leeds,LS1 4AP\n"
    "Jane,Smith,202-555-0101,Leeds,LS1 4AP\n"  # the same family line
    "Ann,Lee,,,\n"
    "Ann,Lee,,,\n"  # a bare name, repeated
    "Bo,Ek,,York,\n"
    "Cy,Ray,,,YO1 7HH\n"
)


def test_a_list_without_emails_imported_twice_is_not_doubled(write_list, run_import):
    first = run_import(write_list(POSTAL_LIST), "--allow-no-email")
    assert first["created"] == 5
    assert first["skipped_in_file"] == 1

    again = run_import(write_list(POSTAL_LIST), "--allow-no-email")

    assert again["created"] == 0
    assert again["skipped_in_database"] == 5
    assert Contact.objects.count() == 5
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == [
        "Ann", "Bo", "Cy", "Jane", "John",
    ]  # fmt: skip


def test_a_bare_name_does_not_take_over_a_contact_with_more_to_tell(write_list, run_import):
    ContactFactory(email="john@acme.com", first_name="John", last_name="Smith")
    report = run_import(write_list("First Name,Last Name\nJohn,Smith\n"), "--allow-no-email")
    assert report["created"] == 1
    assert Contact.objects.filter(first_name="John", last_name="Smith").count() == 2


def test_a_known_contact_without_email_in_the_file_merges_into_that_contact(write_list, run_import):
    ann = ContactFactory(
        email="ann@y.com", first_name="Ann", last_name="Lee", phone="+12025550101", job_title=""
    )
    text = (
        "Email,First Name,Last Name,Phone,Job Title\n"
        ",Ann,Lee,202-555-0101,CTO\n"
        "annie@x.com,Annie,Lee,202-555-0101,\n"
    )
    report = run_import(write_list(text), "--allow-no-email", "--on-duplicate", "merge")
    assert (report["created"], report["merged"]) == (1, 1)
    ann.refresh_from_db()
    assert (ann.first_name, ann.job_title, ann.email) == ("Ann", "CTO", "ann@y.com")
    annie = Contact.objects.get(email="annie@x.com")
    assert annie.first_name == "Annie"


ONE_WORD_NAMES = (
    "Name,Last Name,City,Zip,Street\n"
    "Cher,,,,\n"
    "Cher,,,,\n"  # repeated in the file
    "Madonna,,Detroit,,\n"
    ",Okafor,,,\n"  # a last name only
    ",Smith,,LS1 4AP,1 Park Row\n"  # a postal list's last name with its address
)


def test_one_word_names_imported_twice_are_not_doubled(write_list, run_import):
    first = run_import(write_list(ONE_WORD_NAMES), "--allow-no-email")
    assert (first["created"], first["skipped_in_file"]) == (4, 1)

    again = run_import(write_list(ONE_WORD_NAMES), "--allow-no-email")

    assert again["created"] == 0, again
    assert again["skipped_in_database"] == 4
    assert Contact.objects.count() == 4


def test_a_one_word_name_is_not_a_contact_with_a_full_name_or_elsewhere(write_list, run_import):
    ContactFactory(email=None, first_name="Cher", last_name="Bono")
    ContactFactory(email=None, first_name="Madonna", last_name="", country="IT")
    report = run_import(write_list("Name,Country\nCher,\nMadonna,US\n"), "--allow-no-email")
    assert report["created"] == 2
    assert Contact.objects.filter(first_name="Cher").count() == 2
    assert Contact.objects.filter(first_name="Madonna").count() == 2


def test_a_row_whose_email_and_external_id_are_two_contacts_says_so(write_list, run_import):
    ann = ContactFactory(email="ann@x.com", first_name="Ann", external_id="CRM-1")
    bob = ContactFactory(email="bob@x.com", first_name="Bob", external_id="CRM-2")
    text = "Email,External ID,Job Title\nann@x.com,CRM-2,CTO\n"
    report = run_import(write_list(text), "--on-duplicate", "update")
    assert report["updated"] == 1
    label = next(w for w in report["warnings"] if w.startswith("external id of another"))
    assert report["warnings"][label] == 1
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.job_title, ann.external_id) == ("CTO", "CRM-1")  # matched by email
    assert ann.attributes["external_id_as_entered"] == "CRM-2"  # what the row said, kept
    assert (bob.job_title, bob.external_id) == ("", "CRM-2")  # untouched


def test_a_value_kept_as_typed_goes_once_a_later_list_gives_one_that_is_understood(
    write_list, run_import
):
    run_import(write_list("Email,Phone,Country\nann@x.com,12,Narnia\n"))
    ann = Contact.objects.get(email="ann@x.com")
    assert ann.attributes == {"phone_as_entered": "12", "country_as_entered": "Narnia"}

    run_import(write_list("Email,Phone\nann@x.com,202-555-0101\n"), "--on-duplicate", "merge")

    ann.refresh_from_db()
    assert ann.phone == "+12025550101"
    assert ann.attributes == {"country_as_entered": "Narnia"}  # the country is still unknown


def test_a_last_name_at_an_address_is_not_the_person_with_a_first_name_there(
    write_list, run_import
):
    ContactFactory(email=None, first_name="John", last_name="Smith", attributes={"zip": "LS1 4AP"})
    text = "Last Name,Zip,Street\nSmith,LS1 4AP,1 Park Row\nSmith,LS1 4AP,1 Park Row\n"
    report = run_import(write_list(text), "--allow-no-email")
    assert (report["created"], report["skipped_in_file"]) == (1, 1)  # folded, not into John
    assert Contact.objects.filter(last_name="Smith", first_name="").count() == 1


def test_a_one_word_name_is_found_among_many_of_its_initial(write_list, run_import, monkeypatch):
    from leadflow.acquisition.pipeline import lookup

    # Many names in a chunk: all contacts without email are read, then blocked.
    monkeypatch.setattr(lookup, "LOOKUP_AT_ONCE", 1)
    Contact.objects.bulk_create(
        [Contact(first_name=f"Carl{n:03}", last_name="") for n in range(250)]
    )
    celine = Contact.objects.create(first_name="Celine", last_name="")
    rows = "".join(f",Okafor{n}\n" for n in range(5))
    report = run_import(write_list("First Name,Last Name\nCeline,\n" + rows), "--allow-no-email")
    assert report["created"] == 5
    assert Contact.objects.filter(first_name="Celine").get() == celine


def test_a_files_own_empty_columns_do_not_make_warnings_or_lose_an_extension(
    write_list, run_import
):
    text = (
        "Email,External ID,External ID As Entered,Phone,Phone Extension\n"
        "a@x.com,A1,,212 555 0100 ext. 23,\n"
        "b@x.com,B1,,,\n"
    )
    report = run_import(write_list(text))
    assert report["created"] == 2
    assert not any(w.startswith("external id of another") for w in report["warnings"])
    assert Contact.objects.get(email="a@x.com").attributes["phone_extension"] == "23"
