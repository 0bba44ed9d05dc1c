"""`leadflow import FILE --kind companies|deals|activities|spend`, end to end, and the value
parsers and mappings those kinds read their files with.

Every test runs twice: with the file read in one chunk, and two rows at a time, so what a
kind does holds across its chunks (in-file duplicates, rejects, counts, lifecycle moves).
"""

import csv
import importlib
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from django.apps import apps
from django.core.management import CommandError

from leadflow.accounts.tests.factories import UserFactory
from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.acquisition.pipeline import read
from leadflow.acquisition.pipeline.dates import parse_dates
from leadflow.acquisition.pipeline.mapping import plan_mapping
from leadflow.acquisition.pipeline.values import (
    amount_and_currency,
    count,
    currency_code,
    domain,
)
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    LifecycleStage,
    Spend,
    StageChange,
    Vendor,
)
from leadflow.contacts.tests.factories import (
    ActivityFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
)

# `sales` sits above `acquisition` in the layers: the model is looked up by name here too.
Deal = apps.get_model("sales", "Deal")


@pytest.fixture(autouse=True, params=[100_000, 2], ids=["one-chunk", "two-row-chunks"])
def chunk_rows(request, monkeypatch):
    monkeypatch.setattr(read, "CHUNK_ROWS", request.param)
    return request.param


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# --- Value parsers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "amount", "currency"),
    [
        ("$1,200", "1200", "USD"),
        ("1.234,50 €", "1234.50", "EUR"),
        ("1,234,567.89", "1234567.89", None),
        ("1.234.567", "1234567", None),
        ("12,5", "12.5", None),
        ("1 234,56", "1234.56", None),
        ("1'234.50", "1234.50", None),
        ("(12.50)", "-12.50", None),
        ("-5", "-5", None),
        ("EUR 99", "99", "EUR"),
        ("0.5 usd", "0.5", "USD"),
        ("£7", "7", "GBP"),
        ("abc", None, None),
        ("EUR", None, "EUR"),
    ],
)
def test_amounts_are_read_as_people_write_them(written, amount, currency):
    value, named = amount_and_currency("a")
    got = pl.DataFrame({"a": [written]}).select(value.alias("v"), named.alias("c")).row(0)
    assert got == (amount, currency)


def test_currencies_counts_and_domains():
    frame = pl.DataFrame(
        {
            "c": ["eur", "€", " usd", "dollars", ""],
            "n": ["250", "1,000+", "51-200", "1.000.000", "many"],
            "d": ["https://www.Acme.com/about", "info@acme.com", "acme", "Foo.CO.uk", ""],
        }
    )
    got = frame.select(
        currency_code(pl.col("c")).alias("c"), count(pl.col("n")), domain(pl.col("d"))
    )
    assert got["c"].to_list() == ["EUR", "EUR", "USD", None, None]
    assert got["n"].to_list() == [250, 1000, 51, 1000000, None]
    assert got["d"].to_list() == ["acme.com", "acme.com", None, "foo.co.uk", None]


def test_a_date_column_is_read_day_first_unless_it_only_makes_sense_month_first():
    frame = pl.DataFrame(
        {
            "eu": ["03/04/2024", "13/04/2024", "2024-03-01T10:00:00Z", "bad"],
            "us": ["03/04/2024", "12/25/2024", "01/15/2024 10:32 AM", ""],
        }
    )
    got = parse_dates(frame, ["eu", "us"])
    assert got["eu"].to_list() == [at(2024, 4, 3), at(2024, 4, 13), at(2024, 3, 1, 10), None]
    assert got["us"].to_list() == [at(2024, 3, 4), at(2024, 12, 25), at(2024, 1, 15, 10, 32), None]
    assert got["eu_raw"].to_list()[3] == "bad"
    assert got["us_raw"].to_list()[3] is None


# --- Mapping -------------------------------------------------------------------------------


def test_each_kind_maps_its_own_synonyms():
    facebook = ["Reporting starts", "Reporting ends", "Campaign name", "Amount spent (USD)"]
    assert plan_mapping(facebook, {}, kind="spend") == {
        "Reporting starts": "spent_on",
        "Reporting ends": "attr.reporting_ends",
        "Campaign name": "campaign",
        "Amount spent (USD)": "amount",
    }
    assert plan_mapping(["Day", "Campaign", "Cost"], {}, kind="spend") == {
        "Day": "spent_on",
        "Campaign": "campaign",
        "Cost": "amount",
    }
    deals = ["E-mail", "Deal Name", "Deal Stage", "Close Date", "Value"]
    assert plan_mapping(deals, {}, kind="deals") == {
        "E-mail": "contact_email",
        "Deal Name": "name",
        "Deal Stage": "stage",
        "Close Date": "closed_at",
        "Value": "amount",
    }
    activities = ["Email", "Activity Type", "Timestamp", "Device"]
    assert plan_mapping(activities, {}, kind="activities") == {
        "Email": "contact_email",
        "Activity Type": "kind",
        "Timestamp": "occurred_at",
        "Device": "attr.device",
    }


def test_a_field_named_exactly_wins_over_a_synonym():
    # "Email" is a synonym of contact_email, but the column named so is taken first.
    plan = plan_mapping(["Email", "Contact Email"], {}, kind="deals")
    assert plan == {"Email": "attr.email", "Contact Email": "contact_email"}
    assert plan_mapping(["ID", "External ID"], {})["External ID"] == "external_id"


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals", "activities", "spend"])
def test_every_kind_keeps_a_leftover_column_as_an_attribute_unless_skipped(kind):
    assert plan_mapping(["Shoe Size"], {}, kind=kind) == {"Shoe Size": "attr.shoe_size"}
    assert plan_mapping(["City"], {"City": "attr.town"}, kind=kind) == {"City": "attr.town"}
    assert plan_mapping(["City"], {"City": "skip"}, kind=kind) == {"City": "skip"}


def test_a_deal_or_company_file_names_its_own_external_id():
    deals = plan_mapping(["Opportunity ID", "Contact ID", "Deal Name"], {}, kind="deals")
    assert deals == {
        "Opportunity ID": "external_id",
        "Contact ID": "contact_external_id",
        "Deal Name": "name",
    }
    assert plan_mapping(["Account ID", "Account Name"], {}, kind="companies") == {
        "Account ID": "external_id",
        "Account Name": "name",
    }


# --- Bad input, every kind ------------------------------------------------------------------

KINDS = ["companies", "deals", "activities", "spend"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_file_or_a_header_alone_stops_the_import(write_list, run_kind, kind):
    with pytest.raises(CommandError, match="empty"):
        run_kind(write_list(""), kind)
    with pytest.raises(CommandError, match="no data rows"):
        run_kind(write_list("name,date,amount\n"), kind)
    assert ImportJob.objects.filter(status=ImportStatus.FAILED).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_map_to_a_field_the_kind_lacks_is_refused(write_list, run_kind, kind):
    with pytest.raises(CommandError, match="unknown field"):
        run_kind(write_list("a\n1\n"), kind, "--map", "a=shoe_size")


# --- Companies -----------------------------------------------------------------------------

COMPANIES = (
    "Company Name,Website,Industry,Employees,Country,City,Created\n"
    "Acme Inc,https://www.acme.com/,Software,51-200,Germany,Berlin,03/04/2021\n"
    'Globex,globex.io,Energy,"1,000+",Vereinigte Staaten,Springfield,2020-01-05\n'
    "acme inc,acme.com,,,,,\n"
    ",nothing.com,,,,,\n"
    "Initech,,Finance,12,UK,,31/31/2020\n"
)


@pytest.mark.django_db
def test_companies_come_in_with_their_real_dates(write_list, run_kind):
    report = run_kind(write_list(COMPANIES), "companies")

    assert report["mapping"]["Employees"] == "size"
    assert report["mapping"]["City"] == "attr.city"
    assert (report["rows_read"], report["created"], report["skipped_in_file"]) == (5, 2, 1)
    assert report["rejected_by_reason"] == {"missing name": 1, "created_at is not a date": 1}
    assert [e["line"] for e in report["reject_examples"]] == [5, 6]
    assert [r["reason"] for r in _rows(report["rejects_path"])] == [
        "missing name",
        "created_at is not a date",
    ]
    acme = Company.objects.get(domain="acme.com")
    assert (acme.name, acme.industry, acme.size, acme.country) == ("Acme Inc", "Software", 51, "DE")
    assert acme.created_at == at(2021, 4, 3)
    assert acme.attributes == {"city": "Berlin"}
    globex = Company.objects.get(domain="globex.io")
    assert (globex.size, globex.attributes) == (1000, {"city": "Springfield"})
    assert globex.country == "US"  # a country name in German, as contacts read it


@pytest.mark.django_db
def test_a_company_value_that_cannot_be_read_is_left_empty_and_counted(write_list, run_kind):
    path = write_list(
        "name,domain,size,country\nAcme,not a domain,99999999999999,Narnia\nGlobex,globex.io,5,FR\n"
    )
    report = run_kind(path, "companies")

    assert report["created"] == 2
    assert report["warnings"] == {
        "domain not understood (left empty)": 1,
        "size not understood (left empty)": 1,
        "country not recognised (left empty)": 1,
    }  # a warning no row met is left out
    acme = Company.objects.get(name="Acme")
    assert (acme.domain, acme.size, acme.country) == (None, None, "")


@pytest.mark.django_db
def test_companies_match_by_domain_then_name_and_follow_the_policy(write_list, run_kind):
    acme = CompanyFactory(name="Acme", domain=None, industry="")
    globex = CompanyFactory(name="Globex", domain="globex.io", industry="Energy", size=None)
    path = write_list(
        "Name,Domain,Industry,Size\n"
        "ACME,acme.com,Software,\n"
        "Globex Corp,www.globex.io,Oil,40\n"
        "Acme,acme.de,Toys,\n"  # a name we have, but that company is acme.com now: new
    )

    skipped = run_kind(path, "companies", "--dry-run")
    assert (skipped["created"], skipped["skipped_in_database"]) == (1, 2)

    merged = run_kind(path, "companies", "--on-duplicate", "merge")
    assert (merged["created"], merged["merged"], merged["updated"]) == (1, 2, 0)
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert (acme.name, acme.domain, acme.industry) == ("Acme", "acme.com", "Software")
    assert (globex.name, globex.industry, globex.size) == ("Globex", "Energy", 40)
    assert Company.objects.get(domain="acme.de").industry == "Toys"

    updated = run_kind(path, "companies", "--on-duplicate", "update")
    assert (updated["created"], updated["updated"], updated["skipped_in_database"]) == (0, 2, 1)
    globex.refresh_from_db()
    acme.refresh_from_db()
    assert (globex.name, globex.industry) == ("Globex Corp", "Oil")
    assert acme.name == "ACME"  # a list typed with care: its capitals are meant

    again = run_kind(path, "companies", "--on-duplicate", "update")
    assert (again["created"], again["updated"], again["skipped_in_database"]) == (0, 0, 3)
    assert Company.objects.count() == 3


@pytest.mark.django_db
def test_companies_match_by_external_id_first_and_keep_their_attributes(write_list, run_kind):
    first = run_kind(
        write_list(
            "Account ID,Account Name,Website,Tier,Region\n"
            "A-1,Acme,acme.com,Gold,EMEA\n"
            "A-2,Acme,,Silver,\n"  # the same name, but its own id: another company
            "A-1,Acme Again,,,\n"  # the same id again
        ),
        "companies",
    )
    assert (first["created"], first["skipped_in_file"]) == (2, 1)
    acme = Company.objects.get(external_id="A-1")
    assert (acme.name, acme.domain, acme.attributes) == (
        "Acme",
        "acme.com",
        {"tier": "Gold", "region": "EMEA"},
    )
    assert Company.objects.get(external_id="A-2").attributes == {"tier": "Silver"}

    # The CRM renamed the account and moved it to another domain: the id still finds it.
    renamed = write_list("Account ID,Account Name,Website,Tier,Owner\nA-1,Acme Group,acme.io,"
                         "Platinum,Kim\n")  # fmt: skip
    merged = run_kind(renamed, "companies", "--on-duplicate", "merge")
    assert (merged["created"], merged["merged"], merged["updated"]) == (0, 1, 0)
    acme.refresh_from_db()
    assert (acme.name, acme.domain) == ("Acme", "acme.com")  # merge only fills
    assert acme.attributes == {"tier": "Gold", "region": "EMEA", "owner": "Kim"}

    updated = run_kind(renamed, "companies", "--on-duplicate", "update")
    assert updated["updated"] == 1
    acme.refresh_from_db()
    assert (acme.name, acme.domain) == ("Acme Group", "acme.io")
    assert acme.attributes == {"tier": "Platinum", "region": "EMEA", "owner": "Kim"}
    assert Company.objects.count() == 2


@pytest.mark.django_db
def test_an_external_id_is_filled_never_replaced_and_a_taken_domain_is_left(write_list, run_kind):
    globex = CompanyFactory(name="Globex", domain="globex.io", external_id=None)
    initech = CompanyFactory(name="Initech", domain="initech.com", external_id="I-9")
    report = run_kind(
        write_list(
            "id,name,domain\n"
            "G-1,Globex,globex.io\n"  # found by domain: its id is filled
            "X-5,Initech,initech.com\n"  # found by domain, but that one has an id of its own
        ),
        "companies",
        "--on-duplicate",
        "update",
    )
    assert (report["created"], report["updated"], report["skipped_in_database"]) == (0, 1, 1)
    assert (
        report["warnings"][
            "external id differs from the company matched by domain or name (kept the stored one)"
        ]
        == 1
    )
    globex.refresh_from_db()
    initech.refresh_from_db()
    assert globex.external_id == "G-1"
    assert initech.external_id == "I-9"

    moved = run_kind(
        write_list("id,name,domain\nI-9,Initech Corp,globex.io\n"),  # globex.io is Globex's
        "companies",
        "--on-duplicate",
        "update",
    )
    assert moved["updated"] == 1
    assert moved["warnings"]["domain belongs to another company (left unchanged)"] == 1
    initech.refresh_from_db()
    assert (initech.name, initech.domain) == ("Initech Corp", "initech.com")
    assert Company.objects.count() == 2


@pytest.mark.django_db
def test_a_companies_dry_run_writes_nothing(write_list, run_kind):
    report = run_kind(write_list(COMPANIES), "companies", "--dry-run")
    assert report["created"] == 2
    assert report["job_id"] is None
    assert not Company.objects.exists()
    assert not ImportJob.objects.exists()


# --- Spend ---------------------------------------------------------------------------------

FACEBOOK = (
    "Reporting starts,Reporting ends,Campaign name,Amount spent (USD),Results\n"
    '2024-01-01,2024-01-01,Winter Sale,"1,234.50",12\n'
    "2024-01-02,2024-01-02,Winter Sale,99.10,3\n"
    "2024-01-02,2024-01-02,Winter Sale,99.10,3\n"
    "2024-01-03,2024-01-03,,5,0\n"
    "2024-01-32,2024-01-03,Winter Sale,5,0\n"
    "2024-01-04,2024-01-04,Winter Sale,-5,0\n"
    "2024-01-04,2024-01-04,Winter Sale,abc,0\n"
)


@pytest.mark.django_db
def test_a_facebook_export_becomes_spend_in_its_header_currency(write_list, run_kind):
    report = run_kind(write_list(FACEBOOK), "spend")

    assert report["mapping"]["Amount spent (USD)"] == "amount"
    assert (report["created"], report["skipped_in_file"]) == (2, 1)
    assert report["rejected_by_reason"] == {
        "no campaign or vendor": 1,
        "date is not a date": 1,
        "amount is negative": 1,
        "amount is not a number": 1,
    }
    assert [e["line"] for e in report["reject_examples"]] == [5, 6, 7, 8]
    assert report["campaigns_created"] == ["Winter Sale"]
    assert report["channels_created"] == ["Unassigned"]
    assert report["details"]["amount_by_currency"] == {"USD": "1333.60"}
    rows = Spend.objects.order_by("spent_on").values_list("spent_on", "amount", "currency")
    assert list(rows) == [
        (date(2024, 1, 1), Decimal("1234.50"), "USD"),
        (date(2024, 1, 2), Decimal("99.10"), "USD"),
    ]
    campaign = Campaign.objects.get(name="Winter Sale")
    assert (campaign.channel.name, campaign.channel.kind) == ("Unassigned", ChannelKind.OTHER)


@pytest.mark.django_db
def test_a_google_ads_export_reads_us_dates_and_written_currencies(write_list, run_kind):
    path = write_list(
        "Day,Campaign,Cost,Currency code\n"
        '01/15/2024,Brand EU,"1.234,50 €",\n'
        "01/16/2024,Brand EU,12,eur\n"
        "01/17/2024,Brand US,$3,\n"
        "01/18/2024,Brand US,3,XX\n"
    )
    report = run_kind(path, "spend", "--channel", "Google Ads", "--currency", "GBP")

    assert report["created"] == 3
    assert report["rejected_by_reason"] == {"currency is not an ISO 4217 code (USD, EUR...)": 1}
    assert report["channels_created"] == ["Google Ads"]
    rows = Spend.objects.order_by("spent_on").values_list(
        "spent_on", "amount", "currency", "campaign__channel__name"
    )
    assert list(rows) == [
        (date(2024, 1, 15), Decimal("1234.50"), "EUR", "Google Ads"),
        (date(2024, 1, 16), Decimal("12.00"), "EUR", "Google Ads"),
        (date(2024, 1, 17), Decimal("3.00"), "USD", "Google Ads"),
    ]


@pytest.mark.django_db
def test_spend_by_vendor_and_a_reimport_books_each_day_once(write_list, run_kind):
    path = write_list(
        "Invoice date;Supplier;Amount;Memo\n"
        "05.02.2024;ListCo;500,00;January leads\n"
        "05.03.2024;listco;500,00;February leads\n"
    )
    dry = run_kind(path, "spend", "--currency", "EUR", "--dry-run")
    assert (dry["created"], dry["vendors_created"]) == (2, ["ListCo"])
    assert not Spend.objects.exists()
    assert not Vendor.objects.exists()

    first = run_kind(path, "spend", "--currency", "EUR")
    assert (first["created"], first["vendors_created"]) == (2, ["ListCo"])
    spend = Spend.objects.get(spent_on=date(2024, 3, 5))
    assert (spend.vendor.name, spend.amount, spend.currency) == ("ListCo", Decimal("500"), "EUR")
    assert spend.note == "February leads"

    again = run_kind(path, "spend", "--currency", "EUR")
    assert (again["created"], again["skipped_in_database"]) == (0, 2)
    assert Spend.objects.count() == 2


# --- Activities ----------------------------------------------------------------------------

ACTIVITIES = (
    "Email,Contact ID,Activity Type,Date,Channel,Campaign,Subject,Notes,URL,Device\n"
    "ann@example.com,,Email Opened,2024-03-01 10:00,Email,Spring news,Spring is here,,,mobile\n"
    "ANN@example.com ,,Page Visited,2024-03-02 11:30,,,Pricing,,https://x.test/pricing,desktop\n"
    ",CRM-2,call,02/03/2024,,,,Talked budget,,\n"
    ",CRM-2,Trade show chat,2024-03-05,Events,,,,,\n"
    "nobody@example.com,,call,2024-03-05,,,,,,\n"
    "ann@example.com,,,2024-03-05,,,,,,\n"
    "ann@example.com,,note,,,,,,,\n"
    "ann@example.com,,note,yesterday,,,,,,\n"
    ",,note,2024-03-05,,,,,,\n"
    "ann@example.com,,Email Opened,2024-03-01 10:00,Email,Spring news,Spring is here,,,mobile\n"
)


@pytest.fixture
def ann_and_bob(db):
    return (
        ContactFactory(email="ann@example.com"),
        ContactFactory(email="bob@example.com", external_id="CRM-2"),
    )


@pytest.mark.django_db
def test_activities_land_on_their_contacts_timeline_at_their_dates(
    write_list, run_kind, ann_and_bob
):
    ann, bob = ann_and_bob
    report = run_kind(write_list(ACTIVITIES), "activities")

    assert (report["rows_read"], report["created"], report["skipped_in_file"]) == (10, 4, 1)
    assert report["rejected_by_reason"] == {
        "no contact with this email/external id": 1,
        "missing kind": 1,
        "missing occurred_at": 1,
        "occurred_at is not a date": 1,
        "missing contact_email or contact_external_id": 1,
    }
    assert [e["line"] for e in report["reject_examples"]] == [6, 7, 8, 9, 10]
    assert report["warnings"]["kind not recognised (kept as a custom activity)"] == 1
    assert report["channels_created"] == ["Email", "Events"]
    assert report["campaigns_created"] == ["Spring news"]

    opened = ann.activities.get(kind=ActivityKind.EMAIL_OPENED)
    assert opened.occurred_at == at(2024, 3, 1, 10)
    assert (opened.channel.name, opened.campaign.name) == ("Email", "Spring news")
    assert opened.data["subject"] == "Spring is here"
    assert opened.data["device"] == "mobile"
    assert opened.data["line"] == 2
    visit = ann.activities.get(kind=ActivityKind.PAGE_VIEW)
    assert (visit.data["title"], visit.data["url"]) == ("Pricing", "https://x.test/pricing")
    call = bob.activities.get(kind=ActivityKind.CALL)
    assert (call.occurred_at, call.data["notes"]) == (at(2024, 3, 2), "Talked budget")
    custom = bob.activities.get(kind=ActivityKind.CUSTOM)
    assert custom.data["name"] == "Trade show chat"

    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.first_touch_campaign.name, ann.last_touch_channel.name) == ("Spring news", "Email")
    assert (bob.first_touch_channel.name, bob.last_touch_channel.name) == ("Events", "Events")


@pytest.mark.django_db
def test_reimporting_activities_adds_nothing_and_a_dry_run_writes_nothing(
    write_list, run_kind, ann_and_bob
):
    path = write_list(ACTIVITIES)
    dry = run_kind(path, "activities", "--dry-run")
    assert dry["created"] == 4
    assert dry["channels_created"] == ["Email", "Events"]
    assert not Activity.objects.exists()
    assert not Channel.objects.exists()

    run_kind(path, "activities")
    again = run_kind(path, "activities")
    assert (again["created"], again["skipped_in_database"]) == (0, 4)
    assert Activity.objects.count() == 4


@pytest.mark.django_db
def test_an_older_imported_touch_does_not_move_the_last_touch(write_list, run_kind):
    web = ChannelFactory(name="Web")
    ann = ContactFactory(email="ann@example.com", first_touch_channel=web, last_touch_channel=web)
    ActivityFactory(
        contact=ann, kind=ActivityKind.PAGE_VIEW, channel=web, occurred_at=at(2025, 1, 1)
    )
    path = write_list(
        "email,kind,occurred_at,channel\nann@example.com,email opened,2024-01-01,Email\n"
    )

    run_kind(path, "activities")

    ann.refresh_from_db()
    assert (ann.first_touch_channel, ann.last_touch_channel) == (web, web)


# --- Deals ---------------------------------------------------------------------------------

DEALS = (
    "Contact Email,Contact ID,Deal Name,Amount,Currency,Deal Stage,Created,Close Date,"
    "Lost Reason,Owner\n"
    'ann@example.com,,Starter plan,"$1,200",,Closed Won,2023-01-10,2023-02-20,,\n'
    'ann@example.com,,Upsell,"2.500,00 €",,Proposal/Price Quote,2023-06-01,,,REP@example.com\n'
    ",CRM-2,Pro plan,900,usd,Closed Lost,2023-03-01,2023-03-30,Too expensive,rep\n"
    ",CRM-2,Pro plan,900,usd,Closed Lost,2023-03-01,2023-03-30,Too expensive,\n"
    "nobody@example.com,,X,1,,,2023-01-01,,,\n"
    "ann@example.com,,,1,,,2023-01-01,,,\n"
    "ann@example.com,,Y,1,,Someday,2023-07-01,,,\n"  # a stage we cannot read: open
    "ann@example.com,,Z,1,,won,2023-01-01,,,\n"
    "ann@example.com,,W,1,,won,2023-05-01,2023-01-01,,\n"
    "ann@example.com,,V,-1,,,2023-05-01,,,\n"
    "ann@example.com,,U,1,,lost,2023-05-01,2023-05-33,,\n"
)


@pytest.mark.django_db
def test_deals_come_in_with_their_real_dates_and_move_the_lifecycle(
    write_list, run_kind, ann_and_bob
):
    ann, bob = ann_and_bob
    rep = UserFactory(username="rep", email="rep@example.com")
    report = run_kind(write_list(DEALS), "deals")

    assert (report["rows_read"], report["created"], report["skipped_in_file"]) == (11, 4, 1)
    assert report["rejected_by_reason"] == {
        "no contact with this email/external id": 1,
        "missing name": 1,
        "won deal without won_at (or closed_at)": 1,
        "won_at or lost_at is before created_at": 1,
        "amount is negative": 1,
        "closed_at is not a date": 1,
    }
    assert [e["line"] for e in report["reject_examples"]] == [6, 7, 9, 10, 11]
    assert (
        report["warnings"][
            "stage not recognised (open, or closed as its dates say; kept as crm_stage)"
        ]
        == 1
    )
    assert report["details"] == {
        "won": 1,
        "lost": 1,
        "open": 2,
        "updated deals won": 0,
        "updated deals lost": 0,
        "contacts made opportunities": 2,
        "contacts made customers": 1,
        "contacts dated back to their first deal": 2,  # both made today, their deals 2023
    }

    won = Deal.objects.get(name="Starter plan")
    assert (won.stage, won.amount, won.currency) == ("won", Decimal("1200"), "USD")
    assert (won.created_at, won.won_at, won.lost_at) == (at(2023, 1, 10), at(2023, 2, 20), None)
    someday = Deal.objects.get(name="Y")
    assert (someday.stage, someday.attributes) == ("qualification", {"crm_stage": "Someday"})
    upsell = Deal.objects.get(name="Upsell")
    assert (upsell.stage, upsell.amount, upsell.currency) == ("proposal", Decimal("2500"), "EUR")
    assert upsell.owner == rep
    lost = Deal.objects.get(name="Pro plan")
    assert (lost.stage, lost.lost_at, lost.lost_reason) == (
        "lost",
        at(2023, 3, 30),
        "Too expensive",
    )
    assert lost.contact == bob and lost.owner == rep

    kinds = ann.activities.filter(kind__startswith="deal").values_list("kind", "occurred_at")
    assert set(kinds) == {
        (ActivityKind.DEAL_CREATED, at(2023, 1, 10)),
        (ActivityKind.DEAL_WON, at(2023, 2, 20)),
        (ActivityKind.DEAL_CREATED, at(2023, 6, 1)),
        (ActivityKind.DEAL_CREATED, at(2023, 7, 1)),
    }
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.lifecycle_stage == LifecycleStage.CUSTOMER
    history = StageChange.objects.filter(contact=ann).order_by("changed_at")
    assert [(s.to_stage, s.changed_at) for s in history] == [
        (LifecycleStage.OPPORTUNITY, at(2023, 1, 10)),
        (LifecycleStage.CUSTOMER, at(2023, 2, 20)),
    ]
    # Every deal of Bob's was lost: an opportunity for a while, then back where he was.
    assert bob.lifecycle_stage == LifecycleStage.LEAD
    assert list(
        StageChange.objects.filter(contact=bob).order_by("changed_at").values_list("to_stage")
    ) == [(LifecycleStage.OPPORTUNITY,), (LifecycleStage.LEAD,)]


@pytest.mark.django_db
def test_reimporting_deals_adds_nothing_and_a_dry_run_writes_nothing(
    write_list, run_kind, ann_and_bob
):
    path = write_list(DEALS)
    dry = run_kind(path, "deals", "--dry-run")
    assert dry["created"] == 4
    assert dry["details"]["contacts made customers"] == 1
    assert not Deal.objects.exists()
    assert not StageChange.objects.exists()
    assert Contact.objects.filter(lifecycle_stage=LifecycleStage.LEAD).count() == 2

    run_kind(path, "deals")
    again = run_kind(path, "deals")
    assert (again["created"], again["skipped_in_database"]) == (0, 4)
    assert Deal.objects.count() == 4
    assert StageChange.objects.count() == 4


@pytest.mark.django_db
def test_a_deal_is_the_same_by_contact_name_and_day_of_creation(write_list, run_kind, ann_and_bob):
    run_kind(write_list("email,name,created_at\nann@example.com,Renewal,2023-01-10\n"), "deals")

    later = run_kind(
        write_list(
            "email,name,created_at\n"
            "ann@example.com,RENEWAL,2023-01-10 15:00\n"  # the same deal
            "ann@example.com,Renewal,2024-01-10\n"  # next year's
        ),
        "deals",
    )
    undated = run_kind(write_list("email,name,amount\nann@example.com,renewal,5\n"), "deals")

    assert (later["created"], later["skipped_in_database"]) == (1, 1)
    assert (undated["created"], undated["skipped_in_database"]) == (0, 1)
    assert Deal.objects.count() == 2


@pytest.mark.django_db
def test_a_failure_half_way_leaves_nothing_but_the_failed_job(
    write_list, run_kind, ann_and_bob, monkeypatch
):
    # The deals kind lives in sales (above acquisition in the layers): patched by module name.
    deals = importlib.import_module("leadflow.sales.imports")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # The deals are written by then; the stage moves are not.
    monkeypatch.setattr(deals, "_write_stage_moves", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_kind(write_list(DEALS), "deals")

    assert not Deal.objects.exists()
    assert not Activity.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.FAILED


@pytest.mark.django_db
def test_update_revises_the_amount_of_a_day_the_platform_revised(write_list, run_kind):
    header = "Day,Campaign,Cost\n"
    run_kind(write_list(header + "2024-01-01,Brand,10\n2024-01-02,Brand,20\n"), "spend")
    revised = write_list(
        header + "2024-01-01,Brand,10\n2024-01-02,Brand,25.50\n2024-01-03,Brand,30\n"
    )

    skipped = run_kind(revised, "spend", "--dry-run")
    assert (skipped["created"], skipped["updated"], skipped["skipped_in_database"]) == (2, 0, 1)

    report = run_kind(revised, "spend", "--on-duplicate", "update")
    assert (report["created"], report["updated"], report["skipped_in_database"]) == (1, 1, 1)
    amounts = Spend.objects.order_by("spent_on").values_list("amount", flat=True)
    assert list(amounts) == [Decimal("10"), Decimal("25.50"), Decimal("30")]
    assert report["details"]["amount_by_currency"] == {"USD": "30.00"}  # the new day
    assert report["details"]["revised_amount_by_currency"] == {"USD": "25.50"}


@pytest.mark.django_db
def test_spend_comes_from_an_xlsx_sheet_too(tmp_path, run_kind):
    from leadflow.acquisition.tests.test_import_xlsx import Date, write_xlsx

    book = write_xlsx(
        tmp_path / "ads.xlsx",
        {
            "Notes": {1: ["nothing here"]},
            "Spend": {
                1: ["Day", "Campaign", "Cost"],
                2: [Date(45292), "Brand", 12.5],
                3: [Date(45293), "Brand", 1200],
            },
        },
    )
    report = run_kind(book, "spend", "--sheet", "Spend", "--currency", "EUR")

    assert report["created"] == 2
    rows = Spend.objects.order_by("spent_on").values_list("spent_on", "amount", "currency")
    assert list(rows) == [
        (date(2024, 1, 1), Decimal("12.50"), "EUR"),
        (date(2024, 1, 2), Decimal("1200"), "EUR"),
    ]


@pytest.mark.django_db
def test_update_closes_a_deal_won_since_the_last_export(write_list, run_kind, ann_and_bob):
    ann, _ = ann_and_bob
    header = "email,name,amount,stage,created_at,closed_at,owner\n"
    run_kind(write_list(header + "ann@example.com,Pro,,proposal,2023-01-10,,\n"), "deals")
    later = write_list(header + "ann@example.com,Pro,900,Closed Won,2023-01-10,2023-03-01,\n")

    merged = run_kind(later, "deals", "--on-duplicate", "merge")
    deal = Deal.objects.get()
    assert (merged["merged"], deal.amount, deal.stage) == (1, Decimal("900"), "proposal")

    updated = run_kind(later, "deals", "--on-duplicate", "update")
    assert (updated["created"], updated["updated"]) == (0, 1)
    assert updated["details"]["updated deals won"] == 1
    assert updated["details"]["contacts made customers"] == 1
    deal.refresh_from_db()
    assert (deal.stage, deal.won_at, deal.created_at) == ("won", at(2023, 3, 1), at(2023, 1, 10))
    assert ann.activities.get(kind=ActivityKind.DEAL_WON).occurred_at == at(2023, 3, 1)
    ann.refresh_from_db()
    assert ann.lifecycle_stage == LifecycleStage.CUSTOMER
    assert StageChange.objects.get(contact=ann, to_stage="customer").changed_at == at(2023, 3, 1)

    again = run_kind(later, "deals", "--on-duplicate", "update")
    assert (again["updated"], again["skipped_in_database"]) == (0, 1)
    assert Deal.objects.count() == 1


@pytest.mark.django_db
def test_a_deal_is_found_by_its_external_id_first_and_keeps_its_attributes(
    write_list, run_kind, ann_and_bob
):
    header = "Opportunity ID,Contact Email,Deal Name,Amount,Created,Source System,Region\n"
    first = run_kind(
        write_list(
            header + "OPP-1,ann@example.com,Pro,100,2023-01-10,Salesforce,EMEA\n"
            "OPP-2,ann@example.com,Pro,200,2023-01-10,Salesforce,\n"  # same name, its own id
            "OPP-1,ann@example.com,Pro again,300,2023-01-11,,\n"  # the same id again
            ",ann@example.com,Pro,400,2023-01-10,,\n"  # no id: the first Pro of that day
        ),
        "deals",
    )
    assert (first["created"], first["skipped_in_file"]) == (2, 2)
    pro = Deal.objects.get(external_id="OPP-1")
    assert (pro.amount, pro.attributes) == (
        Decimal("100"),
        {"source_system": "Salesforce", "region": "EMEA"},
    )
    assert Deal.objects.get(external_id="OPP-2").attributes == {"source_system": "Salesforce"}

    # Renamed in the CRM and dated otherwise: the id still finds it.
    renamed = write_list(header + "OPP-1,ann@example.com,Pro (3 years),900,2023-02-01,,APAC\n")
    merged = run_kind(renamed, "deals", "--on-duplicate", "merge")  # only fills: nothing
    assert (merged["created"], merged["merged"], merged["skipped_in_database"]) == (0, 0, 1)
    pro.refresh_from_db()
    assert (pro.amount, pro.attributes["region"]) == (Decimal("100"), "EMEA")

    updated = run_kind(renamed, "deals", "--on-duplicate", "update")
    assert (updated["created"], updated["updated"]) == (0, 1)
    pro.refresh_from_db()
    assert (pro.amount, pro.attributes["region"]) == (Decimal("900"), "APAC")
    assert Deal.objects.count() == 2


@pytest.mark.django_db
def test_a_deal_without_an_id_fills_the_id_of_the_same_deal(write_list, run_kind, ann_and_bob):
    run_kind(write_list("email,name,created_at\nann@example.com,Renewal,2023-01-10\n"), "deals")
    report = run_kind(
        write_list(
            "external_id,email,name,created_at\n"
            "R-1,ann@example.com,Renewal,2023-01-10\n"  # the deal we have: its id is filled
            "R-2,ann@example.com,Renewal,2023-01-10\n"  # another id, the same day: another deal
        ),
        "deals",
        "--on-duplicate",
        "merge",
    )
    assert (report["created"], report["merged"]) == (1, 1)
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["R-1", "R-2"]


@pytest.mark.django_db
def test_spend_keeps_the_exports_other_figures(write_list, run_kind):
    header = "Day,Campaign,Cost,Clicks,Impressions\n"
    run_kind(write_list(header + "2024-01-01,Brand,10,4,1000\n"), "spend")
    spend = Spend.objects.get()
    assert spend.attributes == {"clicks": "4", "impressions": "1000"}

    revised = write_list(header + "2024-01-01,Brand,12,5,\n")
    report = run_kind(revised, "spend", "--on-duplicate", "update")
    assert report["updated"] == 1
    spend.refresh_from_db()
    assert (spend.amount, spend.attributes) == (
        Decimal("12"),
        {"clicks": "5", "impressions": "1000"},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("companies", COMPANIES),
        ("deals", DEALS),
        ("spend", FACEBOOK),
        ("activities", "email,type,date\n" + "ann@example.com,call,2024-01-01\n" * 7),
    ],
)
def test_every_kind_reads_its_file_a_chunk_at_a_time(
    write_list, run_kind, monkeypatch, chunk_rows, kind, text
):
    """Memory stays bounded: no stage ever holds more of the file than a chunk."""
    base = importlib.import_module("leadflow.acquisition.kinds.base")
    heights = []
    mapped = base.apply_mapping

    def counted(frame, plan, *, kind):
        heights.append(frame.height)
        return mapped(frame, plan, kind=kind)

    monkeypatch.setattr(base, "apply_mapping", counted)
    report = run_kind(write_list(text), kind, "--dry-run")

    assert sum(heights) == report["rows_read"] > 2
    assert max(heights) == min(chunk_rows, report["rows_read"])


@pytest.mark.django_db
def test_the_earliest_touch_of_the_file_is_the_first_touch_whatever_its_chunk(write_list, run_kind):
    ann = ContactFactory(email="ann@example.com", first_touch_channel=None)
    run_kind(
        write_list(
            "email,type,date,channel\n"
            "ann@example.com,page view,2024-03-01,Webinar\n"
            "ann@example.com,page view,2024-03-02,Ads\n"
            "ann@example.com,page view,2024-01-01,Google\n"  # the second chunk of two rows
        ),
        "activities",
    )
    ann.refresh_from_db()
    assert ann.first_touch_channel.name == "Google"
    assert ann.last_touch_channel.name == "Ads"


@pytest.mark.django_db
def test_a_crms_own_stage_names_close_or_open_the_deal_and_are_kept(
    write_list, run_kind, ann_and_bob
):
    report = run_kind(
        write_list(
            "email,name,stage,created_at,closed_at\n"
            "ann@example.com,A,Closed Lost to Competition,2023-01-01,2023-02-01\n"
            "ann@example.com,B,Won - signed,2023-01-01,2023-03-01\n"
            "ann@example.com,C,Contact Made,2023-01-01,\n"  # Pipedrive's
            "ann@example.com,D,Waiting on legal,2023-01-01,\n"  # nobody's: open
        ),
        "deals",
    )
    assert report["created"] == 4
    stages = dict(Deal.objects.values_list("name", "stage"))
    assert stages == {"A": "lost", "B": "won", "C": "qualification", "D": "qualification"}
    assert Deal.objects.get(name="D").attributes == {"crm_stage": "Waiting on legal"}
    assert Deal.objects.get(name="C").attributes == {}

    # A later export with a stage we cannot read leaves the stage of our deal alone.
    deal = Deal.objects.get(name="B")
    again = write_list("email,name,stage,created_at\nann@example.com,B,Signed off,2023-01-01\n")
    run_kind(again, "deals", "--on-duplicate", "update")
    deal.refresh_from_db()
    assert (deal.stage, deal.attributes) == ("won", {"crm_stage": "Signed off"})


@pytest.mark.django_db
def test_an_open_deals_close_date_is_its_expected_close(write_list, run_kind, ann_and_bob):
    text = (
        "Opportunity Name,Amount,Stage,Close Date,Created Date,Contact Email\n"
        "Umbrella neg,4500,Negotiation/Review,6/30/2024,5/1/2024,ann@example.com\n"
        "Umbrella won,4500,Closed Won,6/30/2024,5/1/2024,ann@example.com\n"
    )
    report = run_kind(write_list(text), "deals")
    assert report["created"] == 2
    open_deal, won = Deal.objects.get(name="Umbrella neg"), Deal.objects.get(name="Umbrella won")
    assert open_deal.expected_close_on == date(2024, 6, 30)
    assert won.expected_close_on is None and won.won_at.date() == date(2024, 6, 30)
