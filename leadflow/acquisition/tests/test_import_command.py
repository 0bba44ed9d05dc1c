"""`leadflow import FILE --kind contacts --format json`, end to end on the real database."""

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from leadflow.acquisition.jobs import undo_import
from leadflow.acquisition.models import ImportChange, ImportJob, ImportStatus
from leadflow.acquisition.pipeline import load
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    Contact,
    Spend,
    StageChange,
    Vendor,
)
from leadflow.contacts.tests.factories import ChannelFactory, ContactFactory

pytestmark = pytest.mark.django_db

LIST = (
    "E-mail,First Name,Last Name,Phone No.,Country,Company,Job Title,Shoe Size\n"
    "ANN@example.com ,ANN,SMITH,030 1234567,Germany,Acme,ceo,38\n"
    "bob@example.com,bob,jones,,United Kingdom,,,44\n"
)


def _rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_list_becomes_contacts_with_their_import_on_the_timeline(write_list, run_import):
    report = run_import(write_list(LIST))

    assert report["rows_read"] == 2
    assert report["created"] == 2
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.phone, ann.country, ann.job_title) == (
        "Ann",
        "Smith",
        "+49301234567",
        "DE",
        "CEO",
    )
    assert ann.company.name == "Acme"
    assert ann.attributes == {"shoe_size": "38"}
    imported = ann.activities.get(kind=ActivityKind.IMPORTED)
    assert imported.data["line"] == 2
    assert StageChange.objects.filter(contact=ann, source="import").exists()
    job = ImportJob.objects.get(pk=report["job_id"])
    assert (job.status, job.created_count, job.rows_read) == (ImportStatus.SUCCEEDED, 2, 2)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"])
def test_encodings_are_detected(write_list, run_import, encoding):
    text = "Email,First name,City\nzoe@example.com,Zoë,Zürich\nal@example.com,Alfred,Köln\n"
    report = run_import(write_list(text, encoding=encoding))

    assert report["created"] == 2
    assert Contact.objects.get(email="zoe@example.com").first_name == "Zoë"
    assert Contact.objects.get(email="zoe@example.com").attributes == {"city": "Zürich"}


def test_the_encoding_can_be_named(write_list, run_import):
    path = write_list("Email,Name\nx@example.com,Łódź\n", encoding="cp1250")
    run_import(path, "--encoding", "cp1250")
    assert Contact.objects.get().first_name == "Łódź"  # a Name column is a full name


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_sniffed(write_list, run_import, delimiter):
    text = LIST.replace(",", delimiter)
    report = run_import(write_list(text))
    assert report["delimiter"] == delimiter
    assert report["created"] == 2


def test_quoted_cells_with_delimiters_and_newlines(write_list, run_import):
    text = 'Email,Notes,Name\na@example.com,"one, two\nthree",Ann\n\nnot-an-email,x,Bob\n'
    report = run_import(write_list(text))
    assert report["created"] == 1
    ann = Contact.objects.get()
    assert (ann.attributes, ann.first_name) == ({"notes": "one, two\nthree"}, "Ann")
    # The bad row is on line 5: the quoted cell spans lines 2-3, then a blank line.
    assert report["reject_examples"] == [{"line": 5, "reason": "invalid email"}]


def test_rejects_carry_their_line_and_reason_and_cannot_run_formulas(write_list, run_import):
    text = (
        "Email,Name,Note\n"
        "good@example.com,Ann,ok\n"
        'bad@@example.com,=HYPERLINK("http://evil"),+1\n'
        ",Nobody,@cmd\n"
        "c@example.com,Cid,x,extra\n"
    )
    report = run_import(write_list(text))

    assert report["created"] == 1
    assert report["rejected_by_reason"] == {
        "invalid email": 1,
        "missing email": 1,
        "row has more fields than the header": 1,
    }
    rows = _rows(report["rejects_path"])
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("3", "invalid email"),
        ("4", "missing email"),
        ("5", "row has more fields than the header"),
    ]
    assert rows[0]["Name"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["Note"] == "'+1"
    assert rows[1]["Note"] == "'@cmd"
    assert ImportJob.objects.get().rejects_path == report["rejects_path"]


def test_duplicates_in_the_file_keep_the_first(write_list, run_import):
    text = "Email,First Name\nann@example.com,Ann\nANN@example.com ,Annie\nbob@example.com,Bob\n"
    report = run_import(write_list(text))
    assert (report["created"], report["skipped_in_file"]) == (2, 1)
    assert Contact.objects.get(email="ann@example.com").first_name == "Ann"


def test_contacts_already_known_are_skipped_by_default(write_list, run_import):
    ContactFactory(email="ann@example.com", first_name="Annabel", phone="")
    report = run_import(write_list(LIST))
    assert (report["created"], report["skipped_in_database"], report["updated"]) == (1, 1, 0)
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.phone) == ("Annabel", "")


def test_merge_fills_empty_fields_and_never_overwrites_with_an_undated_row(write_list, run_import):
    ContactFactory(email="ann@example.com", first_name="Annabel", phone="", country="")
    report = run_import(write_list(LIST), "--on-duplicate", "merge")

    assert (report["created"], report["merged"], report["skipped_in_database"]) == (1, 1, 0)
    assert report["updated"] == 0
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.first_name == "Annabel"
    assert (ann.phone, ann.country, ann.company.name) == ("+49301234567", "DE", "Acme")
    assert ann.attributes["shoe_size"] == "38"
    merged = ann.activities.get(kind=ActivityKind.MERGED)
    assert "phone" in merged.data["fields"] and "first_name" not in merged.data["fields"]
    change = ImportChange.objects.get(contact_id=ann.pk)
    assert (change.action, change.previous["phone"], change.written["phone"]) == (
        "merged",
        "",
        "+49301234567",
    )


def test_update_lets_the_files_values_replace_the_contacts(write_list, run_import):
    ContactFactory(email="ann@example.com", first_name="Annabel", phone="+493012345", country="")
    report = run_import(write_list(LIST), "--on-duplicate", "update")

    assert (report["created"], report["updated"], report["merged"]) == (1, 1, 0)
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.phone, ann.country) == ("Ann", "+49301234567", "DE")
    change = ImportChange.objects.get(contact_id=ann.pk)
    assert change.action == "updated"
    assert change.previous["first_name"] == "Annabel" and change.written["first_name"] == "Ann"
    assert ann.activities.filter(kind=ActivityKind.UPDATED).exists()


def test_a_known_contact_with_nothing_to_fill_is_skipped(write_list, run_import):
    ContactFactory(
        email="bob@example.com",
        first_name="B",
        last_name="J",
        country="GB",
        attributes={"shoe_size": "44"},
    )
    report = run_import(write_list(LIST), "--on-duplicate", "merge")
    assert (report["merged"], report["skipped_in_database"]) == (0, 1)


def test_vendor_cost_becomes_spend_and_cost_per_lead(write_list, run_import):
    ContactFactory(email="bob@example.com")
    report = run_import(
        write_list(LIST),
        "--vendor",
        "ListCo",
        "--cost-per-lead",
        "1.50",
        "--channel",
        "Bought lists",
        "--campaign",
        "Q3 purchase",
    )
    assert report["created"] == 1
    assert (report["cost_total"], report["cost_per_new_lead"]) == ("1.50", "1.5000")
    assert report["channels_created"] == ["Bought lists"]
    assert report["campaigns_created"] == ["Q3 purchase"]
    spend = Spend.objects.get()
    assert (spend.amount, spend.vendor.name, spend.campaign.name) == (
        Decimal("1.50"),
        "ListCo",
        "Q3 purchase",
    )
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.source_vendor.name == "ListCo"
    assert ann.first_touch_channel.name == "Bought lists"
    assert ann.first_touch_campaign.channel.name == "Bought lists"
    job = ImportJob.objects.get()
    assert (job.spend, job.cost_per_new_lead) == (spend, Decimal("1.5"))


def test_total_cost_is_shared_by_the_new_leads(write_list, run_import):
    report = run_import(write_list(LIST), "--vendor", "ListCo", "--total-cost", "100")
    assert (report["cost_total"], report["cost_per_new_lead"]) == ("100.00", "50.0000")


def test_a_new_vendor_is_listed_in_the_report_and_a_known_one_is_not(write_list, run_import):
    dry = run_import(write_list(LIST), "--dry-run", "--vendor", "ListCo", "--total-cost", "10")
    assert dry["vendors_created"] == ["ListCo"]
    first = run_import(write_list(LIST), "--vendor", "ListCo", "--total-cost", "10")
    assert first["vendors_created"] == ["ListCo"]
    again = run_import(write_list(LIST), "--vendor", "ListCo", "--total-cost", "10")
    assert again["vendors_created"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--total-cost", "1e20"], "too large"),
        (["--cost-per-lead", "99999999999"], "too large"),
        (["--cost-per-lead", "1", "--currency", "XYZ"], "not an ISO 4217 code"),
    ],
)
def test_a_cost_the_books_cannot_hold_is_refused_before_reading(write_list, args, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "import", str(write_list(LIST)), "--kind", "contacts", "--vendor", "ListCo", *args
        )
    assert not ImportJob.objects.exists() and not Spend.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity"])
def test_an_amount_that_is_not_a_number_is_a_usage_error(write_list, amount, capsys):
    with pytest.raises(CommandError, match="not an amount"):
        call_command(
            "import",
            str(write_list(LIST)),
            "--kind",
            "contacts",
            "--vendor",
            "V",
            "--total-cost",
            amount,
        )


def test_a_dry_run_writes_nothing(write_list, run_import):
    ContactFactory(email="bob@example.com")
    before = Contact.objects.count()
    report = run_import(
        write_list(LIST),
        "--dry-run",
        "--vendor",
        "ListCo",
        "--total-cost",
        "10",
        "--channel",
        "New",
        "--campaign",
        "Fresh",
    )
    assert report["dry_run"] is True
    assert (report["created"], report["skipped_in_database"]) == (1, 1)
    assert report["cost_per_new_lead"] == "10.0000"
    assert Contact.objects.count() == before
    assert not ImportJob.objects.exists()
    assert not Spend.objects.exists()
    assert not Vendor.objects.exists()
    assert not Channel.objects.exists() and not Campaign.objects.exists()
    assert not Activity.objects.filter(kind=ActivityKind.IMPORTED).exists()


def test_rows_without_email_can_come_in_by_name_or_external_id(write_list, run_import):
    text = "Prospect ID,First Name,Last Name,City\nP1,Ann,Smith,\nP2,,,\n,Bob,,\n,,,Berlin\n"
    report = run_import(write_list(text), "--allow-no-email")
    assert report["created"] == 3
    assert report["rejected_by_reason"] == {"no email, name or external id": 1}
    assert Contact.objects.get(external_id="P1").email is None
    # A second run matches them by external id, and the bare "Bob" by his name, instead of
    # making them twice.
    again = run_import(write_list(text), "--allow-no-email")
    assert (again["created"], again["skipped_in_database"]) == (0, 3)


def test_a_failure_while_loading_leaves_nothing_half_written(write_list, run_import, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(load, "record_list_cost", broken)
    with pytest.raises(RuntimeError):
        run_import(write_list(LIST), "--vendor", "ListCo", "--total-cost", "5")
    assert not Contact.objects.exists()
    assert not Vendor.objects.exists()
    job = ImportJob.objects.get()
    assert (job.status, job.error) == (ImportStatus.FAILED, "disk full")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"Email,Name\n", "no data rows"),
        (b"Email,Name,email\na@x.com,A,b@x.com\n", "twice"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 50, "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, "XLSX"),
    ],
)
def test_bad_files_get_a_clear_message_and_write_nothing(write_list, run_import, content, message):
    with pytest.raises(CommandError, match=message):
        run_import(write_list(content))
    assert not Contact.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.FAILED


def test_blank_headers_are_named_by_position(write_list, run_import):
    report = run_import(write_list("Email,,Name\na@example.com,x,Ann\n"))
    assert report["mapping"]["column_2"] == "attr.column_2"
    ann = Contact.objects.get()
    assert (ann.attributes, ann.first_name) == ({"column_2": "x"}, "Ann")


def test_an_unknown_kind_is_refused(write_list):
    # Every kind of ImportKind has a runner now (kinds/); anything else is not a choice.
    with pytest.raises(CommandError, match="invalid choice: 'leads'"):
        call_command("import", str(write_list(LIST)), "--kind", "leads")
    assert not ImportJob.objects.exists()


def test_an_explicit_map_is_used(write_list, run_import):
    text = "Work address,Given\nann@example.com,Ann\n"
    report = run_import(
        write_list(text), "--map", "Work address=email", "--map", "Given=first_name"
    )
    assert report["created"] == 1
    assert Contact.objects.get().first_name == "Ann"


def test_loaded_rows_answer_queries_like_rows_saved_one_by_one(write_list, run_import):
    """The bulk load (COPY, executemany) writes what the ORM would: dates, JSON, triggers."""
    text = "Email,Name,Company,Created,Shoe Size\nzoe@example.com,Zoë Ödegaard,Acme,2024-03-01,38\n"
    run_import(write_list(text))

    on_the_day = datetime(2024, 3, 1, tzinfo=UTC)
    zoe = Contact.objects.get(created_at=on_the_day, attributes__shoe_size="38")
    assert zoe.attributes == {"shoe_size": "38"}
    assert (zoe.first_name, zoe.last_name) == ("Zoë", "Ödegaard")
    assert Contact.objects.filter(created_at__gte=on_the_day, search_text__contains="acme").exists()
    assert Activity.objects.get(contact=zoe, data__line=2, data__import_job=zoe.source_import_id)
    assert StageChange.objects.get(contact=zoe).changed_at == on_the_day


def test_a_newer_dated_row_wins_a_merge_and_undo_puts_everything_back(write_list, run_import):
    """The whole promise of a merge: fill gaps, let only newer values win, undo exactly."""
    old = timezone.now() - timedelta(days=30)
    ann = ContactFactory(email="ann@example.com", first_name="Annabel", phone="", job_title="CTO")
    Contact.objects.filter(pk=ann.pk).update(updated_at=old)
    text = (
        "Email,First Name,Job Title,Phone,Last Modified\n"
        f"ann@example.com,Ann,CEO,+14155550100,{(old + timedelta(days=1)).date().isoformat()}\n"
        "new@example.com,Nia,,,\n"
    )
    report = run_import(write_list(text), "--on-duplicate", "merge")

    assert (report["created"], report["merged"], report["mapping"]["Last Modified"]) == (
        1,
        1,
        "updated_at",
    )
    ann.refresh_from_db()
    assert (ann.first_name, ann.job_title, ann.phone) == ("Ann", "CEO", "+14155550100")

    job = ImportJob.objects.get(pk=report["job_id"])
    result = undo_import(job=job, actor=None)

    ann.refresh_from_db()
    assert (ann.first_name, ann.job_title, ann.phone) == ("Annabel", "CTO", "")
    assert not Contact.objects.filter(email="new@example.com").exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert result is not None


def test_an_older_dated_row_only_fills_gaps_in_a_merge(write_list, run_import):
    ann = ContactFactory(email="ann@example.com", first_name="Annabel", phone="")
    text = "Email,First Name,Phone,Updated\nann@example.com,Ann,+14155550100,2001-02-03\n"
    report = run_import(write_list(text), "--on-duplicate", "merge")

    assert report["merged"] == 1
    ann.refresh_from_db()
    assert (ann.first_name, ann.phone) == ("Annabel", "+14155550100")


def test_a_date_that_is_not_one_in_updated_at_rejects_the_row(write_list, run_import):
    report = run_import(write_list("Email,Updated At\nann@example.com,someday\n"))
    assert report["rejected_by_reason"] == {"updated_at is not a date": 1}


def test_a_shared_phone_does_not_rename_someone_else_in_the_file(write_list, run_import):
    """Review finding: an emailless Ann on Bob's line once overwrote Bob under update."""
    ContactFactory(email="b@example.com", first_name="Bob", last_name="Ray", phone="")
    text = (
        "email,first_name,last_name,phone\n"
        ",Ann,Lee,+14155550101\n"
        "b@example.com,Bobby,Ray,+14155550101\n"
    )
    report = run_import(write_list(text), "--allow-no-email", "--on-duplicate", "update")

    bob = Contact.objects.get(email="b@example.com")
    assert (bob.first_name, bob.last_name) == ("Bobby", "Ray")
    assert Contact.objects.filter(first_name="Ann", last_name="Lee").count() == 1
    assert (report["created"], report["updated"], report["skipped_in_file"]) == (1, 1, 0)


def test_a_shared_phone_does_not_rename_a_contact_in_the_database(write_list, run_import):
    ContactFactory(email=None, first_name="Bob", last_name="Ray", phone="+14155550101")
    text = "email,first_name,last_name,phone\n,Ann,Lee,+14155550101\n"
    report = run_import(write_list(text), "--allow-no-email", "--on-duplicate", "update")

    assert report["created"] == 1 and report["updated"] == 0
    assert Contact.objects.filter(first_name="Bob", last_name="Ray").exists()


def test_the_same_name_on_the_same_phone_is_still_one_person(write_list, run_import):
    ContactFactory(email=None, first_name="Bob", last_name="Ray", phone="+14155550101")
    text = "email,first_name,last_name,phone,job title\n,Bob,Ray,+14155550101,CTO\n"
    report = run_import(write_list(text), "--allow-no-email", "--on-duplicate", "merge")

    assert (report["created"], report["merged"]) == (0, 1)
    assert Contact.objects.get(first_name="Bob").job_title == "CTO"


def test_our_own_contacts_export_imports_back(admin_client_, tmp_path, run_import):
    """Review finding: the export's ISO dates with an offset were rejected as not dates."""
    ContactFactory(email="ann@example.com", first_name="Ann", phone="+14155550100")
    ContactFactory(email="bob@example.com", first_name="Bob")
    exported = tmp_path / "contacts.csv"
    exported.write_bytes(b"".join(admin_client_.get("/contacts/export.csv").streaming_content))

    report = run_import(str(exported), "--dry-run")

    assert (report["rows_read"], report["rejected"]) == (2, 0)
    assert report["skipped_in_database"] == 2


def test_dates_with_a_utc_offset_are_that_instant_in_utc(write_list, run_import):
    text = "Email,Created At\nann@example.com,2024-03-01T10:30:00+02:00\n"
    run_import(write_list(text))
    created = Contact.objects.get(email="ann@example.com").created_at
    assert created == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


def test_a_dry_run_lists_what_a_real_run_would_create(write_list, run_import):
    ChannelFactory(name="Webinar")
    text = (
        "Email,Company,Channel,Campaign\n"
        "ann@example.com,Acme,webinar,Spring\n"
        "bob@example.com,Globex,Fair,\n"
    )
    report = run_import(write_list(text), "--dry-run", "--campaign", "Fresh")

    assert report["channels_created"] == ["Fair", "Imported lists"]  # webinar: the Webinar
    assert report["campaigns_created"] == ["Fresh", "Spring"]
    assert report["companies_created"] == 2
    assert not Channel.objects.filter(name="Fair").exists()

    real = run_import(write_list(text), "--campaign", "Fresh")
    assert real["channels_created"] == report["channels_created"]
    assert sorted(real["campaigns_created"]) == report["campaigns_created"]
    assert real["companies_created"] == report["companies_created"]


def test_cells_our_export_neutralised_come_back_as_they_went_out(write_list, run_import):
    text = "Email,First Name,Company,Phone\na@x.com,'=1+1,'+Sum(A1),'+44 20 7946 0958\n"
    report = run_import(write_list(text))
    assert report["created"] == 1
    ann = Contact.objects.get(email="a@x.com")
    assert (ann.first_name, ann.company.name, ann.phone) == ("=1+1", "+Sum(A1)", "+442079460958")
    # A cell that merely starts with an apostrophe is left as typed.
    run_import(write_list("Email,Job Title\nb@x.com,'Head' of sales\n"))
    assert Contact.objects.get(email="b@x.com").job_title == "'Head' of sales"


def test_a_header_cell_that_is_a_formula_is_neutralised_in_the_rejects_too(write_list, run_import):
    text = 'Email,=HYPERLINK("http://evil";"x"),@Job\nbad-email,v,w\n'
    report = run_import(write_list(text))
    with open(report["rejects_path"], encoding="utf-8-sig") as handle:
        header = handle.readline().rstrip("\n")
    assert header == 'line,reason,Email,"\'=HYPERLINK(""http://evil"";""x"")",\'@Job'
