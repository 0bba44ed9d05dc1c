"""Countries as lists spell them: codes, English names and names in other languages."""

import polars as pl
import pytest

from leadflow.acquisition.kinds.contacts import COUNTRY_WARNING
from leadflow.acquisition.pipeline.normalise import (
    COUNTRY_UNKNOWN,
    country_code,
    normalise_contacts,
    normalise_countries,
)
from leadflow.acquisition.tests.test_pipeline import _frame
from leadflow.contacts.models import Contact


@pytest.mark.parametrize(
    ("spelled", "code"),
    [
        ("Frankreich", "FR"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("Deutschland", "DE"),
        ("Espagne", "ES"),
        ("Royaume-Uni", "GB"),
        ("Vereinigte Staaten", "US"),
        ("Stati Uniti", "US"),
        ("Verenigde Staten", "US"),
        ("Niemcy", "DE"),
        ("Tyskland", "DE"),
        ("Schweiz", "CH"),
        ("Suomi", "FI"),
        ("Korea, Republic of", "KR"),
        ("Côte d'Ivoire", "CI"),
        ("DEU", "DE"),
        ("de", "DE"),
        ("AQ", "AQ"),  # a country without a phone numbering plan of its own
        ("UK", "GB"),  # not ISO, but what lists write
        ("Holland", "NL"),
    ],
)
def test_a_country_is_recognised_by_its_code_or_its_name_in_several_languages(spelled, code):
    assert country_code(spelled) == code


@pytest.mark.parametrize(
    "spelled", ["Etats-Unis", "ÉTATS UNIS", "etatsunis", "U.S.A.", "  united   states "]
)
def test_case_accents_spaces_and_dashes_do_not_matter(spelled):
    assert country_code(spelled) == "US"


@pytest.mark.parametrize(
    ("spelled", "code"),
    [
        ("Slovakia (Slovak Republic)", "SK"),
        ("Bouvet Island (Bouvetoya)", "BV"),
        ("Svalbard & Jan Mayen Islands", "SJ"),
        ("Cape Verde", "CV"),
        ("Libyan Arab Jamahiriya", "LY"),
        ("Palestinian Territory", "PS"),
        ("Pitcairn Islands", "PN"),
        ("United States Virgin Islands", "VI"),
        ("Swaziland", "SZ"),
    ],
)
def test_former_names_and_names_with_a_gloss_are_recognised(spelled, code):
    # As Faker writes them, and with it many public sample lists.
    assert country_code(spelled) == code


def test_a_made_up_country_is_not_recognised():
    assert country_code("Narnia") is None
    assert country_code("") is None


def test_countries_are_recognised_once_per_distinct_value():
    raw = pl.Series(["Allemagne", None, "Allemagne", "Narnia", "fr"], dtype=pl.String)
    assert normalise_countries(raw).to_list() == ["DE", None, "DE", None, "FR"]


def test_a_country_not_recognised_is_kept_as_typed():
    frame = _frame(
        email=["a@x.com", "b@x.com", "c@x.com"],
        country=["Vereinigte Staaten", " Narnia ", ""],
    )

    out = normalise_contacts(frame, region="US")

    assert out["country"].to_list() == ["US", None, None]
    assert out[COUNTRY_UNKNOWN].to_list() == [False, True, False]
    assert out["attr.country_as_entered"].to_list() == [None, "Narnia", None]


@pytest.mark.django_db
def test_an_import_reads_countries_in_other_languages(write_list, run_import):
    text = (
        "Email,Country\n"
        "ann@acme.com,Frankreich\n"
        "bob@acme.com,Royaume-Uni\n"
        "cy@acme.com,Etats-Unis\n"
        "dee@acme.com,Atlantis\n"
    )

    report = run_import(write_list(text))

    assert report["warnings"][COUNTRY_WARNING] == 1
    stored = dict(Contact.objects.values_list("email", "country"))
    assert stored == {
        "ann@acme.com": "FR",
        "bob@acme.com": "GB",
        "cy@acme.com": "US",
        "dee@acme.com": "",
    }
    assert Contact.objects.get(email="dee@acme.com").attributes == {
        "country_as_entered": "Atlantis"
    }
