"""Names, job titles and companies typed all in one case, title-cased as people write them;
and one company name typed in capitals in a contacts list and in a companies list is one
company, spelled one way."""

import polars as pl
import pytest

from leadflow.acquisition.pipeline.normalise import cased_names
from leadflow.contacts.models import Company, Contact
from leadflow.contacts.tests.factories import CompanyFactory


def cased(value: str | None, field: str) -> str | None:
    return cased_names(pl.Series(field, [value], dtype=pl.String), field=field)[0]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("MCDONALD'S", "McDonald's"),
        ("mcdonald's", "McDonald's"),
        ("MCDONALD’S", "McDonald’s"),  # the apostrophe a word processor types
        ("BEN & JERRY'S", "Ben & Jerry's"),
        ('TOYS "R" US', 'Toys "R" Us'),
        ("O'REILLY MEDIA", "O'Reilly Media"),
        ("L'ORÉAL", "L'Oréal"),
        ("at&t", "AT&T"),
        ("AT&T INC", "AT&T Inc"),
        ("AT&T'S", "AT&T's"),
        ("P&G", "P&G"),
        ("marks & spencer", "Marks & Spencer"),
        ("h&m", "H&M"),
        ("JOHNSON & JOHNSON", "Johnson & Johnson"),
        ("MCKINSEY & COMPANY", "McKinsey & Company"),
        ("21ST CENTURY FOX", "21st Century Fox"),
        ("3M", "3M"),
        ("3COM", "3Com"),
    ],
)
def test_a_company_in_capitals_is_cased_as_the_company_writes_it(typed, stored):
    assert cased(typed, "company") == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ACME INC", "Acme Inc"),
        ("ACME, INC.", "Acme, Inc."),
        ("acme ltd", "Acme Ltd"),
        ("ACME PTY LTD", "Acme Pty Ltd"),
        ("ACME CORP", "Acme Corp"),
        ("ACME LLC", "Acme LLC"),
        ("ERNST & YOUNG LLP", "Ernst & Young LLP"),
        ("ACME PLC", "Acme PLC"),
        ("acme gmbh", "Acme GmbH"),
        ("ACME GMBH & CO. KG", "Acme GmbH & Co. KG"),
        ("MERCK KGAA", "Merck KGaA"),
        ("DEUTSCHE BANK AG", "Deutsche Bank AG"),
        ("SAP SE", "Sap SE"),  # the legal form; "SAP" itself reads as a word
        ("ACME SA", "Acme SA"),
        ("ACME S.A.", "Acme S.A."),
        ("PHILIPS NV", "Philips NV"),
        ("ACME BV", "Acme BV"),
        ("ACME SPA", "Acme SpA"),
        ("ACME APS", "Acme ApS"),
        ("ACME OY", "Acme Oy"),
        ("VOLVO AB", "Volvo AB"),
        ("NORDIC SHIPPING AS", "Nordic Shipping AS"),
        ("AS GOOD AS NEW LTD", "As Good As New Ltd"),  # "as" is a form only at the end
        ("BANK OF AMERICA", "Bank of America"),
        ("THE HOME DEPOT", "The Home Depot"),
        ("ACME (UK) LTD", "Acme (UK) Ltd"),
        ("IBM", "Ibm"),  # an initialism in capitals cannot be told from a word
    ],
)
def test_a_legal_form_keeps_its_own_spelling(typed, stored):
    assert cased(typed, "company") == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("OWNER'S REP", "Owner's Rep"),
        ("owner's rep", "Owner's Rep"),
        ("CHIEF PEOPLE'S OFFICER", "Chief People's Officer"),
        ("CEO'S ASSISTANT", "CEO's Assistant"),
        ("HEAD OF R&D", "Head of R&D"),
        ("vp, m&a", "VP, M&A"),
        ("CEO & FOUNDER", "CEO & Founder"),
        ("VP OF SALES", "VP of Sales"),
        ("2ND LINE SUPPORT", "2nd Line Support"),
    ],
)
def test_a_job_title_in_one_case_is_cased_as_titles_are_written(typed, stored):
    assert cased(typed, "job_title") == stored


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("last_name", "O'BRIEN", "O'Brien"),
        ("last_name", "o'neill", "O'Neill"),
        ("first_name", "D'ARCY", "D'Arcy"),
        ("last_name", "D'ANGELO", "D'Angelo"),
        ("last_name", "N'DIAYE", "N'Diaye"),
        ("last_name", "DELL'ACQUA", "Dell'Acqua"),
        ("last_name", "MCDONALD", "McDonald"),
        ("last_name", "VAN DER BERG", "van der Berg"),
        ("last_name", "DE LA CRUZ", "de la Cruz"),
        ("last_name", "SMITH-JONES", "Smith-Jones"),
        ("first_name", "JEAN-LUC", "Jean-Luc"),
    ],
)
def test_a_person_s_name_keeps_the_capital_after_its_apostrophe(field, typed, stored):
    assert cased(typed, field) == stored


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("company", "AT&T Inc"),
        ("company", "Mcdonald's"),
        ("company", "iRobot"),
        ("job_title", "Owner's rep"),
        ("last_name", "Mcebisi"),
    ],
)
def test_a_value_typed_in_mixed_case_is_kept_as_typed(field, typed):
    assert cased(typed, field) == typed


def test_blanks_become_empty_and_spaces_are_tidied():
    names = pl.Series("company", ["  acme   inc ", "", "   ", None, "ACME INC"])
    assert cased_names(names, field="company").to_list() == [
        "Acme Inc", None, None, None, "Acme Inc",
    ]  # fmt: skip


def test_initialisms_in_a_column_typed_with_care_are_kept_as_typed():
    # Most companies in mixed case: a CRM's export, whose capitals are meant.
    crm = pl.Series("company", ["IBM", "Acme Ltd", "KPMG", "Globex GmbH", "SAP SE", "Initech"])
    assert cased_names(crm, field="company").to_list() == crm.to_list()
    titles = pl.Series("job_title", ["VP SALES", "Head of Marketing", "Account Executive"])
    assert cased_names(titles, field="job_title").to_list() == titles.to_list()
    # A list typed in capitals is still cased; people's names are cased one by one.
    shouted = pl.Series("company", ["IBM", "ACME LTD", "KPMG", "Initech"])
    assert cased_names(shouted, field="company").to_list() == ["Ibm", "Acme Ltd", "Kpmg", "Initech"]
    people = pl.Series("last_name", ["SMITH", "Jones", "Lee"])
    assert cased_names(people, field="last_name").to_list() == ["Smith", "Jones", "Lee"]


# --- One company, whichever kind of list brings it --------------------------------------------

COMPANY_NAMES = ["MCDONALD'S", "at&t", "ACME INC", "globex gmbh", "Initech Ltd"]
CASED = ["AT&T", "Acme Inc", "Globex GmbH", "Initech Ltd", "McDonald's"]


def _stored_names() -> list[str]:
    return sorted(Company.objects.values_list("name", flat=True))


@pytest.mark.django_db
def test_a_companies_list_and_a_contacts_list_store_a_company_name_alike(
    write_list, run_kind, run_import
):
    companies = write_list("Company\n" + "\n".join(COMPANY_NAMES) + "\n", name="companies.csv")
    assert run_kind(companies, "companies")["created"] == 5
    assert _stored_names() == CASED

    Company.objects.all().delete()
    contacts = "Email,Company\n" + "".join(
        f"p{n}@example.com,{name}\n" for n, name in enumerate(COMPANY_NAMES)
    )
    assert run_import(write_list(contacts, name="contacts.csv"))["companies_created"] == 5
    assert _stored_names() == CASED


@pytest.mark.django_db
def test_contacts_find_the_company_a_companies_list_brought_in(write_list, run_kind, run_import):
    run_kind(write_list("Name,Website\nACME INC,acme.com\n", name="companies.csv"), "companies")
    acme = Company.objects.get()
    assert acme.name == "Acme Inc"

    report = run_import(write_list("Email,Company\nann@acme.com,acme inc\n", name="contacts.csv"))

    assert report["companies_created"] == 0
    assert Contact.objects.get(email="ann@acme.com").company == acme


@pytest.mark.django_db
def test_a_companies_list_finds_the_company_a_contacts_list_brought_in(
    write_list, run_kind, run_import
):
    run_import(write_list("Email,Company\nann@x.com,MCDONALD'S\n", name="contacts.csv"))
    mcdonalds = Company.objects.get()
    assert mcdonalds.name == "McDonald's"

    path = write_list("Name,Industry\nmcdonald's,Restaurants\n", name="companies.csv")
    report = run_kind(path, "companies", "--on-duplicate", "merge")

    assert (report["created"], report["merged"]) == (0, 1)
    mcdonalds.refresh_from_db()
    assert (mcdonalds.name, mcdonalds.industry) == ("McDonald's", "Restaurants")


@pytest.mark.django_db
def test_a_companies_list_typed_two_ways_is_one_company_and_imports_again_unchanged(
    write_list, run_kind
):
    path = write_list("Name,Industry\nAT&T INC,Telecoms\nat&t inc,\n")

    first = run_kind(path, "companies")
    again = run_kind(path, "companies", "--on-duplicate", "update")

    assert (first["created"], first["skipped_in_file"]) == (1, 1)
    assert (again["created"], again["updated"], again["skipped_in_database"]) == (0, 0, 1)
    assert _stored_names() == ["AT&T Inc"]


@pytest.mark.django_db
def test_a_company_stored_in_capitals_is_found_and_an_update_cases_its_name(write_list, run_kind):
    # Stored before companies imports cased their names (or typed so on the company page).
    old = CompanyFactory(name="ACME INC", domain=None)

    report = run_kind(write_list("Name\nACME INC\n"), "companies", "--on-duplicate", "update")

    assert (report["created"], report["updated"]) == (0, 1)
    old.refresh_from_db()
    assert old.name == "Acme Inc"
