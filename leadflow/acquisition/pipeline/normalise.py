"""Stage 3, normalise: each column to the one form Leadflow stores, as column expressions.

Emails are trimmed and lower-cased, names trimmed and title-cased when typed all in one
case, countries become ISO 3166-1 alpha-2 codes, dates become datetimes. Phones go through
`contacts.normalise.normalise_phone` one value at a time (libphonenumber has no vectorised
form); a value that is not understood is left empty and flagged, the row still goes in.
"""

import phonenumbers
import polars as pl

from leadflow.contacts.normalise import InvalidPhone, normalise_phone

PHONE_INVALID = "_phone_invalid"
COUNTRY_UNKNOWN = "_country_unknown"
CREATED_AT_RAW = "_created_at_raw"

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


def _cased(column: str) -> pl.Expr:
    value = _blank_to_null(pl.col(column)).str.replace_all(r"\s+", " ")
    one_case = (value == value.str.to_uppercase()) | (value == value.str.to_lowercase())
    return pl.when(one_case).then(value.str.to_titlecase()).otherwise(value).alias(column)


def _phone(raw: str, region: str) -> str | None:
    try:
        return normalise_phone(raw, region=region)
    except InvalidPhone:
        return None


def _parsed_date(column: str) -> pl.Expr:
    value = _blank_to_null(pl.col(column)).str.replace(r"Z$", "")
    attempts = [value.str.strptime(pl.Datetime("us"), f, strict=False) for f in DATE_FORMATS]
    return pl.coalesce(attempts).alias(column)


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
        phone_raw.map_elements(lambda v: _phone(v, region), return_dtype=pl.String).alias("phone"),
        (phone_raw.is_not_null()).alias(PHONE_INVALID),
        country.alias("country"),
        (country_raw.is_not_null() & country.is_null()).alias(COUNTRY_UNKNOWN),
        _blank_to_null(pl.col("created_at")).alias(CREATED_AT_RAW),
        _parsed_date("created_at"),
    )
    return frame.with_columns(
        (pl.col(PHONE_INVALID) & pl.col("phone").is_null()).alias(PHONE_INVALID),
        pl.col(COUNTRY_UNKNOWN).fill_null(False),
    )
