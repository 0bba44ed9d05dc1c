"""Values a column cannot hold, and options that cannot run: each is refused with a reason,
the same on SQLite and PostgreSQL, and the rest of the file still goes in."""

import pytest
from django.core.management import CommandError, call_command

from leadflow.acquisition.models import ImportJob
from leadflow.contacts.models import Campaign, Channel, Company, Contact, Spend, Vendor

pytestmark = pytest.mark.django_db

LIST = "Email,Phone\nann@example.com,020 7946 0958\n"


def test_a_company_channel_or_campaign_longer_than_its_column_rejects_only_its_row(
    write_list, run_import
):
    # On PostgreSQL the longer value stopped the whole file (varchar(200)); SQLite kept it.
    text = (
        "Email,Company,Channel,Campaign\n"
        f"long-company@example.com,{'C' * 201},,\n"
        f"long-channel@example.com,Acme,{'h' * 101},\n"
        f"long-campaign@example.com,Acme,Web,{'p' * 201}\n"
        f"fits@example.com,{'C' * 200},{'h' * 100},{'p' * 200}\n"
    )
    report = run_import(write_list(text))
    assert report["created"] == 1
    assert report["rejected_by_reason"] == {
        "company longer than 200 characters": 1,
        "channel longer than 100 characters": 1,
        "campaign longer than 200 characters": 1,
    }
    assert [e["line"] for e in report["reject_examples"]] == [2, 3, 4]
    fits = Contact.objects.select_related("company").get()
    assert fits.email == "fits@example.com" and len(fits.company.name) == 200
    assert Channel.objects.filter(name__startswith="h").count() == 1


@pytest.mark.parametrize(
    ("flag", "longest"), [("--vendor", 200), ("--channel", 100), ("--campaign", 200)]
)
def test_a_name_option_longer_than_its_column_is_refused_before_reading(write_list, flag, longest):
    with pytest.raises(CommandError, match=f"{flag} is longer than {longest} characters"):
        call_command(
            "import", str(write_list(LIST)), "--kind", "contacts", flag, "x" * (longest + 1)
        )
    assert not ImportJob.objects.exists() and not Contact.objects.exists()
    assert not (Vendor.objects.exists() or Channel.objects.exists() or Campaign.objects.exists())


@pytest.mark.parametrize("region", ["XX", "usa", "United Kingdom", "UK"])
def test_a_phone_region_that_is_not_a_country_code_is_refused(write_list, region):
    with pytest.raises(CommandError, match="not a country code for phone numbers"):
        call_command(
            "import", str(write_list(LIST)), "--kind", "contacts", "--phone-region", region
        )
    assert not Contact.objects.exists()


def test_a_phone_region_in_lower_case_is_the_country(write_list, run_import):
    report = run_import(write_list(LIST), "--phone-region", " gb ")
    assert report["created"] == 1
    assert Contact.objects.get().phone == "+442079460958"


def test_a_vendor_named_in_another_case_is_the_same_vendor(write_list, run_import, run_kind):
    run_import(write_list(LIST), "--vendor", "ListCo", "--total-cost", "10")
    again = run_import(
        write_list("Email\nbob@example.com\n"), "--vendor", "LISTCO", "--total-cost", "5"
    )
    assert again["vendors_created"] == []
    dry = run_import(write_list("Email\ncy@example.com\n"), "--vendor", "listco", "--dry-run")
    assert dry["vendors_created"] == []
    assert list(Vendor.objects.values_list("name", flat=True)) == ["ListCo"]
    listco = Vendor.objects.get()
    assert sorted(Spend.objects.values_list("vendor_id", "amount")) == [
        (listco.pk, 5),
        (listco.pk, 10),
    ]
    assert Company.objects.count() == 0


def test_spend_for_a_vendor_two_spellings_name_goes_to_the_one_it_spells(write_list, run_kind):
    # Two vendors that differ by case only (made before vendors were matched in any case):
    # a row books to the one it spells exactly, not to whichever the database gives first.
    Vendor.objects.create(name="LISTCO")
    listco = Vendor.objects.create(name="ListCo")
    run_kind(write_list("Date,Vendor,Amount\n2024-03-01,ListCo,12\n"), "spend")
    assert Spend.objects.get().vendor == listco


@pytest.mark.parametrize("target", ["attr.", "attr.  "])
def test_a_map_to_an_attribute_without_a_name_is_refused(write_list, target):
    with pytest.raises(CommandError, match=r"unknown field for contacts; .*attr\.NAME"):
        call_command(
            "import", str(write_list(LIST)), "--kind", "contacts", "--map", f"Email={target}"
        )
    assert not Contact.objects.exists()


def test_an_empty_delimiter_is_refused_not_sniffed(write_list):
    with pytest.raises(CommandError, match="The delimiter is empty"):
        call_command("import", str(write_list(LIST)), "--kind", "contacts", "--delimiter", "")
    assert not Contact.objects.exists()
