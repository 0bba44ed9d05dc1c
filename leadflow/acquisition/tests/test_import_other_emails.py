"""An address among a contact's other emails (one `leadflow dedupe` merged away, or an
in-file duplicate's) finds that contact: imports do not make it a person again."""

import json

import polars as pl
import pytest
from django.apps import apps
from django.db import connection

from leadflow.acquisition.models import ImportChange
from leadflow.acquisition.pipeline import lookup
from leadflow.acquisition.pipeline.match import (
    CANDIDATE_SCHEMA,
    MATCH_ID,
    MATCHED_BY,
    match_existing,
)
from leadflow.contacts.merge import merge_contacts
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.tests.factories import ContactFactory

# Through the app registry: acquisition sits below sales (import-linter's layers).
Deal = apps.get_model("sales", "Deal")
pytestmark = pytest.mark.django_db

KATE = "kate.jones@x.com"
KATHERINE = "katherine.jones@x.com"
LIST = f"Email,First Name,Last Name\n{KATE},Kate,Jones\n{KATHERINE},Katherine,Jones\n"


def merged_kate(**fields) -> Contact:
    """Kate, into whom Katherine was merged: KATHERINE is among her other emails."""
    kate = ContactFactory(email=KATE, first_name="Kate", last_name="Jones", **fields)
    katherine = ContactFactory(email=KATHERINE, first_name="Katherine", last_name="Jones")
    merge_contacts(survivor=kate, duplicate=katherine)
    kate.refresh_from_db()
    assert (kate.email, kate.other_emails) == (KATE, [KATHERINE])
    return kate


def test_a_list_imported_again_after_a_merge_adds_nobody(write_list, run_import):
    first = run_import(write_list(LIST))
    assert first["created"] == 2
    kate = Contact.objects.get(email=KATE)
    merge_contacts(survivor=kate, duplicate=Contact.objects.get(email=KATHERINE))

    for _ in range(2):  # every later import of the list, not only the next one
        again = run_import(write_list(LIST))
        assert again["created"] == 0
        # Both rows are Kate: the second folds into the first, Kate is left as she is.
        assert (again["skipped_in_database"], again["skipped_in_file"]) == (1, 1)
        assert list(Contact.objects.values_list("id", flat=True)) == [kate.pk]

    alone = run_import(write_list(f"Email,First Name\n{KATHERINE},Katherine\n"))
    assert (alone["created"], alone["skipped_in_database"]) == (0, 1)
    kate.refresh_from_db()
    assert (kate.email, kate.other_emails, kate.first_name) == (KATE, [KATHERINE], "Kate")


def test_merge_fills_fields_but_keeps_the_email_where_it_is(write_list, run_import):
    kate = merged_kate(job_title="")
    text = f"Email,Job Title\n{KATHERINE},CTO\n"
    report = run_import(write_list(text), "--on-duplicate", "merge")
    assert (report["created"], report["merged"]) == (0, 1)
    kate.refresh_from_db()
    assert (kate.email, kate.other_emails, kate.job_title) == (KATE, [KATHERINE], "CTO")

    # Nothing else to fill: a match that changes nothing.
    report = run_import(write_list(text), "--on-duplicate", "merge")
    assert (report["merged"], report["skipped_in_database"]) == (0, 1)


def test_update_makes_the_address_the_email_and_keeps_the_old_one(write_list, run_import):
    kate = merged_kate()
    report = run_import(write_list(f"Email\n{KATHERINE}\n"), "--on-duplicate", "update")
    assert (report["created"], report["updated"]) == (0, 1)
    kate.refresh_from_db()
    assert (kate.email, kate.other_emails) == (KATHERINE, [KATE])
    change = ImportChange.objects.get(job_id=report["job_id"])  # what undo puts back
    assert (change.previous["email"], change.previous["other_emails"]) == (KATE, [KATHERINE])
    assert (change.written["email"], change.written["other_emails"]) == (KATHERINE, [KATE])

    # The list again: the contact's own email now, nothing to change.
    report = run_import(write_list(f"Email\n{KATHERINE}\n"), "--on-duplicate", "update")
    assert (report["updated"], report["skipped_in_database"]) == (0, 1)


def test_update_of_a_role_address_sets_its_flag(write_list, run_import):
    kate = ContactFactory(email=KATE, other_emails=["info@x.com"])
    run_import(write_list("Email\ninfo@x.com\n"), "--on-duplicate", "update")
    kate.refresh_from_db()
    assert (kate.email, kate.other_emails, kate.email_is_role) == ("info@x.com", [KATE], True)


def test_both_addresses_in_one_file_fold_into_the_one_contact(write_list, run_import):
    kate = merged_kate(job_title="", phone="")
    text = f"Email,Job Title,Phone\n{KATHERINE},CTO,\n{KATE},,202-555-0101\n"
    report = run_import(write_list(text), "--on-duplicate", "merge")
    assert (report["created"], report["merged"], report["skipped_in_file"]) == (0, 1, 1)
    kate.refresh_from_db()
    assert (kate.email, kate.other_emails) == (KATE, [KATHERINE])
    assert (kate.job_title, kate.phone) == ("CTO", "+12025550101")
    assert Contact.objects.count() == 1


def test_an_address_that_is_a_contacts_email_finds_that_contact(write_list, run_import):
    ann = ContactFactory(email="ann@x.com")
    holder = ContactFactory(email="anne@x.com", other_emails=["ann@x.com"])
    report = run_import(write_list("Email,Job Title\nann@x.com,CTO\n"), "--on-duplicate", "merge")
    assert report["merged"] == 1
    ann.refresh_from_db()
    holder.refresh_from_db()
    assert (ann.job_title, holder.job_title) == ("CTO", "")


def test_an_email_of_a_contact_and_an_external_id_of_another_match_by_email(write_list, run_import):
    kate = merged_kate()
    other = ContactFactory(external_id="CRM-9")
    report = run_import(
        write_list(f"Email,External ID\n{KATHERINE},CRM-9\n"), "--on-duplicate", "merge"
    )
    assert (report["created"], report["merged"]) == (0, 1)
    kate.refresh_from_db()
    assert kate.attributes["external_id_as_entered"] == "CRM-9"
    assert (kate.external_id, Contact.objects.get(external_id="CRM-9")) == (None, other)


def test_a_deal_naming_a_merged_away_address_goes_to_the_survivor(write_list, run_kind):
    kate = merged_kate()
    text = f"Contact Email,Deal Name,Amount,Created\n{KATHERINE.upper()},Starter,100,2024-01-10\n"
    report = run_kind(write_list(text), "deals")
    assert (report["created"], report["rejected"]) == (1, 0)
    assert Deal.objects.get(name="Starter").contact == kate


def test_an_activity_naming_a_merged_away_address_goes_to_the_survivor(write_list, run_kind):
    kate = merged_kate()
    ann = ContactFactory(email="ann@x.com")
    ContactFactory(email="anne@x.com", other_emails=["ann@x.com"])
    text = (
        "Contact Email,Activity Type,Timestamp\n"
        f"{KATHERINE},call,2024-03-01 10:00\n"
        "ann@x.com,note,2024-03-02 10:00\n"
        "nobody@x.com,call,2024-03-03 10:00\n"
    )
    report = run_kind(write_list(text), "activities")
    assert (report["created"], report["rejected"]) == (2, 1)
    assert report["rejected_by_reason"] == {"no contact with this email/external id": 1}
    assert kate.activities.filter(kind="call").count() == 1
    assert Activity.objects.get(kind="note").contact == ann  # a contact's own email first


def test_the_lookup_finds_holders_of_other_emails_the_oldest_first():
    first = ContactFactory(other_emails=["shared@x.com", "a@x.com"])
    second = ContactFactory(other_emails=["shared@x.com"])
    ContactFactory(email="b@x.com")
    owners = lookup.other_email_owners(["shared@x.com", "a@x.com", "b@x.com", "none@x.com"])
    assert dict(owners.iter_rows()) == {"shared@x.com": first.pk, "a@x.com": first.pk}

    found = lookup.by_keys(emails=["shared@x.com", "b@x.com"], external_ids=[])
    assert found.schema == pl.Schema(CANDIDATE_SCHEMA)
    assert second.pk not in found["id"].to_list()
    assert len(found) == 2


def _candidate(id: int, email: str | None, others: list[str]) -> dict:
    row = dict.fromkeys(CANDIDATE_SCHEMA)
    return {**row, "id": id, "email": email, "other_emails": json.dumps(others)}


def test_match_existing_prefers_an_email_over_other_emails_and_the_lowest_holder():
    existing = pl.DataFrame(
        [
            _candidate(1, "a@x.com", ["b@x.com"]),
            _candidate(2, "b@x.com", []),
            _candidate(3, None, ["c@x.com"]),
            _candidate(4, "d@x.com", ["c@x.com", "e@x.com"]),
        ],
        schema=CANDIDATE_SCHEMA,
    )
    rows = pl.DataFrame(
        {"email": ["a@x.com", "b@x.com", "c@x.com", "e@x.com", "f@x.com", None]},
        schema={"email": pl.String},
    ).with_columns(pl.lit(None, dtype=pl.String).alias("external_id"))
    matched = match_existing(rows, existing)
    assert matched[MATCH_ID].to_list() == [1, 2, 3, 4, None, None]
    assert matched[MATCHED_BY].to_list() == ["email"] * 4 + [None, None]


def test_the_other_emails_look_up_reads_the_index_of_merged_contacts_not_the_table():
    # The statement's condition must be the partial index's, word for word, or the database
    # scans every contact for each chunk of a list.
    ContactFactory(email="ann@x.com", other_emails=["a@y.com"])
    ContactFactory.create_batch(3)
    sql = lookup.OTHER_EMAILS_BY[connection.vendor]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is scanned anyway
            cursor.execute("EXPLAIN " + sql, [lookup.text_array(["a@y.com"])])
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, [json.dumps(["a@y.com"])])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "contact_other_emails" in plan
    assert lookup.other_email_owners(["a@y.com"])["email"].to_list() == ["a@y.com"]
