"""Stage 3, normalise: each column to the one form Leadflow stores, as column expressions.

Emails are trimmed and lower-cased, names trimmed and title-cased when typed all in one
case, countries become ISO 3166-1 alpha-2 codes, dates become datetimes. Phones become
E.164 with libphonenumber's rules (`contacts.normalise.normalise_phone`); see
`normalise_phones` for how a million of them take seconds, not minutes. A value that is not
understood is left empty and flagged, the row still goes in.
"""

import functools
from dataclasses import dataclass

import phonenumbers
import polars as pl
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from leadflow.contacts.normalise import InvalidPhone, normalise_phone

PHONE_INVALID = "_phone_invalid"
COUNTRY_UNKNOWN = "_country_unknown"
CREATED_AT_RAW = "_created_at_raw"
UPDATED_AT_RAW = "_updated_at_raw"

NAME_FIELDS = ("first_name", "last_name", "job_title", "company")
TEXT_FIELDS = ("external_id", "channel", "campaign")

# English names and three-letter codes of the countries lists most often carry; any
# two-letter code libphonenumber knows is accepted as it is.
COUNTRY_NAMES = {
    "united states": "US", "united states of america": "US", "usa": "US", "us": "US",
    "america": "US", "united kingdom": "GB", "uk": "GB", "great britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "gbr": "GB", "germany": "DE",
    "deutschland": "DE", "deu": "DE", "france": "FR", "fra": "FR", "spain": "ES",
    "españa": "ES", "esp": "ES", "italy": "IT", "italia": "IT", "ita": "IT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "nld": "NL",
    "belgium": "BE", "switzerland": "CH", "austria": "AT", "ireland": "IE",
    "portugal": "PT", "sweden": "SE", "norway": "NO", "denmark": "DK", "finland": "FI",
    "poland": "PL", "czech republic": "CZ", "czechia": "CZ", "greece": "GR",
    "canada": "CA", "can": "CA", "mexico": "MX", "brazil": "BR", "argentina": "AR",
    "chile": "CL", "colombia": "CO", "peru": "PE", "india": "IN", "ind": "IN",
    "china": "CN", "japan": "JP", "south korea": "KR", "korea": "KR", "singapore": "SG",
    "hong kong": "HK", "indonesia": "ID", "malaysia": "MY", "philippines": "PH",
    "thailand": "TH", "vietnam": "VN", "australia": "AU", "aus": "AU",
    "new zealand": "NZ", "south africa": "ZA", "nigeria": "NG", "kenya": "KE",
    "egypt": "EG", "israel": "IL", "turkey": "TR", "türkiye": "TR", "russia": "RU",
    "ukraine": "UA", "saudi arabia": "SA", "united arab emirates": "AE", "uae": "AE",
    "qatar": "QA", "kuwait": "KW", "oman": "OM", "bahrain": "BH", "pakistan": "PK",
    "bangladesh": "BD", "sri lanka": "LK", "nepal": "NP",
}  # fmt: skip
COUNTRY_TABLE = {**{code.lower(): code for code in phonenumbers.SUPPORTED_REGIONS}, **COUNTRY_NAMES}

# Tried in order; day-first before month-first, as most of the world writes dates.
DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%b %d, %Y",
)


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    cleaned = expr.str.strip_chars()
    return pl.when(cleaned == "").then(None).otherwise(cleaned)


# Words title-casing would spoil ("CEO" is not "Ceo", "GmbH" not "Gmbh"), put back after it.
KEPT_WORDS = {
    "job_title": (
        "CEO", "CTO", "CFO", "COO", "CMO", "CIO", "CISO", "CRO", "CPO", "CDO", "VP", "SVP",
        "EVP", "AVP", "HR", "IT", "PR", "QA", "UX", "UI", "SEO", "SDR", "BDR", "AE", "CSM",
        "of", "and", "for", "the", "in",
    ),
    "company": (
        "LLC", "LLP", "GmbH", "AG", "KG", "SA", "SAS", "SARL", "SRL", "SpA", "BV", "NV", "PLC",
        "AB", "AS", "ApS", "Oy", "UK", "USA", "IT", "AI", "and", "of", "the",
    ),
}  # fmt: skip


def _cased(column: str) -> pl.Expr:
    """Trimmed; title-cased only when typed all in one case ("ANN SMITH", "acme gmbh")."""
    value = _blank_to_null(pl.col(column)).str.replace_all(r"\s+", " ")
    one_case = (value == value.str.to_uppercase()) | (value == value.str.to_lowercase())
    titled = value.str.to_titlecase()
    for word in KEPT_WORDS.get(column, ()):
        titled = titled.str.replace_all(rf"\b{word.title()}\b", word)
    # The first word of a title stays capitalised even when it is "of" or "the".
    titled = pl.concat_str(titled.str.head(1).str.to_uppercase(), titled.str.slice(1))
    return pl.when(one_case).then(titled).otherwise(value).alias(column)


def _phone(raw: str, region: str) -> str | None:
    try:
        return normalise_phone(raw, region=region)
    except InvalidPhone:
        return None


# Separators a phone is written with that libphonenumber drops and that carry no meaning;
# anything else (letters, "ext.", "#", "/", other spaces) goes to libphonenumber itself.
PHONE_SEPARATORS = r"[ .()\-]"


@dataclass(frozen=True)
class _CallingCode:
    lengths: tuple[int, ...]  # national numbers libphonenumber's is_possible_number accepts
    national_prefix: str | None  # the pattern libphonenumber strips after the code


@functools.cache
def _calling_codes() -> dict[str, _CallingCode]:
    """Each country calling code with the rules of its main region's metadata."""
    codes = {}
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        metadata = PhoneMetadata.metadata_for_region(regions[0]) if regions else None
        if metadata is None:  # "001": non-geographic numbers; libphonenumber decides
            continue
        desc = metadata.general_desc
        lengths = tuple(
            n
            for n in (*(desc.possible_length or ()), *(desc.possible_length_local_only or ()))
            if n > 0
        )
        codes[str(code)] = _CallingCode(lengths, metadata.national_prefix_for_parsing or None)
    return codes


def _possible(code: pl.Expr, national: pl.Expr, codes: dict[str, _CallingCode]) -> pl.Expr:
    """Whether `national` has a length libphonenumber accepts for the calling `code`."""
    lengths = pl.DataFrame(
        [(c, n) for c, info in codes.items() for n in info.lengths],
        schema={"code": pl.String, "length": pl.Int64},
        orient="row",
    )
    keys = lengths.select(pl.concat_str("code", pl.lit(":"), pl.col("length").cast(pl.String)))
    key = pl.concat_str(code, pl.lit(":"), national.str.len_chars().cast(pl.String))
    return key.is_in(keys.to_series().implode())


def fast_e164(values: pl.Series, *, region: str) -> pl.Series:
    """E.164 for the phones whose reading is certain without libphonenumber; null for the rest.

    Certain means: only digits and the PHONE_SEPARATORS, and either "+" and a calling code,
    or a national number of the default region that cannot start with its calling code, its
    international (IDD) prefix or its national prefix; and a length that libphonenumber's
    metadata allows for that code. Then libphonenumber strips nothing and its E.164 is "+",
    the code and the digits. Everything else (national prefixes, IDD prefixes, extensions,
    letters, odd lengths) is left to libphonenumber; tests compare the two on many numbers.
    """
    codes = _calling_codes()
    frame = pl.DataFrame({"raw": values}, schema={"raw": pl.String})
    cleaned = pl.col("raw").str.strip_chars().str.replace_all(PHONE_SEPARATORS, "")
    frame = frame.with_columns(
        cleaned.str.starts_with("+").alias("_plus"),
        cleaned.str.strip_prefix("+").alias("_digits"),
    ).with_columns(pl.col("_digits").str.contains(r"^[0-9]{2,17}$").fill_null(False).alias("_ok"))
    digits = pl.col("_digits")
    by_length = {n: [c for c in codes if len(c) == n] for n in (1, 2, 3)}
    code = (
        pl.when(digits.str.slice(0, 1).is_in(by_length[1]))
        .then(digits.str.slice(0, 1))
        .when(digits.str.slice(0, 2).is_in(by_length[2]))
        .then(digits.str.slice(0, 2))
        .when(digits.str.slice(0, 3).is_in(by_length[3]))
        .then(digits.str.slice(0, 3))
    )
    frame = frame.with_columns(code.alias("_code"))
    frame = frame.with_columns(digits.str.slice(pl.col("_code").str.len_chars()).alias("_national"))
    international = (
        pl.col("_ok")
        & pl.col("_plus")
        & pl.col("_code").is_not_null()
        & _possible(pl.col("_code"), pl.col("_national"), codes)
    )
    for prefix_code in frame.filter(international)["_code"].unique().to_list():
        prefix = codes[prefix_code].national_prefix
        if prefix:
            international = international & ~(
                (pl.col("_code") == prefix_code)
                & pl.col("_national").str.contains(f"^(?:{prefix})")
            )
    result = pl.when(international).then(
        pl.concat_str(pl.lit("+"), pl.col("_code"), pl.col("_national"))
    )
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is not None and str(metadata.country_code) in codes:
        home = str(metadata.country_code)
        national = (
            pl.col("_ok")
            & ~pl.col("_plus")
            & ~digits.str.starts_with(home)
            & _possible(pl.lit(home), digits, codes)
        )
        for pattern in (metadata.international_prefix, metadata.national_prefix_for_parsing):
            if pattern:
                national = national & ~digits.str.contains(f"^(?:{pattern})")
        result = result.when(national).then(pl.concat_str(pl.lit("+" + home), digits))
    return frame.select(result.otherwise(None).alias("phone"))["phone"]


def normalise_phones(raw: pl.Series, *, region: str) -> pl.Series:
    """E.164 for every value (null where it is not a phone), like `normalise_phone`.

    libphonenumber costs about 20 microseconds a call and has no vectorised form, so each
    distinct value is read once, and most go through `fast_e164`, a column expression that
    gives the same answer where the answer is certain; libphonenumber reads the rest.
    """
    distinct = raw.drop_nulls().unique()
    fast = fast_e164(distinct, region=region)
    known = fast.is_not_null()
    rest = distinct.filter(~known)
    slow = pl.Series([_phone(value, region) for value in rest], dtype=pl.String)
    keys = pl.concat([distinct.filter(known), rest])
    found = pl.concat([fast.filter(known), slow])
    return raw.replace_strict(keys, found, default=None, return_dtype=pl.String)


# ISO dates with a UTC offset ("2026-11-23T20:40:45+02:00", as our own export and most
# CRMs write them): read as that instant, stored in UTC.
OFFSET_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%z",
)


def with_offset(value: pl.Expr) -> pl.Expr:
    """A text column's dates that carry a UTC offset, as UTC datetimes (null otherwise)."""
    attempts = [
        value.str.strptime(pl.Datetime("us", "UTC"), f, strict=False) for f in OFFSET_FORMATS
    ]
    return pl.coalesce(attempts)


def _parsed_date(column: str) -> pl.Expr:
    raw = _blank_to_null(pl.col(column))
    value = raw.str.replace(r"Z$", "")
    attempts = [value.str.strptime(pl.Datetime("us"), f, strict=False) for f in DATE_FORMATS]
    return pl.coalesce(with_offset(raw).dt.replace_time_zone(None), *attempts).alias(column)


def normalise_contacts(frame: pl.DataFrame, *, region: str) -> pl.DataFrame:
    """Emails, names, phones, countries and dates in stored form; flags for what was dropped."""
    phone_raw = _blank_to_null(pl.col("phone"))
    country_raw = _blank_to_null(pl.col("country"))
    country = country_raw.str.to_lowercase().replace_strict(
        COUNTRY_TABLE, default=None, return_dtype=pl.String
    )
    frame = frame.with_columns(
        _blank_to_null(pl.col("email")).str.to_lowercase().alias("email"),
        *[_cased(c) for c in NAME_FIELDS],
        *[_blank_to_null(pl.col(c)).alias(c) for c in TEXT_FIELDS],
        (phone_raw.is_not_null()).alias(PHONE_INVALID),
        country.alias("country"),
        (country_raw.is_not_null() & country.is_null()).alias(COUNTRY_UNKNOWN),
        _blank_to_null(pl.col("created_at")).alias(CREATED_AT_RAW),
        _parsed_date("created_at"),
        _blank_to_null(pl.col("updated_at")).alias(UPDATED_AT_RAW),
        _parsed_date("updated_at"),
    )
    phones = normalise_phones(frame.select(phone_raw).to_series(), region=region)
    frame = frame.with_columns(phones.alias("phone"))
    return frame.with_columns(
        (pl.col(PHONE_INVALID) & pl.col("phone").is_null()).alias(PHONE_INVALID),
        pl.col(COUNTRY_UNKNOWN).fill_null(False),
    )
