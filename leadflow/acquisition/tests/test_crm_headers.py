"""Headers of real CRM exports (Salesforce, Pipedrive, Outlook, Zoho, HubSpot, Mailchimp,
French, German and Spanish lists) find their fields, and a contact's empty phone, email or
creation time is filled from the file's other columns for it."""

from datetime import UTC, datetime

import polars as pl
import pytest

from leadflow.accounts.tests.factories import UserFactory
from leadflow.acquisition.pipeline.mapping import apply_mapping, attribute_slug, plan_mapping
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.contacts.models import Contact

PIPEDRIVE_PEOPLE = [
    "Person - ID",
    "Person - Name",
    "Person - Organization",
    "Person - Email - Work",
    "Person - Email - Home",
    "Person - Phone - Work",
    "Person - Phone - Mobile",
    "Person - Owner",
    "Person - Person created",
    "Person - Label",
]


def _mapped(plan: dict[str, str], *rows: tuple[str, ...]) -> pl.DataFrame:
    headers = list(plan)
    columns = {h: [row[i] for row in rows] for i, h in enumerate(headers)}
    base = {LINE: list(range(2, len(rows) + 2)), FIELD_COUNT: [len(headers)] * len(rows)}
    frame = pl.DataFrame({**base, **columns}, schema_overrides={FIELD_COUNT: pl.Int32})
    return apply_mapping(frame, plan)


# --- Mapping -------------------------------------------------------------------------------


def test_a_generated_customers_sample_maps_its_ids_phones_and_subscription_date():
    # The columns of the widely shared "customers-100.csv" sample lists.
    headers = ["Index", "Customer Id", "First Name", "Last Name", "Company", "City", "Country",
               "Phone 1", "Phone 2", "Email", "Subscription Date", "Website"]  # fmt: skip
    plan = plan_mapping(headers, {})
    assert (plan["Customer Id"], plan["Phone 1"], plan["Subscription Date"]) == (
        "external_id",
        "phone",
        "created_at",
    )
    assert plan["Phone 2"] == "attr.phone_2"
    plain = plan_mapping(["Email", "Created", "Subscription Date", "Phone 2", "Phone"], {})
    assert plain["Created"] == "created_at" and plain["Phone"] == "phone"
    assert plain["Subscription Date"] == "attr.subscription_date"
    assert plain["Phone 2"] == "attr.phone_2"
    mapped = _mapped(
        {
            "Email": "email",
            "Phone 2": "attr.phone_2",
            "Subscription Date": "attr.subscription_date",
        },
        ("ann@x.com", "(415) 555-0100", "2021-04-23"),
    )
    assert mapped.row(0, named=True)["phone"] == "(415) 555-0100"
    assert mapped.row(0, named=True)["created_at"] == "2021-04-23"


def test_salesforce_company_account_is_the_company():
    headers = ["Lead ID", "First Name", "Last Name", "Company / Account", "Email", "Mobile"]
    assert plan_mapping(headers, {}) == {
        "Lead ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company / Account": "company",
        "Email": "email",
        "Mobile": "phone",
    }
    assert plan_mapping(["Company / Account"], {}, kind="companies") == {
        "Company / Account": "name"
    }


def test_pipedrive_headers_are_read_without_the_entity_and_with_the_type():
    assert plan_mapping(PIPEDRIVE_PEOPLE, {}) == {
        "Person - ID": "external_id",
        "Person - Name": "full_name",
        "Person - Organization": "company",
        "Person - Email - Work": "email",
        "Person - Email - Home": "attr.person_email_home",
        "Person - Phone - Work": "phone",
        "Person - Phone - Mobile": "attr.person_phone_mobile",
        "Person - Owner": "owner",
        "Person - Person created": "created_at",
        "Person - Label": "attr.person_label",
    }
    # Each kind strips its own entity: a deal's person columns name the deal's contact.
    deals = ["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Deal created"]
    deals += ["Person - ID", "Person - Email - Work", "Organization - Name"]
    assert plan_mapping(deals, {}, kind="deals") == {
        "Deal - ID": "external_id",
        "Deal - Title": "name",
        "Deal - Value": "amount",
        "Deal - Deal created": "created_at",
        "Person - ID": "contact_external_id",
        "Person - Email - Work": "contact_email",
        "Organization - Name": "attr.organization_name",
    }
    companies = ["Organization - ID", "Organization - Name", "Organization - Organization created"]
    assert plan_mapping(companies, {}, kind="companies") == {
        "Organization - ID": "external_id",
        "Organization - Name": "name",
        "Organization - Organization created": "created_at",
    }


def test_an_entity_word_without_the_dash_is_part_of_the_name():
    assert plan_mapping(["Email", "Lead Status"], {})["Lead Status"] == "attr.lead_status"
    assert plan_mapping(["Email", "Person - Label"], {})["Person - Label"] == "attr.person_label"


def test_the_plainest_column_takes_the_field_whatever_the_columns_order():
    # As before, two columns of equal standing: the first in the file takes the field.
    assert plan_mapping(["Phone", "Telephone"], {}) == {
        "Phone": "phone",
        "Telephone": "attr.telephone",
    }
    assert plan_mapping(["Email - Home", "Email - Work"], {}) == {
        "Email - Home": "attr.email_home",
        "Email - Work": "email",
    }
    assert plan_mapping(["Mobile", "Phone"], {}) == {"Mobile": "attr.mobile", "Phone": "phone"}
    assert plan_mapping(["Other Phone", "Home Phone", "Mobile Phone"], {}) == {
        "Other Phone": "attr.other_phone",
        "Home Phone": "attr.home_phone",
        "Mobile Phone": "phone",
    }
    # With nothing plainer, a home number is the phone.
    assert plan_mapping(["Email", "Home Phone"], {})["Home Phone"] == "phone"


def test_outlook_zoho_and_hubspot_phone_columns():
    outlook = ["First Name", "Company", "Business Phone", "Home Phone", "Mobile Phone"]
    outlook += ["E-mail Address"]
    assert plan_mapping(outlook, {}) == {
        "First Name": "first_name",
        "Company": "company",
        "Business Phone": "phone",
        "Home Phone": "attr.home_phone",
        "Mobile Phone": "attr.mobile_phone",
        "E-mail Address": "email",
    }
    zoho = ["Email", "Phone", "Mobile", "Created Time", "Modified Time"]
    assert plan_mapping(zoho, {}) == {
        "Email": "email",
        "Phone": "phone",
        "Mobile": "attr.mobile",
        "Created Time": "created_at",
        "Modified Time": "updated_at",
    }
    hubspot = ["Email", "Mobile Phone Number", "Phone Number"]
    assert plan_mapping(hubspot, {}) == {
        "Email": "email",
        "Mobile Phone Number": "attr.mobile_phone_number",
        "Phone Number": "phone",
    }


def test_mailchimp_keeps_its_opt_in_time_and_country_code_as_attributes():
    headers = ["Email Address", "OPTIN_TIME", "CONFIRM_TIME", "LAST_CHANGED", "CC"]
    assert plan_mapping(headers, {}) == {
        "Email Address": "email",
        "OPTIN_TIME": "attr.optin_time",
        "CONFIRM_TIME": "attr.confirm_time",
        "LAST_CHANGED": "updated_at",
        # "CC" is Mailchimp's country code, but elsewhere a carbon copy: left as it is.
        "CC": "attr.cc",
    }


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (
            ["Prénom", "Nom", "Téléphone", "Société", "Pays", "Date de création", "Courriel"],
            ["first_name", "last_name", "phone", "company", "country", "created_at", "email"],
        ),
        (["Entreprise", "Nom de famille"], ["company", "last_name"]),
        (
            ["Vorname", "Nachname", "Telefon", "Firma", "Land", "E-Mail"],
            ["first_name", "last_name", "phone", "company", "country", "email"],
        ),
        (
            ["Nombre", "Apellido(s)", "Teléfono", "Empresa", "País", "Correo electrónico"],
            ["first_name", "last_name", "phone", "company", "country", "email"],
        ),
        (["Apellidos", "Nombre"], ["last_name", "first_name"]),
    ],
)
def test_french_german_and_spanish_headers(headers, fields):
    assert list(plan_mapping(headers, {}).values()) == fields


def test_nom_and_nombre_alone_are_a_whole_name():
    assert plan_mapping(["Nom", "Email"], {})["Nom"] == "full_name"
    assert plan_mapping(["Nombre", "Email"], {})["Nombre"] == "full_name"
    # A choice made with --map stays.
    plan = plan_mapping(["Nom", "Prénom"], {"Nom": "full_name"})
    assert plan == {"Nom": "full_name", "Prénom": "first_name"}


def test_attribute_names_keep_accented_letters_folded():
    assert attribute_slug("Prénom usuel") == "prenom_usuel"
    assert attribute_slug("Téléphone fixe") == "telephone_fixe"
    assert attribute_slug("Größe") == "grosse"
    assert attribute_slug("Shoe Size") == "shoe_size"
    # Letters of other scripts are kept, so two such columns are two attributes.
    assert plan_mapping(["Email", "電話", "住所"], {}) == {
        "Email": "email",
        "電話": "attr.電話",
        "住所": "attr.住所",
    }
    assert plan_mapping(["Email", "Civilité"], {})["Civilité"] == "attr.civilite"


# --- Filling a field from the file's other columns --------------------------------------------


def test_an_empty_phone_is_filled_from_mobile_then_business_then_home():
    plan = plan_mapping(["Phone", "Home Phone", "Business Phone", "Mobile"], {})
    mapped = _mapped(
        plan,
        ("+1 415 555 0100", "h1", "b1", "m1"),
        ("", "h2", "b2", "m2"),
        ("  ", "h3", "b3", ""),
        ("", "h4", "", ""),
        ("", "", "", ""),
    )
    assert mapped["phone"].to_list() == ["+1 415 555 0100", "m2", "b3", "h4", ""]
    # The numbers stay attributes as well.
    assert mapped["attr.mobile"].to_list() == ["m1", "m2", "", "", ""]
    assert mapped["attr.home_phone"].to_list() == ["h1", "h2", "h3", "h4", ""]


def test_with_no_plainer_column_a_home_phone_is_the_phone_and_a_second_line_fills_it():
    plan = plan_mapping(["Email", "Home Phone", "Business Phone 2"], {})
    assert plan["Home Phone"] == "phone"
    mapped = _mapped(plan, ("a@x.org", "", "415 555 0100"))
    assert mapped["phone"].to_list() == ["415 555 0100"]


def test_an_empty_email_is_filled_from_the_other_addresses():
    plan = plan_mapping(["Email - Work", "Email - Other", "Email - Home"], {})
    mapped = _mapped(plan, ("w@x.org", "o@x.org", "h@x.org"), ("", "o@x.org", "h@x.org"))
    assert mapped["email"].to_list() == ["w@x.org", "h@x.org"]


def test_the_opt_in_time_is_the_creation_time_only_when_the_file_gives_none():
    plan = plan_mapping(["Email Address", "Created", "OPTIN_TIME", "CONFIRM_TIME"], {})
    mapped = _mapped(
        plan,
        ("a@x.org", "2024-01-01", "2024-02-02", "2024-02-03"),
        ("b@x.org", "", "2024-02-02", "2024-02-03"),
        ("c@x.org", "", "", "2024-02-03"),
    )
    assert mapped["created_at"].to_list() == ["2024-01-01", "2024-02-02", "2024-02-03"]
    assert mapped["attr.optin_time"].to_list() == ["2024-02-02", "2024-02-02", ""]


def test_a_column_mapped_elsewhere_fills_nothing():
    plan = plan_mapping(["Phone", "Mobile"], {"Mobile": "attr.cell"})
    assert _mapped(plan, ("", "415 555 0100"))["phone"].to_list() == [""]
    plan = plan_mapping(["Phone", "Mobile"], {"Mobile": "skip"})
    assert _mapped(plan, ("", "415 555 0100"))["phone"].to_list() == [""]


def test_other_kinds_fill_nothing():
    frame = pl.DataFrame(
        {LINE: [2], FIELD_COUNT: [2], "Contact Email": [""], "Email - Home": ["h@x.org"]},
        schema_overrides={FIELD_COUNT: pl.Int32},
    )
    plan = plan_mapping(list(frame.columns[2:]), {}, kind="deals")
    assert apply_mapping(frame, plan, kind="deals")["contact_email"].to_list() == [""]


# --- Whole imports -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pipedrive_people_export_comes_in(write_list, run_import):
    owner = UserFactory(username="sam", first_name="Sam", last_name="Lee")
    text = (
        ",".join(PIPEDRIVE_PEOPLE) + "\n"
        "101,Ann Lee,Acme Ltd,ann@acme.com,,(415) 555-0100,,Sam Lee,2024-03-01 10:20:30,VIP\n"
        "102,Bob Ray,Initech,,bob@home.org,,415-555-0101,sam@example.com,2024-03-02,\n"
    )
    report = run_import(write_list(text))

    assert (report["created"], report["rejected"]) == (2, 0)
    ann = Contact.objects.get(external_id="101")
    assert (ann.email, ann.first_name, ann.last_name) == ("ann@acme.com", "Ann", "Lee")
    assert (ann.phone, ann.company.name, ann.owner) == ("+14155550100", "Acme Ltd", owner)
    assert ann.created_at == datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)
    assert ann.attributes == {"person_label": "VIP"}
    # No work email or phone: the home address and the mobile number stand in, and stay.
    bob = Contact.objects.get(external_id="102")
    assert (bob.email, bob.phone, bob.company.name) == ("bob@home.org", "+14155550101", "Initech")
    assert bob.attributes == {
        "person_email_home": "bob@home.org",
        "person_phone_mobile": "415-555-0101",
    }
    assert bob.created_at == datetime(2024, 3, 2, tzinfo=UTC)


@pytest.mark.django_db
def test_an_outlook_contacts_export_comes_in(write_list, run_import):
    text = (
        "First Name,Last Name,Company,Job Title,Business Phone,Home Phone,Mobile Phone,"
        "E-mail Address\n"
        "Ann,Lee,Acme,CTO,(415) 555-0100,415 555 0199,,ann@acme.com\n"
        "Bob,Ray,Initech,,,415 555 0198,415 555 0101,bob@initech.com\n"
        "Cy,Do,Globex,,,415 555 0102,,cy@globex.com\n"
    )
    report = run_import(write_list(text))

    assert report["mapping"]["Business Phone"] == "phone"
    assert report["created"] == 3
    phones = dict(Contact.objects.values_list("email", "phone"))
    assert phones == {
        "ann@acme.com": "+14155550100",
        "bob@initech.com": "+14155550101",
        "cy@globex.com": "+14155550102",
    }
    bob = Contact.objects.get(email="bob@initech.com")
    assert bob.company.name == "Initech"
    assert bob.attributes == {"home_phone": "415 555 0198", "mobile_phone": "415 555 0101"}


@pytest.mark.django_db
def test_a_salesforce_leads_report_comes_in(write_list, run_import):
    text = (
        "Lead ID,First Name,Last Name,Title,Company / Account,Email,Phone,Mobile,"
        "Lead Source,Lead Status,Created Date\n"
        "00Q1,Ann,Lee,CTO,Acme Ltd,ann@acme.com,,(415) 555-0100,Webinar,Open,2024-03-01\n"
    )
    report = run_import(write_list(text))

    assert (report["created"], report["rejected"]) == (1, 0)
    ann = Contact.objects.get()
    assert (ann.email, ann.external_id, ann.job_title) == ("ann@acme.com", "00Q1", "CTO")
    assert (ann.phone, ann.company.name) == ("+14155550100", "Acme Ltd")
    assert ann.created_at == datetime(2024, 3, 1, tzinfo=UTC)
    assert ann.attributes == {"lead_status": "Open", "mobile": "(415) 555-0100"}


@pytest.mark.django_db
def test_a_french_list_keeps_its_attribute_names_readable(write_list, run_import):
    text = "Prénom,Nom,Courriel,Téléphone,Société,Civilité\nÉlodie,Martin,e@x.fr,,Acme,Mme\n"
    run_import(write_list(text), "--phone-region", "FR")

    elodie = Contact.objects.get()
    assert (elodie.first_name, elodie.last_name, elodie.email) == ("Élodie", "Martin", "e@x.fr")
    assert elodie.company.name == "Acme"
    assert elodie.attributes == {"civilite": "Mme"}


def test_a_german_name_beside_vorname_is_the_surname():
    plan = plan_mapping(["E-Mail", "Vorname", "Name", "Firma"], {})
    assert plan["Name"] == "last_name" and plan["Vorname"] == "first_name"
    assert plan_mapping(["Email", "Name"], {})["Name"] == "full_name"  # alone: the whole name


def test_an_empty_country_is_filled_from_outlooks_business_then_home_country():
    headers = ["E-mail Address", "Business Country/Region", "Home Country/Region"]
    plan = plan_mapping(headers, {})
    assert plan["Business Country/Region"] == "attr.business_country_region"
    mapped = _mapped(plan, ("a@x.org", "United Kingdom", "France"), ("b@x.org", "", "France"))
    assert mapped["country"].to_list() == ["United Kingdom", "France"]


@pytest.mark.django_db
def test_outlooks_business_country_reads_its_phones_in_that_country(write_list, run_import):
    # Outlook has no plain "Country" column: without its address's, a UK mobile was read
    # with the default region (US) and kept only as typed.
    text = (
        "First Name,Last Name,E-mail Address,Mobile Phone,Business Country/Region\n"
        "Ann,Lee,ann@acme.co.uk,07700 900124,United Kingdom\n"
    )
    report = run_import(write_list(text))
    assert report["created"] == 1
    ann = Contact.objects.get()
    assert (ann.country, ann.phone) == ("GB", "+447700900124")
    assert ann.attributes["business_country_region"] == "United Kingdom"
