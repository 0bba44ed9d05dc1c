"""Phones an import keeps: only numbers that can exist, read in the row's own country, and
what could not be read kept as typed."""

import random

import polars as pl
import pytest

from leadflow.acquisition.kinds.contacts import COUNTRY_WARNING, PHONE_WARNING
from leadflow.acquisition.pipeline.normalise import (
    PHONE_INVALID,
    fast_e164,
    normalise_contacts,
    normalise_phones,
    phone_regions,
)
from leadflow.acquisition.tests.test_pipeline import (
    _frame,
    _invalid_phone_corpus,
    _phone_corpus,
    _read,
)
from leadflow.contacts.models import Contact
from leadflow.contacts.tests.factories import ContactFactory


def _phones(values: list[str | None], **kwargs) -> list[str | None]:
    return normalise_phones(pl.Series(values, dtype=pl.String), **kwargs).to_list()


def test_a_number_without_its_area_code_or_of_another_country_is_not_stored():
    values = ["555-0199", "030 1234567", "+1 030 123 4567", "(415) 555-0100", "201-555-0123"]
    assert _phones(values, region="US") == [None, None, None, "+14155550100", "+12015550123"]


def test_the_column_reading_is_certain_about_numbers_that_cannot_exist():
    # No libphonenumber call is needed to know these are not numbers (the fast path answers).
    out = fast_e164(pl.Series(["555-0199", "030 1234567", "+1 015 555 0100"]), region="US")
    assert out["certain"].to_list() == [True, True, True]
    assert out["phone"].to_list() == [None, None, None]


def test_a_phone_is_read_in_the_rows_own_country():
    raw = ["030 1234567", "(415) 555-0100", "(415) 555-0100", "(415) 555-0100", "020 7946 0958"]
    countries = pl.Series(["DE", "US", None, "AQ", "GB"], dtype=pl.String)

    out = _phones(raw, region="US", countries=countries)

    # Antarctica has no numbering plan of its own: the import's region reads that row.
    assert out == ["+49301234567", "+14155550100", "+14155550100", "+14155550100", "+442079460958"]


def test_reading_in_each_rows_country_agrees_with_libphonenumber_row_by_row():
    values = _phone_corpus() + _invalid_phone_corpus()
    rng = random.Random(11)
    countries = [rng.choice(["DE", "GB", "IT", "AR", "FR", "US", "AQ", None]) for _ in values]
    countries_series = pl.Series(countries, dtype=pl.String)

    out = _phones(values, region="MX", countries=countries_series)

    regions = phone_regions(countries_series, region="MX").to_list()
    # In the row's country, else (a number no phone there can be) in the list's region.
    assert out == [
        _read(value, where) or (_read(value, "MX") if where != "MX" else None)
        for value, where in zip(values, regions, strict=True)
    ]


def test_a_number_that_cannot_be_of_the_rows_country_is_read_in_the_lists_region():
    # A generated US list with countries drawn at random (Faker's sample files): a US
    # number beside "Chile" or "Djibouti" is still the person's number.
    raw = ["5153435776", "(415) 555-0100", "030 1234567", "12345"]
    countries = pl.Series(["DJ", "CL", "DE", "CL"], dtype=pl.String)

    out = _phones(raw, region="US", countries=countries)

    assert out == ["+15153435776", "+14155550100", "+49301234567", None]


def test_a_phone_not_understood_is_kept_as_typed():
    frame = _frame(
        email=["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"],
        phone=["030 1234567", "030 1234567", " 555-0199 ", "", "call me"],
        country=["Deutschland", "", "USA", "", "Frankreich"],
    )

    out = normalise_contacts(frame, region="US")

    assert out["phone"].to_list() == ["+49301234567", None, None, None, None]
    assert out[PHONE_INVALID].to_list() == [False, True, True, False, True]
    assert out["attr.phone_as_entered"].to_list() == [
        None,
        "030 1234567",
        "555-0199",
        None,
        "call me",
    ]


def test_a_files_own_phone_as_entered_column_is_kept_where_the_phone_was_read():
    frame = _frame(
        email=["a@x.com", "b@x.com"],
        phone=["+1 415 555 0100", "555-0199"],
        **{"attr.phone_as_entered": ["(415) 555-0100 (cell)", "old"]},
    )

    out = normalise_contacts(frame, region="US")

    assert out["attr.phone_as_entered"].to_list() == ["(415) 555-0100 (cell)", "555-0199"]


LIST = (
    "Email,First Name,Phone,Country\n"
    "ann@acme.com,Ann,030 1234567,Deutschland\n"
    "bob@acme.com,Bob,555-0199,USA\n"
    "cy@acme.com,Cy,+1 415 555 0100,Narnia\n"
    "dee@acme.com,Dee,030 1234567,\n"
    "eve@acme.com,Eve,+1 201-555-0123,Allemagne\n"
)


@pytest.mark.django_db
def test_an_import_keeps_what_it_could_not_read_in_the_contacts_attributes(write_list, run_import):
    report = run_import(write_list(LIST), "--phone-region", "US")

    assert report["created"] == 5
    assert report["warnings"][PHONE_WARNING] == 2
    assert report["warnings"][COUNTRY_WARNING] == 1
    contacts = {c.first_name: c for c in Contact.objects.all()}
    assert {name: (c.phone, c.country, c.attributes) for name, c in contacts.items()} == {
        "Ann": ("+49301234567", "DE", {}),
        "Bob": ("", "US", {"phone_as_entered": "555-0199"}),
        "Cy": ("+14155550100", "", {"country_as_entered": "Narnia"}),
        "Dee": ("", "", {"phone_as_entered": "030 1234567"}),
        # A country code wins over the row's country.
        "Eve": ("+12015550123", "DE", {}),
    }


@pytest.mark.django_db
def test_a_known_contact_keeps_its_phone_and_gains_the_one_typed(write_list, run_import):
    ContactFactory(email="bob@acme.com", first_name="Bob", phone="+14155550100", country="US")

    report = run_import(write_list(LIST), "--phone-region", "US", "--on-duplicate", "merge")

    assert report["merged"] == 1
    bob = Contact.objects.get(email="bob@acme.com")
    assert bob.phone == "+14155550100"
    assert bob.attributes == {"phone_as_entered": "555-0199"}


def test_a_phone_extension_is_kept_as_an_attribute():
    frame = _frame(
        email=["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"],
        phone=[
            "(202) 555-0101 ext. 23",
            "202-555-0101 x7",
            "+44 20 7946 0958 #5",
            "202-555-0101",
            "12 x3",
        ],
    )
    out = normalise_contacts(frame, region="US")
    assert out["phone"].to_list()[:4] == [
        "+12025550101",
        "+12025550101",
        "+442079460958",
        "+12025550101",
    ]
    assert out["attr.phone_extension"].to_list() == ["23", "7", "5", None, None]
    assert out["attr.phone_as_entered"].to_list()[4] == "12 x3"  # not a phone: kept whole
