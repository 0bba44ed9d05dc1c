"""Matching on import: in the file and against the contacts, by email, external id, phone
and name with company or address; ambiguous matches refused."""

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from leadflow.acquisition.models import DuplicatePolicy
from leadflow.acquisition.pipeline import lookup as db_lookup
from leadflow.acquisition.pipeline.flags import (
    DISPOSABLE_WARNING,
    EMAIL_IS_DISPOSABLE,
    EMAIL_IS_ROLE,
    ROLE_WARNING,
    flag_emails,
    flag_warnings,
)
from leadflow.acquisition.pipeline.mapping import apply_mapping
from leadflow.acquisition.pipeline.match import (
    CANDIDATE_SCHEMA,
    FILE_NAME_AMBIGUOUS,
    FILE_PHONE_AMBIGUOUS,
    MATCH_ID,
    MATCHED_BY,
    NAME_AMBIGUOUS,
    NAME_TOO_COMMON,
    OTHER_EMAILS,
    PHONE_AMBIGUOUS,
    candidate_keys,
    collapse_in_file_duplicates,
    match_bare_names,
    match_by_phone,
    match_contacts,
    match_fuzzy,
)
from leadflow.acquisition.pipeline.normalise import normalise_contacts
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.validate import split_rejects, validate_contacts
from leadflow.contacts.tests.factories import CompanyFactory, ContactFactory
from leadflow.contacts.tests.test_email_flags import CASES

SKIP, MERGE = DuplicatePolicy.SKIP, DuplicatePolicy.MERGE


def rows(*records: dict) -> pl.DataFrame:
    """File rows as the pipeline has them after mapping, normalising and validating."""
    columns = sorted({key for record in records for key in record})
    data = {c: [r.get(c) for r in records] for c in columns}
    height = len(records)
    base = {LINE: list(range(2, height + 2)), FIELD_COUNT: [len(columns)] * height}
    frame = pl.DataFrame(
        {**base, **data},
        schema_overrides={FIELD_COUNT: pl.Int32, **dict.fromkeys(columns, pl.String)},
    )
    frame = apply_mapping(frame, {c: c for c in columns})
    frame = normalise_contacts(frame, region="US")
    frame = validate_contacts(frame, header_width=len(columns), allow_no_email=True)
    usable, rejected = split_rejects(frame)
    assert rejected.is_empty(), rejected
    return usable


def contacts(*records: dict) -> pl.DataFrame:
    """Existing contacts as lookup returns them (CANDIDATE_SCHEMA)."""
    defaults = {
        "attributes": "{}",
        "other_emails": "[]",
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        "email_is_role": False,
        "email_is_disposable": False,
    }
    full = []
    for record in records:
        record = {**defaults, **record}
        if isinstance(record["attributes"], dict):
            record["attributes"] = json.dumps(record["attributes"])
        full.append({c: record.get(c) for c in CANDIDATE_SCHEMA})
    return pl.DataFrame(full, schema=CANDIDATE_SCHEMA)


class FrameLookup:
    """match.Lookup over a frame of contacts, as the database lookup would answer."""

    def __init__(self, table: pl.DataFrame):
        self.table = table
        self.calls: list[str] = []

    def by_keys(self, *, emails, external_ids):
        self.calls.append("keys")
        return self.table.filter(
            pl.col("email").is_in(emails) | pl.col("external_id").is_in(external_ids)
        )

    def by_phones(self, phones, *, without_email=False):
        self.calls.append("phones")
        table = self.table.filter(pl.col("email").is_null()) if without_email else self.table
        return table.filter(pl.col("phone").is_in(phones))

    def by_names(self, names, *, without_email=False):
        self.calls.append("names")
        table = self.table.filter(pl.col("email").is_null()) if without_email else self.table
        keys = candidate_keys(table).select("id", "_last", "_initial")
        inside = keys.join(
            names.select("_last", "_initial"), on=["_last", "_initial"], nulls_equal=True
        )
        return self.table.join(inside.select("id"), on="id", how="semi")


def _matches(frame: pl.DataFrame) -> dict[int, int | None]:
    return dict(zip(frame[LINE], frame[MATCH_ID], strict=True))


# --- phone ----------------------------------------------------------------------------------


def test_a_phone_one_contact_has_matches_it():
    table = contacts({"id": 1, "email": "ann@x.com", "phone": "+12025550101"})
    frame = rows({"first_name": "Ann", "phone": "(202) 555-0101"})
    step = match_by_phone(frame, FrameLookup(table).by_phones)
    assert step.frame[MATCH_ID].to_list() == [1]
    assert step.frame[MATCHED_BY].to_list() == ["phone"]
    assert step.candidates["id"].to_list() == [1]
    assert step.warnings == {}


def test_a_phone_several_contacts_share_matches_none_and_is_counted():
    table = contacts(
        {"id": 1, "email": "ann@x.com", "phone": "+12025550101"},
        {"id": 2, "email": "bob@x.com", "phone": "+12025550101"},
    )
    frame = rows({"first_name": "Cy", "phone": "202-555-0101"})
    step = match_by_phone(frame, FrameLookup(table).by_phones)
    assert step.frame[MATCH_ID].to_list() == [None]
    assert step.warnings == {PHONE_AMBIGUOUS: 1}


def test_a_phone_does_not_match_a_contact_with_another_email():
    table = contacts({"id": 1, "email": "ann@x.com", "phone": "+12025550101"})
    frame = rows({"email": "bob@x.com", "phone": "202-555-0101"})
    step = match_by_phone(frame, FrameLookup(table).by_phones)
    assert step.frame[MATCH_ID].to_list() == [None]


def test_a_family_line_matches_the_contact_whose_name_fits():
    table = contacts(
        {
            "id": 1,
            "email": None,
            "first_name": "John",
            "last_name": "Smith",
            "phone": "+12025550101",
        },
        {
            "id": 2,
            "email": None,
            "first_name": "Jane",
            "last_name": "Smith",
            "phone": "+12025550101",
        },
    )
    frame = rows(
        {"first_name": "John", "last_name": "Smith", "phone": "202-555-0101"},
        {"first_name": "Jane", "last_name": "SMITH", "phone": "202-555-0101"},
        {"first_name": "Jo", "last_name": "Smith", "phone": "202-555-0101"},  # John's start
        {"first_name": "J.", "last_name": "Smith", "phone": "202-555-0101"},  # fits both
        {"first_name": "Al", "last_name": "Ray", "phone": "202-555-0101"},  # fits neither
        {"first_name": "Mary", "last_name": "Smith", "phone": "202-555-0101"},  # neither
    )
    step = match_by_phone(frame, FrameLookup(table).by_phones)
    assert step.frame[MATCH_ID].to_list() == [1, 2, 1, None, None, None]
    assert step.warnings == {PHONE_AMBIGUOUS: 1}


def test_a_switchboard_matches_no_one_even_when_one_name_fits(monkeypatch):
    from leadflow.acquisition.pipeline import match

    monkeypatch.setattr(match, "MAX_SHARED_PHONE", 2)
    table = contacts(
        *({"id": i, "email": None, "first_name": name, "last_name": "Ek", "phone": "+12025550101"}
          for i, name in enumerate(["Ann", "Bo", "Cy"], start=1))
    )  # fmt: skip
    step = match_by_phone(
        rows({"first_name": "Ann", "last_name": "Ek", "phone": "202-555-0101"}),
        FrameLookup(table).by_phones,
    )
    assert step.frame[MATCH_ID].to_list() == [None]
    assert step.warnings == {PHONE_AMBIGUOUS: 1}


# --- name with company or address --------------------------------------------------------


ACME_ANN = {"id": 1, "email": None, "first_name": "Ann", "last_name": "Lee", "company_name": "Acme"}


@pytest.mark.parametrize(
    "row",
    [
        {"first_name": "Ann", "last_name": "Lee", "company": "ACME Inc."},
        {"first_name": "Anne", "last_name": "LEE", "company": "Acme"},
        {"first_name": "ann", "last_name": "lee", "company": "Acme Corporation"},
    ],
)
def test_a_close_name_at_the_same_company_matches(row):
    step = match_fuzzy(rows(row), FrameLookup(contacts(ACME_ANN)).by_names)
    assert step.frame[MATCH_ID].to_list() == [1]
    assert step.frame[MATCHED_BY].to_list() == ["name"]


@pytest.mark.parametrize(
    "row",
    [
        {"first_name": "Ann", "last_name": "Lee", "company": "Globex"},  # other company
        {"first_name": "Dan", "last_name": "Lee", "company": "Acme"},  # other first name
        {"first_name": "Anabel", "last_name": "Lee", "company": "Acme"},  # not close enough
        {"first_name": "Ann", "last_name": "Lee"},  # nothing places the name
        {"first_name": "Ann", "last_name": "Lees", "company": "Acme"},  # another last name
    ],
)
def test_a_name_alone_or_at_another_company_does_not_match(row):
    step = match_fuzzy(rows(row), FrameLookup(contacts(ACME_ANN)).by_names)
    assert step.frame[MATCH_ID].to_list() == [None]


def test_different_emails_are_two_people_even_with_the_same_name_and_company():
    table = contacts({**ACME_ANN, "email": "ann.lee@acme.com"})
    frame = rows(
        {"email": "ann@globex.com", "first_name": "Ann", "last_name": "Lee", "company": "Acme"},
        {"first_name": "Ann", "last_name": "Lee", "company": "Acme"},  # no email: matches
    )
    step = match_fuzzy(frame, FrameLookup(table).by_names)
    assert step.frame[MATCH_ID].to_list() == [None, 1]


def test_a_name_that_fits_two_contacts_matches_neither():
    table = contacts(ACME_ANN, {**ACME_ANN, "id": 2})
    step = match_fuzzy(
        rows({"first_name": "Ann", "last_name": "Lee", "company": "Acme"}),
        FrameLookup(table).by_names,
    )
    assert step.frame[MATCH_ID].to_list() == [None]
    assert step.warnings == {NAME_AMBIGUOUS: 1}


def test_a_crowded_name_block_is_not_searched(monkeypatch):
    from leadflow.acquisition.pipeline import match

    monkeypatch.setattr(match, "MAX_NAME_BLOCK", 2)
    table = contacts(*[{**ACME_ANN, "id": i, "company_name": f"Firm {i}"} for i in (1, 2, 3)])
    step = match_fuzzy(
        rows({"first_name": "Ann", "last_name": "Lee", "company": "Firm 1"}),
        FrameLookup(table).by_names,
    )
    assert step.frame[MATCH_ID].to_list() == [None]
    assert step.warnings == {NAME_TOO_COMMON: 1}


def test_a_postal_list_without_email_or_phone_matches_by_name_and_address():
    table = contacts(
        {
            "id": 7,
            "email": "ann@x.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "attributes": {"postcode": "SW1A 1AA", "city": "London"},
        },
        {
            "id": 8,
            "email": None,
            "first_name": "Ann",
            "last_name": "Lee",
            "attributes": {"postcode": "EH1 1AA", "city": "Edinburgh"},
        },
    )
    frame = rows(
        {"first_name": "Ann", "last_name": "Lee", "attr.zip": "sw1a1aa", "attr.city": "London"},
        {"first_name": "Ann", "last_name": "Lee", "attr.zip": "EH1 1AA", "attr.city": "Leith"},
        {"first_name": "Ann", "last_name": "Lee", "attr.zip": "AB1 2CD"},
    )
    step = match_fuzzy(frame, FrameLookup(table).by_names)
    # Same postcode: matched; same postcode but another city: a disagreement; another
    # postcode: a new contact.
    assert step.frame[MATCH_ID].to_list() == [7, None, None]


def test_fuzzy_matching_only_looks_at_rows_left_unmatched():
    table = contacts(ACME_ANN)
    frame = rows({"first_name": "Ann", "last_name": "Lee", "company": "Acme"}).with_columns(
        pl.lit(5, dtype=pl.Int64).alias(MATCH_ID), pl.lit("email").alias(MATCHED_BY)
    )
    lookup = FrameLookup(table)
    step = match_fuzzy(frame, lookup.by_names)
    assert step.frame[MATCH_ID].to_list() == [5]
    assert lookup.calls == []


# --- a bare name -------------------------------------------------------------------------------

BARE_JOHN = {"id": 1, "email": None, "first_name": "John", "last_name": "Smith"}


@pytest.mark.parametrize(
    ("row", "table", "expected"),
    [
        ({}, [BARE_JOHN], 1),
        ({"first_name": "JOHN", "last_name": "smith"}, [BARE_JOHN], 1),
        ({"attr.city": "Leeds"}, [{**BARE_JOHN, "attributes": {"city": "leeds"}}], 1),
        ({"country": "GB"}, [BARE_JOHN], 1),  # the contact's country is not known: no clash
        ({"first_name": "Jon"}, [BARE_JOHN], None),  # a bare name must be the same name
        ({"attr.city": "Leeds"}, [{**BARE_JOHN, "attributes": {"city": "York"}}], None),
        ({"country": "GB"}, [{**BARE_JOHN, "country": "US"}], None),
        ({}, [{**BARE_JOHN, "company_name": "Acme"}], None),  # the contact is placed
        ({}, [{**BARE_JOHN, "phone": "+12025550101"}], None),
        ({}, [{**BARE_JOHN, "email": "john@x.com"}], None),
        ({"external_id": "P1"}, [BARE_JOHN], None),  # a record of its own
    ],
)
def test_a_bare_name_matches_only_a_contact_just_as_bare(row, table, expected):
    frame = rows({"first_name": "John", "last_name": "Smith", **row})
    step = match_bare_names(frame, FrameLookup(contacts(*table)).by_names)
    assert step.frame[MATCH_ID].to_list() == [expected]


def test_a_bare_name_two_contacts_have_matches_neither():
    table = contacts(BARE_JOHN, {**BARE_JOHN, "id": 2})
    step = match_bare_names(
        rows({"first_name": "John", "last_name": "Smith"}), FrameLookup(table).by_names
    )
    assert step.frame[MATCH_ID].to_list() == [None]
    assert step.warnings == {NAME_AMBIGUOUS: 1}


def test_in_the_file_a_repeated_bare_name_is_one_row():
    frame = rows(
        {"first_name": "John", "last_name": "Smith", "attr.city": "Leeds"},
        {"first_name": "JOHN", "last_name": "SMITH", "attr.city": "leeds", "job_title": "CTO"},
        {"first_name": "John", "last_name": "Smith", "attr.city": "York"},  # another town
        {"first_name": "John", "last_name": "Smith", "external_id": "P9"},  # its own record
        {"first_name": "John", "last_name": "Smith", "attr.city": "Leeds", "phone": "202-555-0101"},
    )
    out = collapse_in_file_duplicates(frame, MERGE)
    assert out.skipped == 1
    assert out.frame[LINE].to_list() == [2, 4, 5, 6]
    assert out.frame["job_title"].to_list() == ["CTO", None, None, None]


def test_in_the_file_the_row_with_the_email_names_the_person():
    frame = rows(
        {"first_name": "Ann", "last_name": "Lee", "phone": "202-555-0101", "job_title": "CTO"},
        {
            "email": "annie@x.com",
            "first_name": "Annie",
            "last_name": "Lee",
            "phone": "202-555-0101",
        },
    )
    out = collapse_in_file_duplicates(frame, MERGE)
    assert out.skipped == 1
    row = out.frame.row(0, named=True)
    assert (row["email"], row["first_name"], row["job_title"]) == ("annie@x.com", "Annie", "CTO")
    assert row[LINE] == 3


def test_a_row_without_email_that_is_a_known_contact_does_not_join_another_row():
    table = contacts(
        {"id": 1, "email": "ann@y.com", "first_name": "Ann", "last_name": "Lee",
         "phone": "+12025550101"},
    )  # fmt: skip
    frame = rows(
        {"first_name": "Ann", "last_name": "Lee", "phone": "202-555-0101"},
        {
            "email": "annie@x.com",
            "first_name": "Annie",
            "last_name": "Lee",
            "phone": "202-555-0101",
        },
    )
    result = match_contacts(frame, policy=MERGE, lookup=FrameLookup(table))
    assert _matches(result.matched) == {2: 1}
    assert result.matched[MATCHED_BY].to_list() == ["phone"]
    new = result.new.row(0, named=True)
    assert (new[LINE], new["email"], new["first_name"]) == (3, "annie@x.com", "Annie")
    assert result.skipped_in_file == 0


# --- in the file ------------------------------------------------------------------------------


def test_in_the_file_rows_without_email_join_the_row_with_their_phone():
    frame = rows(
        {"email": "ann@x.com", "first_name": "Ann", "phone": "202-555-0101"},
        {"first_name": "Ann", "last_name": "Lee", "phone": "(202) 555-0101"},
        {"email": "bob@x.com", "phone": "202-555-0199"},
    )
    out = collapse_in_file_duplicates(frame, MERGE)
    assert out.skipped == 1
    assert out.frame["email"].to_list() == ["ann@x.com", "bob@x.com"]
    assert out.frame["last_name"].to_list() == ["Lee", None]  # filled from the later row


def test_in_the_file_a_phone_shared_by_two_emails_joins_neither():
    frame = rows(
        {"email": "ann@x.com", "phone": "202-555-0101"},
        {"email": "bob@x.com", "phone": "202-555-0101"},
        {"first_name": "Cy", "last_name": "Ray", "phone": "202-555-0101"},
    )
    out = collapse_in_file_duplicates(frame, MERGE)
    assert out.skipped == 0
    assert out.warnings == {FILE_PHONE_AMBIGUOUS: 1}


def test_in_the_file_names_at_one_company_fold_into_one_row():
    frame = rows(
        {"first_name": "Ann", "last_name": "Lee", "company": "Acme"},
        {"first_name": "Anne", "last_name": "Lee", "company": "Acme Ltd", "job_title": "CTO"},
        {"first_name": "Ann", "last_name": "Lee", "company": "Globex"},
        {"email": "a1@x.com", "first_name": "Bo", "last_name": "Ek", "company": "Initech"},
        {"email": "a2@x.com", "first_name": "Bo", "last_name": "Ek", "company": "Initech"},
        {"first_name": "Bo", "last_name": "Ek", "company": "Initech"},
    )
    out = collapse_in_file_duplicates(frame, MERGE)
    assert out.frame[LINE].to_list() == [2, 4, 5, 6, 7]
    assert out.frame["job_title"].to_list() == ["CTO", None, None, None, None]
    # Two emails with the same name: two people, and the row without email joins neither.
    assert out.warnings == {FILE_NAME_AMBIGUOUS: 1}


def test_rows_with_the_same_email_or_external_id_fold_and_keep_every_value():
    frame = rows(
        {"email": "ann@x.com", "external_id": "E1"},
        {"email": "ann@x.com", "first_name": "Ann", "attr.shoe": "38"},
        {"email": "ann.lee@x.com", "external_id": "E1", "last_name": "Lee"},
    )
    merged = collapse_in_file_duplicates(frame, MERGE)
    assert merged.skipped == 2
    row = merged.frame.row(0, named=True)
    assert (row["email"], row["first_name"], row["last_name"]) == ("ann@x.com", "Ann", "Lee")
    assert row["attr.shoe"] == "38"
    assert row[OTHER_EMAILS] == ["ann.lee@x.com"]
    skipped = collapse_in_file_duplicates(frame, SKIP)
    assert skipped.skipped == 2
    assert skipped.frame.row(0, named=True)["first_name"] is None  # skip: first row as it was


def test_match_contacts_runs_every_step_and_folds_two_routes_to_one_contact():
    table = contacts(
        {"id": 1, "email": "ann@x.com", "phone": "+12025550101", "first_name": "Ann"},
        {"id": 2, "email": None, "first_name": "Bo", "last_name": "Ek", "company_name": "Initech"},
        {"id": 3, "email": "cy@x.com", "external_id": "E3"},
    )
    frame = rows(
        {"email": "ann@x.com", "first_name": "Ann"},
        {"last_name": "Lee", "phone": "202-555-0101"},  # phone: contact 1, like row 1
        {"first_name": "Bo", "last_name": "Ek", "company": "Initech"},
        {"email": "cy.new@x.com", "external_id": "E3"},
        {"email": "new@x.com"},
    )
    lookup = FrameLookup(table)
    result = match_contacts(frame, policy=MERGE, lookup=lookup)
    assert _matches(result.matched) == {2: 1, 4: 2, 5: 3}
    assert result.matched.filter(pl.col(LINE) == 2)["last_name"].to_list() == ["Lee"]
    assert result.new[LINE].to_list() == [6]
    assert result.skipped_in_file == 1
    assert sorted(result.existing["id"].to_list()) == [1, 2, 3]
    assert lookup.calls == ["phones", "names", "keys"]  # rows without email first


# --- the database lookup ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_lookup_finds_contacts_by_phone_and_name_block():
    acme = CompanyFactory(name="Acme")
    ann = ContactFactory(email=None, first_name="Ann", last_name="Lee", company=acme)
    ContactFactory(first_name="Bob", last_name="Lee")  # another initial: another block
    dan = ContactFactory(phone="+12025550101", attributes={"postcode": "X1"})
    by_phone = db_lookup.by_phones(["+12025550101"])
    assert by_phone["id"].to_list() == [dan.pk]
    assert db_lookup.by_phones(["+12025550101"], without_email=True).is_empty()
    assert json.loads(by_phone["attributes"][0]) == {"postcode": "X1"}
    frame = rows({"first_name": "ANN", "last_name": "LEE", "company": "Acme"})
    step = match_fuzzy(frame, db_lookup.by_names)
    assert step.frame[MATCH_ID].to_list() == [ann.pk]
    assert step.candidates["company_name"].to_list() == ["Acme"]


@pytest.mark.django_db
@pytest.mark.parametrize("at_once", [0, 10_000])
def test_the_database_lookup_by_phone_without_email_reads_few_contacts_at_once(
    monkeypatch, at_once
):
    # At 0, every ask is "many phones": no contact without an email answers at once, and
    # fewer such contacts than phones are read all together, then picked by phone; at
    # 10,000, each phone is asked for. Both must find the same contacts.
    monkeypatch.setattr(db_lookup, "LOOKUP_AT_ONCE", at_once)
    ContactFactory(phone="+12025550101")  # has an email: never a match for this ask
    phones = ["+12025550101", "+12025550102", "+12025550103"]
    assert db_lookup.by_phones(phones, without_email=True).is_empty()

    ann = ContactFactory(email=None, phone="+12025550102")
    ContactFactory(email=None, phone="+12025550199")  # emailless, but not a phone asked for
    ContactFactory(email=None, phone="")
    found = db_lookup.by_phones(phones, without_email=True)
    assert found.select("id", "phone").rows() == [(ann.pk, "+12025550102")]

    bo = ContactFactory(email=None, phone="+12025550103")
    ContactFactory(email=None, phone="+12025550198")  # now more without email than phones
    found = db_lookup.by_phones(phones, without_email=True)
    assert sorted(found["id"].to_list()) == [ann.pk, bo.pk]


@pytest.mark.django_db
def test_the_database_lookup_finds_values_with_quotes_commas_and_backslashes():
    # On PostgreSQL the values go as one array literal (lookup.text_array): its quoting
    # must bring every one of them back as written.
    awkward = ['a"b', "c,d", "{e}", "NULL", "f\\g", 'h\\"i', " j ", "o'k", "é"]
    contacts = {value: ContactFactory(external_id=value) for value in awkward}
    found = db_lookup.by_keys(emails=[], external_ids=[*awkward, "nobody"])
    assert dict(found.select("external_id", "id").iter_rows()) == {
        value: contact.pk for value, contact in contacts.items()
    }


@pytest.mark.django_db
def test_the_database_lookup_reads_every_candidate_column():
    acme = CompanyFactory(name="Acme")
    ann = ContactFactory(
        email="ann@x.com",
        external_id="E1",
        company=acme,
        other_emails=["a@y.com"],
        attributes={"shoe": "38"},
        email_is_role=True,
    )
    bo = ContactFactory(email="bo@x.com", external_id="E2")
    found = db_lookup.by_keys(emails=["ann@x.com", "nobody@x.com"], external_ids=["E2", "E1"])
    assert found.schema == pl.Schema(CANDIDATE_SCHEMA)
    assert sorted(found["id"].to_list()) == sorted([ann.pk, bo.pk])
    row = found.filter(pl.col("id") == ann.pk).row(0, named=True)
    assert (row["company_name"], row["email_is_role"], row["email_is_disposable"]) == (
        "Acme",
        True,
        False,
    )
    assert json.loads(row["other_emails"]) == ["a@y.com"]
    assert json.loads(row["attributes"]) == {"shoe": "38"}
    assert row["updated_at"].tzinfo is not None


@pytest.mark.django_db
def test_the_database_name_lookup_can_ask_only_for_contacts_without_email():
    with_email = ContactFactory(email="ann@x.com", first_name="Ann", last_name="Lee")
    without = ContactFactory(email=None, first_name="Ann", last_name="LEE")
    names = pl.DataFrame({"last_name": ["Lee"], "_last": ["lee"], "_initial": ["a"]})
    assert sorted(db_lookup.by_names(names)["id"].to_list()) == sorted([with_email.pk, without.pk])
    assert db_lookup.by_names(names, without_email=True)["id"].to_list() == [without.pk]
    assert db_lookup.by_names(names, cap=0)["id"].to_list() == [min(with_email.pk, without.pk)]


# --- email flags for a whole frame ------------------------------------------------------------


def test_the_frame_version_agrees_with_the_single_value_one():
    addresses = [address.lower() for address, _, _ in CASES]
    flagged = flag_emails(pl.DataFrame({"email": [*addresses, None]}))
    expected_role = [role for _, role, _ in CASES] + [False]
    expected_disposable = [disposable for _, _, disposable in CASES] + [False]
    assert flagged[EMAIL_IS_ROLE].to_list() == expected_role
    assert flagged[EMAIL_IS_DISPOSABLE].to_list() == expected_disposable


def test_warnings_count_flagged_rows_and_leave_out_zeros():
    flagged = flag_emails(
        pl.DataFrame({"email": ["info@a.com", "sales@b.com", "ann@mailinator.com", "bo@c.com"]})
    )
    assert flag_warnings(flagged) == {ROLE_WARNING: 2, DISPOSABLE_WARNING: 1}
    assert flag_warnings(flag_emails(pl.DataFrame({"email": ["bo@c.com"]}))) == {}
