"""Each pipeline stage on a five-row frame."""

import random

import phonenumbers
import polars as pl
import pytest

from leadflow.acquisition.pipeline.mapping import (
    InvalidMapping,
    apply_mapping,
    plan_mapping,
)
from leadflow.acquisition.pipeline.match import (
    DUPLICATE_IN_FILE,
    EXISTING_SCHEMA,
    MATCH_ID,
    mark_in_file_duplicates,
    match_existing,
)
from leadflow.acquisition.pipeline.normalise import (
    COUNTRY_UNKNOWN,
    PHONE_INVALID,
    fast_e164,
    normalise_contacts,
    normalise_phones,
)
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE, detect_encoding
from leadflow.acquisition.pipeline.rejects import neutralise_formulas
from leadflow.acquisition.pipeline.validate import (
    INVALID_DATE,
    INVALID_EMAIL,
    MISSING_EMAIL,
    REASON,
    validate_contacts,
)
from leadflow.contacts.normalise import InvalidPhone, normalise_phone


def _frame(**columns: list) -> pl.DataFrame:
    height = len(next(iter(columns.values())))
    base = {LINE: list(range(2, height + 2)), FIELD_COUNT: [len(columns)] * height}
    frame = pl.DataFrame({**base, **columns}, schema_overrides={FIELD_COUNT: pl.Int32})
    plan = {c: c for c in columns}
    return apply_mapping(frame, plan)


def test_synonyms_find_the_fields_and_the_rest_become_attributes():
    headers = ["E-mail", "Phone No.", "First Name", "Surname", "Company", "Job Title", "Shoe Size"]
    plan = plan_mapping(headers, {})
    assert plan == {
        "E-mail": "email",
        "Phone No.": "phone",
        "First Name": "first_name",
        "Surname": "last_name",
        "Company": "company",
        "Job Title": "job_title",
        "Shoe Size": "attr.shoe_size",
    }


def test_hubspot_and_salesforce_export_headers_find_their_fields():
    hubspot = ["Email", "Create Date", "Country/Region", "Phone Number"]
    assert plan_mapping(hubspot, {}) == {
        "Email": "email",
        "Create Date": "created_at",
        "Country/Region": "country",
        "Phone Number": "phone",
    }
    salesforce = ["Email", "Account Name", "Mailing Country"]
    assert plan_mapping(salesforce, {}) == {
        "Email": "email",
        "Account Name": "company",
        "Mailing Country": "country",
    }
    deals = ["Deal Name", "Amount", "Deal Stage", "Close Date", "Associated Contact Email"]
    assert plan_mapping(deals, {}, kind="deals") == {
        "Deal Name": "name",
        "Amount": "amount",
        "Deal Stage": "stage",
        "Close Date": "closed_at",
        "Associated Contact Email": "contact_email",
    }


def test_an_explicit_map_wins_over_synonyms():
    plan = plan_mapping(["Email", "Work mail"], {"Work mail": "email", "Email": "attr.personal"})
    assert plan == {"Work mail": "email", "Email": "attr.personal"}


def test_a_map_to_an_unknown_field_is_refused():
    with pytest.raises(InvalidMapping, match="unknown field"):
        plan_mapping(["Email"], {"Email": "mail"})


def test_values_are_normalised():
    frame = _frame(
        email=[" Ann@X.COM ", "bob@y.org", "", "c@z.io", "d@z.io"],
        first_name=["ANN", "bob", "McDonald", "  ", "élodie"],
        phone=["(415) 555-0100", "+44 20 7946 0958", "12", "", ""],
        country=["USA", "gb", "Narnia", "Germany", ""],
        created_at=["2024-03-01", "01/02/2023", "2024-03-01 10:20:30", "not a date", ""],
    )
    out = normalise_contacts(frame, region="US")
    assert out["email"].to_list() == ["ann@x.com", "bob@y.org", None, "c@z.io", "d@z.io"]
    assert out["first_name"].to_list() == ["Ann", "Bob", "McDonald", None, "Élodie"]
    assert out["phone"].to_list() == ["+14155550100", "+442079460958", None, None, None]
    assert out[PHONE_INVALID].to_list() == [False, False, True, False, False]
    assert out["country"].to_list() == ["US", "GB", None, "DE", None]
    assert out[COUNTRY_UNKNOWN].to_list() == [False, False, True, False, False]
    # What was not understood is kept as typed, as custom attributes.
    assert out["attr.phone_as_entered"].to_list() == [None, None, "12", None, None]
    assert out["attr.country_as_entered"].to_list() == [None, None, "Narnia", None, None]
    dates = out["created_at"].to_list()
    assert [d.day if d else None for d in dates] == [1, 1, 1, None, None]
    assert dates[1].month == 2  # day first


def test_unusable_rows_get_a_reason():
    frame = _frame(
        email=["a@x.com", "no-at-sign", "", "b@x..com", "c@x.com"],
        first_name=["A", "B", "C", "D", "E"],
        created_at=["", "", "", "", "yesterday"],
    )
    out = validate_contacts(
        normalise_contacts(frame, region="US"), header_width=3, allow_no_email=False
    )
    assert out[REASON].to_list() == [
        None,
        INVALID_EMAIL,
        MISSING_EMAIL,
        INVALID_EMAIL,
        INVALID_DATE,
    ]


def test_duplicates_in_the_file_keep_the_first_row():
    frame = _frame(
        email=["a@x.com", "b@x.com", "a@x.com", None, None],
        external_id=[None, "7", None, "7", None],
    )
    out = mark_in_file_duplicates(frame)
    assert out[DUPLICATE_IN_FILE].to_list() == [False, False, True, True, False]


def test_rows_match_existing_contacts_by_email_then_external_id():
    frame = _frame(
        email=["a@x.com", "new@x.com", None, "b@x.com", "c@x.com"],
        external_id=[None, "E2", "E2", None, "E2"],
        first_name=["Ann", None, None, "Bob", None],
    )
    existing = pl.DataFrame(
        [
            (1, "a@x.com", "", "", "", "", "", None, None, "{}"),
            (2, "other@x.com", "", "Zed", "", "", "", "E2", None, "{}"),
            (3, "b@x.com", "Robert", "", "", "", "", None, None, "{}"),
        ],
        schema=EXISTING_SCHEMA,
        orient="row",
    )
    matched = match_existing(frame, existing)
    assert matched[MATCH_ID].to_list() == [1, 2, 2, 3, 2]


def test_formulas_are_neutralised():
    frame = pl.DataFrame({"a": ["=HYPERLINK(1)", "+1", "-2", "@x", "plain"]})
    assert neutralise_formulas(frame)["a"].to_list() == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@x",
        "plain",
    ]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("é,b\n".encode("utf-8-sig"), "utf-8-sig"),
        ("é,b\n".encode("utf-16"), "utf-16"),
        ("é,b\n".encode("utf-16-le") * 20, "utf-16-le"),
        ("naïve café, déjà vu, Müller\n".encode("cp1252") * 20, "cp1252"),
        (b"plain,ascii\n", "utf-8"),
    ],
)
def test_encodings_are_detected(data, encoding):
    assert detect_encoding(data) == encoding


PHONE_FORMATS = (
    "+{cc}{nsn}",
    "+{cc} {nsn}",
    "+{cc}-{a}.{b}",
    "({a}) {b}",
    "{nsn}",
    "0{nsn}",
    "00{cc} {nsn}",
    "011 {cc} {nsn}",
    "{cc}{nsn}",
    "+{cc} (0) {nsn}",
    "+{cc}{nsn}9",
    "+{cc}{short}",
    "{nsn} ext. 12",
)
PHONE_REGIONS = ("US", "CA", "GB", "DE", "FR", "IT", "ES", "MX", "BR", "AR", "IN", "AU", "RU", "CN")


def _phone_corpus() -> list[str]:
    """Example numbers of many countries, written in the ways lists write them."""
    values = []
    for region in PHONE_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            nsn = phonenumbers.national_significant_number(example)
            parts = {"cc": example.country_code, "nsn": nsn, "a": nsn[:3], "b": nsn[3:]}
            values += [f.format(**parts, short=nsn[:4]) for f in PHONE_FORMATS]
    return values


def _invalid_phone_corpus() -> list[str]:
    """Numbers libphonenumber finds possible or parses, but that no one can dial: local-only
    lengths, starts no region of the code has, numbers read in the wrong country."""
    values = ["555-0199", "030 1234567", "+1 030 123 4567", "+1 555 0199", "+1 115 555 0100"]
    values += ["+44 20 7946", "+49 0301234567", "+800 1234 5678", "+882 1234 5678", "+7 0123"]
    for region in PHONE_REGIONS:
        example = phonenumbers.example_number(region)
        nsn = phonenumbers.national_significant_number(example)
        for first in "019":
            values += [f"+{example.country_code} {first}{nsn[1:]}", f"{first}{nsn[1:]}"]
        values += [nsn[3:], f"+{example.country_code}{nsn[:-1]}"]
    rng = random.Random(7)
    for _ in range(400):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 15)))
        values += [digits, f"+{digits}"]
    return values


@pytest.mark.parametrize("region", ["US", "DE", "GB", "IT", "MX", "AR"])
def test_phones_read_without_libphonenumber_agree_with_it(region):
    values = _phone_corpus() + _invalid_phone_corpus()
    fast = fast_e164(pl.Series(values), region=region)
    answered = [
        (value, e164)
        for value, certain, e164 in zip(values, fast["certain"], fast["phone"], strict=True)
        if certain
    ]
    # The common forms are answered without a libphonenumber call, kept or not...
    assert len(answered) > len(values) // 4
    assert any(e164 is None for _, e164 in answered)
    # ...and always as libphonenumber answers them.
    for value, e164 in answered:
        assert e164 == _read(value, region), value


def _read(value, region):
    try:
        return normalise_phone(value, region=region)
    except (InvalidPhone, TypeError):
        return None


def test_phones_are_normalised_once_per_value_like_normalise_phone():
    values = [*_phone_corpus(), *_invalid_phone_corpus(), None, "", "n/a", "+1 415-555-0100"]
    values.append("+1 415-555-0100")
    out = normalise_phones(pl.Series(values, dtype=pl.String), region="US").to_list()

    assert out == [_read(v, "US") for v in values]
    assert fast_e164(pl.Series(["+1 415-555-0100"]), region="US")["phone"].to_list() == [
        "+14155550100"
    ]


def test_rejects_and_contact_exports_neutralise_formulas_by_one_rule():
    from leadflow.acquisition.pipeline import rejects
    from leadflow.contacts import csv_export

    assert rejects.FORMULA_START is csv_export.FORMULA_START


def test_names_typed_in_capitals_get_their_particles_and_mc_back():
    frame = _frame(
        email=["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"],
        first_name=["CARL", "bob", "JUAN", "VAN", "Mcebisi"],
        last_name=["VAN DER BERG", "MCDONALD", "DE LA CRUZ", "MORRISON", "le Blanc"],
    )
    out = normalise_contacts(frame, region="US")
    assert out["first_name"].to_list() == ["Carl", "Bob", "Juan", "Van", "Mcebisi"]  # as typed
    assert out["last_name"].to_list() == [
        "van der Berg", "McDonald", "de la Cruz", "Morrison", "le Blanc",  # typed: kept
    ]  # fmt: skip


def test_a_value_too_long_names_its_column():
    frame = _frame(
        email=["a@x.com", "b@x.com"], first_name=["A" * 101, "Bo"], job_title=["", "T" * 151]
    )
    out = validate_contacts(
        normalise_contacts(frame, region="US"), header_width=3, allow_no_email=False
    )
    assert out[REASON].to_list() == [
        "first_name longer than 100 characters",
        "job_title longer than 150 characters",
    ]
