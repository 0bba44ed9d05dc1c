"""--on-duplicate skip|update|merge: what each does to a matched contact, and what is
recorded so it can be undone."""

from datetime import UTC, datetime

import polars as pl
import pytest
from django.utils import timezone

from leadflow.acquisition.models import (
    DuplicatePolicy,
    ImportChange,
    ImportChangeAction,
    ImportJob,
    ImportKind,
)
from leadflow.acquisition.pipeline import lookup as db_lookup
from leadflow.acquisition.pipeline.load import ensure_companies
from leadflow.acquisition.pipeline.match import (
    MATCH_ID,
    OTHER_EMAILS,
    match_contacts,
    plan_changes,
    planned_companies,
)
from leadflow.acquisition.pipeline.read import LINE
from leadflow.acquisition.pipeline.update import apply_changes
from leadflow.acquisition.tests.test_import_matching import contacts, rows
from leadflow.contacts.models import Activity, ActivityKind, Contact
from leadflow.contacts.tests.factories import CompanyFactory, ContactFactory

SKIP, UPDATE, MERGE = DuplicatePolicy.SKIP, DuplicatePolicy.UPDATE, DuplicatePolicy.MERGE
CONTACT_UPDATED = datetime(2026, 3, 1, tzinfo=UTC)

ANN = {
    "id": 1,
    "email": "ann@x.com",
    "first_name": "Ann",
    "last_name": "",
    "job_title": "Engineer",
    "phone": "",
    "company_id": 10,
    "company_name": "Acme",
    "attributes": {"shoe": "38", "team": "blue"},
    "updated_at": CONTACT_UPDATED,
}


def plan(row: dict, policy: str, contact: dict = ANN):
    matched = rows(row).with_columns(pl.lit(contact["id"], dtype=pl.Int64).alias(MATCH_ID))
    return plan_changes(matched, contacts(contact), policy)


# --- planning on frames -----------------------------------------------------------------------


def test_skip_changes_nothing():
    assert plan({"email": "ann@x.com", "last_name": "Lee"}, SKIP) == []


def test_update_replaces_values_but_an_empty_cell_never_blanks_a_field():
    (change,) = plan(
        {
            "email": "ann@x.com",
            "first_name": "Annie",
            "last_name": "Lee",
            "job_title": "",
            "attr.shoe": "39",
            "attr.size": "M",
        },
        UPDATE,
    )
    assert change.action == ImportChangeAction.UPDATED
    assert change.previous == {
        "first_name": "Ann",
        "last_name": "",
        "attributes": {"shoe": "38", "team": "blue"},
    }
    assert change.written == {
        "first_name": "Annie",
        "last_name": "Lee",
        "attributes": {"shoe": "39", "team": "blue", "size": "M"},
    }
    assert change.values["job_title"] == "Engineer"


def test_merge_fills_empty_fields_and_keeps_values_when_the_row_is_not_newer():
    (change,) = plan(
        {"email": "ann@x.com", "first_name": "Annie", "last_name": "Lee", "attr.shoe": "39"},
        MERGE,
    )
    assert change.action == ImportChangeAction.MERGED
    assert change.written == {"last_name": "Lee"}
    assert change.values["first_name"] == "Ann"
    assert change.values["attributes"] == {"shoe": "38", "team": "blue"}


def test_merge_takes_the_rows_values_when_the_row_is_newer_than_the_contact():
    newer = {"email": "ann@x.com", "first_name": "Annie", "attr.shoe": "39"}
    (change,) = plan({**newer, "created_at": "2026-04-01"}, MERGE)
    assert change.written == {
        "first_name": "Annie",
        "attributes": {"shoe": "39", "team": "blue"},
    }
    older = plan({**newer, "created_at": "2026-02-01"}, MERGE)
    assert older == []  # nothing empty to fill, and the row's values are older


def test_a_match_with_nothing_new_is_no_change():
    assert plan({"email": "ann@x.com", "first_name": "Ann", "company": "ACME"}, UPDATE) == []
    assert plan({"email": "ann@x.com", "first_name": "Ann"}, MERGE) == []


def test_a_different_email_is_kept_beside_the_contacts_own():
    row = {"email": "ann.lee@y.com", "external_id": "E1"}
    (merged,) = plan(row, MERGE)
    assert merged.values["email"] == "ann@x.com"
    assert merged.written == {"other_emails": ["ann.lee@y.com"], "external_id": "E1"}
    (updated,) = plan(row, UPDATE)
    assert updated.written["email"] == "ann.lee@y.com"
    assert updated.written["other_emails"] == ["ann@x.com"]
    assert updated.previous["email"] == "ann@x.com"


def test_emails_of_folded_in_file_rows_go_to_other_emails():
    matched = rows({"email": "ann@x.com"}).with_columns(
        pl.lit(1, dtype=pl.Int64).alias(MATCH_ID),
        pl.lit(["a2@x.com", "ann@x.com"]).alias(OTHER_EMAILS),
    )
    (change,) = plan_changes(matched, contacts(ANN), MERGE)
    assert change.written == {"other_emails": ["a2@x.com"]}


def test_a_filled_email_gets_its_flags():
    no_email = {**ANN, "email": None}
    (change,) = plan({"email": "info@acme.com", "first_name": "Ann"}, MERGE, no_email)
    assert change.written == {"email": "info@acme.com", "email_is_role": True}
    assert change.previous == {"email": None, "email_is_role": False}


def test_company_is_filled_when_empty_and_replaced_only_by_update_or_a_newer_row():
    no_company = {**ANN, "company_id": None, "company_name": None}
    (filled,) = plan({"email": "ann@x.com", "company": "Globex"}, MERGE, no_company)
    assert filled.company == "Globex"
    assert filled.previous == {"company_id": None}
    assert plan({"email": "ann@x.com", "company": "Globex"}, MERGE) == []
    (replaced,) = plan({"email": "ann@x.com", "company": "Globex"}, UPDATE)
    assert replaced.company == "Globex"
    assert planned_companies([filled, replaced]) == {"Globex"}


# --- written to the database ------------------------------------------------------------------


def _job() -> ImportJob:
    return ImportJob.objects.create(file_name="list.csv", kind=ImportKind.CONTACTS)


def _run(frame: pl.DataFrame, policy: str, job: ImportJob):
    """The stage as kinds/contacts.py runs it: match, plan, companies, apply."""
    result = match_contacts(frame, policy=policy, lookup=db_lookup.DatabaseLookup())
    changes = plan_changes(result.matched, result.existing, policy)
    company_ids, _ = ensure_companies(planned_companies(changes))
    counts = apply_changes(changes, job_id=job.pk, file_name=job.file_name, company_ids=company_ids)
    return result, changes, counts


@pytest.mark.django_db
def test_merge_writes_contacts_changes_and_activities():
    acme = CompanyFactory(name="Acme")
    ann = ContactFactory(
        email="ann@x.com", first_name="Ann", last_name="", job_title="Engineer", company=acme
    )
    bo = ContactFactory(email=None, first_name="Bo", last_name="Ek", company=acme, phone="")
    cy = ContactFactory(email="cy@x.com", first_name="Cy", last_name="Ray", phone="+12025550101")
    job = _job()
    frame = rows(
        {"email": "ann@x.com", "last_name": "Lee", "first_name": "Annie", "company": "Globex"},
        {"first_name": "Bo", "last_name": "Ek", "company": "ACME", "phone": "202-555-0177"},
        {"first_name": "Cyrus", "phone": "(202) 555-0101", "attr.tier": "gold"},
        {"email": "new@x.com", "first_name": "Di"},
    )
    result, changes, counts = _run(frame, MERGE, job)
    assert counts == (0, 3)
    assert result.new["email"].to_list() == ["new@x.com"]
    ann.refresh_from_db()
    assert (ann.first_name, ann.last_name, ann.company_id) == ("Ann", "Lee", acme.pk)
    bo.refresh_from_db()
    assert bo.phone == "+12025550177"
    cy.refresh_from_db()
    assert (cy.first_name, cy.attributes) == ("Cy", {"tier": "gold"})
    recorded = {c.contact_id: c for c in ImportChange.objects.filter(job=job)}
    assert set(recorded) == {ann.pk, bo.pk, cy.pk}
    assert recorded[ann.pk].action == ImportChangeAction.MERGED
    assert recorded[ann.pk].line == 2
    assert recorded[ann.pk].previous == {"last_name": ""}
    assert recorded[ann.pk].written == {"last_name": "Lee"}
    assert recorded[cy.pk].previous == {"attributes": {}}
    activities = Activity.objects.filter(kind=ActivityKind.MERGED)
    assert sorted(a.contact_id for a in activities) == sorted([ann.pk, bo.pk, cy.pk])
    assert activities.get(contact=bo).data["fields"] == ["phone"]


@pytest.mark.django_db
def test_update_replaces_values_and_what_is_recorded_restores_the_contact():
    acme = CompanyFactory(name="Acme")
    ann = ContactFactory(
        email="ann@x.com",
        first_name="Ann",
        job_title="Engineer",
        company=acme,
        attributes={"shoe": "38"},
    )
    before = Contact.objects.values().get(pk=ann.pk)
    job = _job()
    frame = rows(
        {
            "email": "ann.lee@y.com",
            "external_id": "E9",
            "first_name": "Annie",
            "job_title": "",
            "company": "Globex",
            "attr.shoe": "39",
        },
    )
    # Matched by external id? Not yet: give the contact the id first.
    Contact.objects.filter(pk=ann.pk).update(external_id="E9")
    before["external_id"] = "E9"
    _, changes, counts = _run(frame, UPDATE, job)
    assert counts == (1, 0)
    ann.refresh_from_db()
    assert (ann.email, ann.other_emails) == ("ann.lee@y.com", ["ann@x.com"])
    assert (ann.first_name, ann.job_title, ann.company.name) == ("Annie", "Engineer", "Globex")
    assert ann.attributes == {"shoe": "39"}
    change = ImportChange.objects.get(job=job)
    assert change.action == ImportChangeAction.UPDATED
    assert change.written["company_id"] == ann.company_id
    assert Activity.objects.get(contact=ann, kind=ActivityKind.UPDATED).data["import_job"] == job.pk
    # Undo is "put back `previous`": it gives the contact exactly as it was.
    Contact.objects.filter(pk=ann.pk).update(**change.previous)
    after_undo = Contact.objects.values().get(pk=ann.pk)
    for name in ("email", "other_emails", "first_name", "company_id", "attributes"):
        assert after_undo[name] == before[name], name


@pytest.mark.django_db
def test_skip_leaves_matched_contacts_alone():
    ann = ContactFactory(email="ann@x.com", first_name="Ann", last_name="")
    job = _job()
    result, changes, counts = _run(rows({"email": "ann@x.com", "last_name": "Lee"}), SKIP, job)
    assert result.matched[LINE].to_list() == [2]
    assert changes == [] and counts == (0, 0)
    ann.refresh_from_db()
    assert ann.last_name == ""
    assert not ImportChange.objects.exists()


ANN_LEE = {"first_name": "Ann", "last_name": "Lee"}


@pytest.mark.django_db
def test_a_postal_list_without_email_or_phone_is_matched_and_merged():
    ann = ContactFactory(
        email=None, first_name="Ann", last_name="Lee", attributes={"postcode": "SW1A 1AA"}
    )
    job = _job()
    frame = rows(
        {**ANN_LEE, "attr.postcode": "SW1A 1AA", "attr.city": "London"},
        {**ANN_LEE, "attr.postcode": "M1 1AE"},
    )
    result, _, counts = _run(frame, MERGE, job)
    assert counts == (0, 1)
    assert result.new["attr.postcode"].to_list() == ["M1 1AE"]
    ann.refresh_from_db()
    assert ann.attributes == {"postcode": "SW1A 1AA", "city": "London"}


@pytest.mark.django_db
def test_a_row_matching_a_contact_an_earlier_chunk_created_is_an_in_file_duplicate():
    job = _job()
    earlier = ContactFactory(email="ann@x.com", last_name="", source_import_id=job.pk)
    frame = rows({"email": "ann@x.com", "last_name": "Lee"})
    result = match_contacts(frame, policy=MERGE, lookup=db_lookup.DatabaseLookup(), job_id=job.pk)
    assert (result.same_import, result.skipped_in_file) == (1, 1)
    changes = plan_changes(result.matched, result.existing, MERGE)
    counts = apply_changes(changes, job_id=job.pk, file_name="list.csv", company_ids={})
    assert counts == (0, 0)
    earlier.refresh_from_db()
    assert earlier.last_name == "Lee"  # filled, as an in-file duplicate would have
    assert not ImportChange.objects.exists()
    assert not Activity.objects.filter(kind=ActivityKind.MERGED).exists()
    other_job = match_contacts(frame, policy=MERGE, lookup=db_lookup.DatabaseLookup(), job_id=0)
    assert (other_job.same_import, other_job.skipped_in_file) == (0, 0)


@pytest.mark.django_db
def test_lists_of_an_old_system_merge_by_their_own_dates(write_list, run_import):
    # The contact's last change is the one its list gives, not the day it was imported:
    # otherwise a list dated 2025 could never win a merge over one dated 2024.
    header = "Email,First Name,Job Title,Last Modified\n"
    run_import(write_list(header + "ann@x.com,Alice,Engineer,2024-01-01\n"))
    ann = Contact.objects.get()
    assert ann.updated_at == datetime(2024, 1, 1, tzinfo=UTC)

    newer = run_import(
        write_list(header + "ann@x.com,Alicia,CTO,2025-06-01 09:30\n"), "--on-duplicate", "merge"
    )
    assert newer["merged"] == 1
    ann.refresh_from_db()
    assert (ann.first_name, ann.job_title) == ("Alicia", "CTO")
    assert ann.updated_at == datetime(2025, 6, 1, 9, 30, tzinfo=UTC)

    older = run_import(
        write_list(header + "ann@x.com,Ann,VP,2024-06-01\n"), "--on-duplicate", "merge"
    )
    assert older["merged"] == 0  # nothing empty to fill, and older than what it holds
    ann.refresh_from_db()
    assert (ann.first_name, ann.updated_at) == ("Alicia", datetime(2025, 6, 1, 9, 30, tzinfo=UTC))


@pytest.mark.django_db
def test_a_row_without_a_date_or_from_the_future_is_as_of_the_import(write_list, run_import):
    before = timezone.now()
    run_import(write_list("Email,Updated\nann@x.com,2999-01-01\nbo@x.com,\n"))
    for contact in Contact.objects.all():
        assert before <= contact.updated_at <= timezone.now()
    run_import(
        write_list("Email,Phone,Updated\nbo@x.com,202-555-0101,\n"), "--on-duplicate", "merge"
    )
    assert Contact.objects.get(email="bo@x.com").updated_at >= before
