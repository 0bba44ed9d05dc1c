"""A list with one name column: the full name split into first and last name."""

import polars as pl
import pytest

from leadflow.acquisition.pipeline.mapping import plan_mapping, split_full_names
from leadflow.contacts.models import Contact


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ann Lee", "Ann", "Lee"),
        ("  Mary   Ann  Smith ", "Mary Ann", "Smith"),
        ("Lee, Ann", "Ann", "Lee"),
        ("Dr. Ann Lee, PhD", "Ann", "Lee"),
        ("Smith, John, Jr.", "John", "Smith"),
        ("John Smith Jr.", "John", "Smith"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Juan de la Cruz", "Juan", "de la Cruz"),
        ("Stan Lee", "Stan", "Lee"),
        ("Madonna", "Madonna", ""),
        ("Mrs Ana Gómez", "Ana", "Gómez"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_a_full_name_is_split_into_first_and_last(full, first, last):
    frame = pl.DataFrame(
        {"full_name": [full], "first_name": [""], "last_name": [""]},
        schema=dict.fromkeys(("full_name", "first_name", "last_name"), pl.String),
    )
    row = split_full_names(frame).row(0, named=True)
    assert (row["first_name"], row["last_name"]) == (first, last)


def test_a_row_with_its_own_first_or_last_name_keeps_them():
    frame = pl.DataFrame(
        {"full_name": ["Ann Lee", "Bo Ek"], "first_name": ["Annie", ""], "last_name": ["", ""]}
    )
    out = split_full_names(frame)
    assert out["first_name"].to_list() == ["Annie", "Bo"]
    assert out["last_name"].to_list() == ["", "Ek"]


@pytest.mark.parametrize("header", ["Name", "Full Name", "Contact Name", "full_name"])
def test_a_name_column_maps_to_the_full_name(header):
    assert plan_mapping([header, "Email"], {})[header] == "full_name"


@pytest.mark.django_db
def test_an_import_with_one_name_column_fills_first_and_last_name(write_list, run_import):
    text = 'Name,Email\nDR. ANN LEE,ann@x.org\n"Ek, Bo",bo@x.org\n'
    report = run_import(write_list(text))
    assert report["created"] == 2
    names = dict(Contact.objects.values_list("email", "first_name"))
    assert names == {"ann@x.org": "Ann", "bo@x.org": "Bo"}
    assert Contact.objects.get(email="ann@x.org").last_name == "Lee"
    assert Contact.objects.get(email="ann@x.org").attributes == {}


@pytest.mark.django_db
def test_company_names_that_differ_by_legal_form_are_one_company():
    from leadflow.acquisition.pipeline.load import ensure_companies
    from leadflow.contacts.models import Company

    globex = Company.objects.create(name="Globex")
    ids, created = ensure_companies(
        {"Acme", "ACME Inc.", "Acme, Inc", "Globex GmbH", "Initech Ltd", "Initech Inc", "Umbrella"}
    )
    assert created == 4  # Acme, Initech Ltd, Initech Inc, Umbrella
    assert ids["ACME"] == ids["ACME INC."] == ids["ACME, INC"]
    assert Company.objects.get(pk=ids["ACME"]).name == "Acme"
    assert ids["GLOBEX GMBH"] == globex.pk  # the company we have, without its legal form
    assert ids["INITECH LTD"] != ids["INITECH INC"]  # two forms: maybe two companies
    # A later list finds them again by name or without the form.
    again, created = ensure_companies({"acme inc.", "Umbrella Corp"})
    assert created == 0
    assert again["ACME INC."] == ids["ACME"]
    assert again["UMBRELLA CORP"] == ids["UMBRELLA"]


@pytest.mark.django_db
def test_a_list_with_two_legal_forms_keeps_one_company_per_form():
    from leadflow.acquisition.pipeline.load import ensure_companies
    from leadflow.contacts.models import Company

    ids, created = ensure_companies(
        {"Acme Inc", "ACME Inc.", "Acme Ltd", "Société Générale SA", "Societe Generale S.A."}
    )
    assert created == 3
    assert ids["ACME INC"] == ids["ACME INC."] != ids["ACME LTD"]
    # Accents are dropped as contact matching drops them: one key for both.
    assert ids["SOCIÉTÉ GÉNÉRALE SA"] == ids["SOCIETE GENERALE S.A."]
    assert sorted(Company.objects.values_list("name", flat=True)) == [
        "Acme Inc",
        "Acme Ltd",
        "Société Générale SA",  # the shortest spelling names the company
    ]


@pytest.mark.django_db
def test_a_name_without_a_form_beside_two_forms_is_a_company_of_its_own():
    from leadflow.acquisition.pipeline.load import ensure_companies

    ids, created = ensure_companies({"Initech", "Initech Inc", "INITECH INC.", "Initech Ltd"})
    assert created == 3
    assert len({ids["INITECH"], ids["INITECH INC"], ids["INITECH LTD"]}) == 3
    assert ids["INITECH INC"] == ids["INITECH INC."]


@pytest.mark.django_db
def test_a_list_finds_the_stored_company_by_its_key():
    from leadflow.acquisition.pipeline.load import ensure_companies
    from leadflow.contacts.models import Company

    acme = Company.objects.create(name="Acme Inc.")
    societe = Company.objects.create(name="Société Acme")
    initech_inc = Company.objects.create(name="Initech Inc")
    Company.objects.create(name="Initech Ltd")
    ids, created = ensure_companies({"Acme Inc", "acme", "ACME, INC", "Societe Acme", "Initech"})
    assert ids["ACME INC"] == ids["ACME"] == ids["ACME, INC"] == acme.pk
    assert ids["SOCIETE ACME"] == societe.pk
    # Beside two stored forms a plain "Initech" could be either: a company of its own.
    assert ids["INITECH"] not in {initech_inc.pk}
    assert created == 1
    again, created = ensure_companies({"Initech Inc."})
    assert (again["INITECH INC."], created) == (initech_inc.pk, 0)


@pytest.mark.django_db
def test_with_too_many_companies_to_read_the_name_without_its_form_still_finds_one(monkeypatch):
    from leadflow.acquisition.pipeline import load
    from leadflow.contacts.models import Company

    monkeypatch.setattr(load, "STORED_COMPANIES_AT_ONCE", 0)
    globex = Company.objects.create(name="Globex")
    ids, created = load.ensure_companies({"Globex GmbH", "Initech Inc", "INITECH INC."})
    assert ids["GLOBEX GMBH"] == globex.pk
    assert created == 1 and ids["INITECH INC"] == ids["INITECH INC."]


@pytest.mark.django_db
def test_a_companies_list_finds_a_company_by_key_and_legal_form(write_list, run_kind):
    from leadflow.contacts.models import Company

    initech = Company.objects.create(name="Initech SL")
    text = "External ID,Company Name,Website\nA-3,Initech S.L.,www.initech.es\nA-4,Initech Inc,\n"
    report = run_kind(write_list(text), "companies", "--on-duplicate", "merge")
    initech.refresh_from_db()
    assert initech.domain == "initech.es"
    assert Company.objects.count() == 2  # Inc is another legal form: another company
    assert report["created"] == 1


@pytest.mark.django_db
def test_a_company_an_earlier_chunk_created_is_found_by_its_key(
    write_list, run_import, monkeypatch
):
    from leadflow.acquisition.pipeline import read
    from leadflow.contacts.models import Company

    monkeypatch.setattr(read, "CHUNK_ROWS", 1)
    Company.objects.create(name="Globex")  # so the keys are read before the first chunk's
    text = (
        "Email,Company\na@x.com,Acme Inc.\nb@x.com,ACME INC\n"
        "c@x.com,Société Acme\nd@x.com,Societe Acme\n"
    )
    report = run_import(write_list(text))
    assert report["companies_created"] == 2
    assert sorted(Company.objects.values_list("name", flat=True)) == [
        "Acme Inc.", "Globex", "Société Acme",
    ]  # fmt: skip
