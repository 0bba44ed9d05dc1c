"""Stage 3, normalise: each column to the one form Leadflow stores, as column expressions.

Emails are trimmed and lower-cased, names trimmed and title-cased when typed all in one
case (`cased_names`, which the companies import uses for its names too), countries become
ISO 3166-1 alpha-2 codes (from codes and names in several languages, `country_code`), dates
become datetimes. Phones become E.164 with libphonenumber's rules
(`contacts.normalise.normalise_phone`), read in the row's country; see `normalise_phones`
for how a million of them take seconds, not minutes. A value that is not understood is
left empty and flagged, the row still goes in; a phone or country not understood is kept
as typed in a custom attribute.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass

import idna
import phonenumbers
import polars as pl
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from leadflow.acquisition.pipeline.dates import DateOrders
from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX
from leadflow.acquisition.pipeline.values import blank_to_null
from leadflow.contacts.normalise import InvalidPhone, normalise_phone, numbering_plans

PHONE_INVALID = "_phone_invalid"
COUNTRY_UNKNOWN = "_country_unknown"
# Custom attributes (ATTR_PREFIX) that keep a phone or country as typed when not understood.
PHONE_AS_ENTERED = "phone_as_entered"
PHONE_EXTENSION = "phone_extension"  # "ext. 23" of a phone kept: E.164 has no extension
COUNTRY_AS_ENTERED = "country_as_entered"
EMAIL_ASCII = "_email_ascii"  # the email with its domain in ASCII (IDNA), for validation
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
    # Former and short names that generated sample lists (Faker's) and older CRMs still use.
    "cape verde": "CV", "libyan arab jamahiriya": "LY", "palestinian territory": "PS",
    "palestinian territories": "PS", "palestine": "PS", "pitcairn islands": "PN",
    "saint helena": "SH", "saint martin": "MF", "united states virgin islands": "VI",
    "us virgin islands": "VI", "british virgin islands": "VG", "swaziland": "SZ",
    "burma": "MM", "east timor": "TL", "ivory coast": "CI", "macedonia": "MK",
    "svalbard and jan mayen islands": "SJ",
}  # fmt: skip
COUNTRY_TABLE = {**{code.lower(): code for code in phonenumbers.SUPPORTED_REGIONS}, **COUNTRY_NAMES}
# Languages whose country names are recognised besides English (pycountry's translations
# of ISO 3166-1): the lists we see come from Western and Northern Europe and the Americas.
COUNTRY_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "sv", "da", "nb_NO", "fi", "pl")


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _loose(text: str) -> str:
    """Only letters and digits, casefolded and without accents: "États-Unis" -> "etatsunis"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


@functools.cache
def _country_names() -> tuple[dict[str, str], dict[str, str]]:
    """(folded name -> alpha-2, loose name -> alpha-2), built once: COUNTRY_TABLE first (its
    entries win), then pycountry's codes, English names and their translations."""
    import gettext

    import pycountry

    exact: dict[str, str] = {}
    loose: dict[str, str] = {}

    def add(name: str | None, code: str) -> None:
        if name:
            exact.setdefault(_folded(name), code)
            loose.setdefault(_loose(name), code)

    for name, code in COUNTRY_TABLE.items():
        add(name, code)
    countries = list(pycountry.countries)
    for country in countries:
        add(country.alpha_2, country.alpha_2)
    for country in countries:
        add(country.alpha_3, country.alpha_2)
    english = [
        (name, country.alpha_2)
        for country in countries
        for name in (
            country.name,
            getattr(country, "official_name", None),
            getattr(country, "common_name", None),
        )
        if name
    ]
    for name, code in english:
        add(name, code)
    for language in COUNTRY_LANGUAGES:
        translation = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
        )
        for name, code in english:
            add(translation.gettext(name), code)
    loose.pop("", None)
    return exact, loose


def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country as a list spells it: a code ("de", "DEU"),
    or a name in English or a COUNTRY_LANGUAGES language, in any case, with or without its
    accents, spaces and dashes ("Allemagne", "Etats Unis", "Vereinigte Staaten")."""
    exact, loose = _country_names()
    found = exact.get(_folded(text)) or loose.get(_loose(text))
    if found is None and ("(" in text or "&" in text):
        # "Slovakia (Slovak Republic)", "Bouvet Island (Bouvetoya)", "Svalbard & Jan Mayen"
        plain = re.sub(r"\s*\([^)]*\)\s*", " ", text).replace("&", " and ")
        found = exact.get(_folded(plain)) or loose.get(_loose(plain))
    return found


def normalise_countries(raw: pl.Series) -> pl.Series:
    """`country_code` of every value (null where none), worked out once per distinct value."""
    distinct = raw.drop_nulls().unique()
    codes = pl.Series([country_code(value) for value in distinct], dtype=pl.String)
    return raw.replace_strict(distinct, codes, default=None, return_dtype=pl.String)


# Words title-casing would spoil ("CEO" is not "Ceo", "GmbH" not "Gmbh"), put back after it.
# Company words are legal forms and a few initialisms; any other initialism typed in
# capitals ("IBM", "KPMG") cannot be told from a word ("ACME") and is title-cased.
KEPT_WORDS = {
    "job_title": (
        "CEO", "CTO", "CFO", "COO", "CMO", "CIO", "CISO", "CRO", "CPO", "CDO", "VP", "SVP",
        "EVP", "AVP", "HR", "IT", "PR", "QA", "UX", "UI", "SEO", "SDR", "BDR", "AE", "CSM",
        "of", "and", "for", "the", "in",
    ),
    "company": (
        "LLC", "LLP", "GmbH", "KGaA", "AG", "KG", "SE", "SA", "SAS", "SARL", "SRL", "SpA", "BV",
        "NV", "PLC", "AB", "ApS", "Oy", "UK", "USA", "IT", "AI", "and", "of", "the",
    ),
}  # fmt: skip
# Legal forms that are everyday words as well: a form only as the last word of the name
# ("Nordic Shipping AS", but "As Good As New Ltd").
LAST_WORDS = {"company": ("AS",)}
# Particles a last name keeps in lower case before the rest of it: "VAN DER BERG" is
# "van der Berg", "DE LA CRUZ" "de la Cruz" (Le, La, Di, Da are mostly capitalised: kept).
LOWER_PARTICLES = ("van", "von", "der", "den", "de", "du", "del", "dos", "das", "ten", "ter")

# What title-casing gets wrong that a column expression cannot put right (it would change
# the case of part of a match), mended in Python once per distinct value (`_mended`):
# English contractions and possessives stay lower case after their apostrophe ("McDonald's",
# "Owner's Rep", "Don't"; O'Brien, D'Arcy and L'Oréal keep their capital, a word follows
# theirs), as do ordinals after their digits ("21st Century", "2nd Line Support").
_CONTRACTION = re.compile(r"(?<=[^\W\d_]['’])(?:S|T|Re|Ll|D|Ve|M)\b")
_ORDINAL = re.compile(r"(?<=\d)(?:St|Nd|Rd|Th)\b")
# "Mc" is followed by a capital in a person's name and a company's: "McDonald", "McKinsey".
_MC = re.compile(r"\bMc([a-z])")
MC_FIELDS = ("first_name", "last_name", "company")
# One or two letters each side of an "&" are initials: "AT&T", "P&G", "M&S", "R&D", "M&A".
_INITIALS = re.compile(r"\b[^\W\d_]{1,2}&[^\W\d_]{1,2}\b")
INITIALS_FIELDS = ("job_title", "company")
# The title-cased values one of those may change (a Polars regex: the rest stay in Polars).
_MENDABLE = r"\p{L}['’]\p{Lu}|\d(?:St|Nd|Rd|Th)\b|\bMc[a-z]|\p{L}&\p{L}"


def _title_cased(value: pl.Expr, field: str) -> pl.Expr:
    titled = value.str.to_titlecase()
    for word in KEPT_WORDS.get(field, ()):
        titled = titled.str.replace_all(rf"\b{word.title()}\b", word)
    for word in LAST_WORDS.get(field, ()):
        titled = titled.str.replace(rf"\b{word.title()}$", word)
    # The first word of a title stays capitalised even when it is "of" or "the".
    titled = pl.concat_str(titled.str.head(1).str.to_uppercase(), titled.str.slice(1))
    if field == "last_name":
        for particle in LOWER_PARTICLES:  # only before another word: "Van" alone stays
            titled = titled.str.replace_all(rf"\b{particle.title()} ", f"{particle} ")
        for article in ("la", "le", "los", "las"):  # "de la Cruz", "van le Roux"
            titled = titled.str.replace_all(rf"\b(de|du|van) {article.title()} ", f"$1 {article} ")
    return titled


def _mended(name: str, field: str) -> str:
    name = _CONTRACTION.sub(lambda m: m[0].lower(), name)
    name = _ORDINAL.sub(lambda m: m[0].lower(), name)
    if field in MC_FIELDS:
        name = _MC.sub(lambda m: "Mc" + m[1].upper(), name)
    if field in INITIALS_FIELDS:
        name = _INITIALS.sub(lambda m: m[0].upper(), name)
    return name


# A company or job title column typed with care (most of its values in mixed case, as a CRM
# exports them) keeps its values as typed: "IBM", "KPMG" or "SAP SE" there are initialisms,
# which title-casing cannot tell from a word ("Ibm"), not a list typed in capitals. Names
# of people are cased value by value: "SMITH" among "Smith"s is a row typed in capitals.
CAREFUL_FIELDS = ("company", "job_title")
CAREFUL_SHARE = 0.5


def _typed_with_care(values: pl.Series) -> bool:
    """Whether most of the values with letters that have a case are in mixed case."""
    upper, lower = values.str.to_uppercase(), values.str.to_lowercase()
    cased = (upper != lower).fill_null(False)
    mixed = cased & (values != upper) & (values != lower)
    return bool(cased.any()) and mixed.sum() >= CAREFUL_SHARE * cased.sum()


def cased_names(typed: pl.Series, *, field: str) -> pl.Series:
    """Names as Leadflow stores them: trimmed, with single spaces, and title-cased by the
    rules of `field` (one of NAME_FIELDS) where typed all in one case ("ANN SMITH",
    "acme gmbh", "MCDONALD'S"); a value typed in mixed case ("McDonald", "AT&T Inc") is
    kept as typed, and so is every company or job title of a column typed with care
    (`_typed_with_care`: "IBM" among "Acme Ltd"s). Each distinct value is worked out once.

    The companies import cases its names as "company" too, so the same company typed in
    capitals in a contacts list and in a companies list is one company, spelled one way.
    """
    cleaned = blank_to_null(pl.lit(typed.cast(pl.String))).str.replace_all(r"\s+", " ")
    values = pl.select(cleaned).to_series()
    if field in CAREFUL_FIELDS and _typed_with_care(values):
        return values.alias(typed.name)
    distinct = pl.DataFrame({"value": values.drop_nulls().unique()})
    value = pl.col("value")
    one_case = (value == value.str.to_uppercase()) | (value == value.str.to_lowercase())
    titled = distinct.select(pl.when(one_case).then(_title_cased(value, field))).to_series()
    spoilt = titled.filter(titled.str.contains(_MENDABLE)).unique()
    if not spoilt.is_empty():
        titled = titled.replace(spoilt, pl.Series([_mended(n, field) for n in spoilt]))
    stored = distinct.select(pl.coalesce(titled, value)).to_series()
    return values.replace(distinct["value"], stored).alias(typed.name)


def _phone(raw: str, region: str) -> str | None:
    try:
        return normalise_phone(raw, region=region)
    except InvalidPhone:
        return None


# Separators a phone is written with that libphonenumber drops and that carry no meaning;
# anything else (letters, "ext.", "#", "/", other spaces) goes to libphonenumber itself.
PHONE_SEPARATORS = r"[ .()\-]"
MAX_PHONE_INPUT = 250  # libphonenumber refuses longer input (_MAX_INPUT_STRING_LENGTH)


def _digits_only(pattern: str) -> str:
    r"""A libphonenumber pattern for Polars: its `\d` as [0-9]. Polars' (Rust) `\d` is any
    Unicode digit, which makes the regexes too big, and the values tested are ASCII anyway."""
    return pattern.replace(r"\d", "[0-9]")


@dataclass(frozen=True)
class _FastRules:
    """libphonenumber's metadata as the column expressions of `fast_e164` use it."""

    codes_by_length: dict[int, list[str]]  # country calling codes, by number of digits
    lengths: pl.Series  # "code:length" of each whole national number length
    admitted: str  # regex over "code:national": the numbering plan's general patterns
    strips_after_code: str  # regex over "code:national": a national prefix it may strip
    homes: dict[str, str]  # region -> its calling code
    not_plain: str  # regex over "region:digits": a start it may read as a code or strip


@functools.cache
def _fast_rules() -> _FastRules:
    plans = numbering_plans()
    keys = [f"{code}:{n}" for code, plan in plans.items() for n in sorted(plan.lengths)]
    admitted, strips = [], []
    for code, plan in plans.items():
        patterns = "|".join(f"(?:{_digits_only(p)})" for p in plan.patterns)
        admitted.append(f"{code}:(?:{patterns})")
        main = COUNTRY_CODE_TO_REGION_CODE[code][0]
        # The national prefix after "+code" is stripped with the main region's rule.
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, main)
        if metadata is not None and metadata.national_prefix_for_parsing:
            strips.append(f"{code}:(?:{_digits_only(metadata.national_prefix_for_parsing)})")
    homes, not_plain = {}, []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.country_code not in plans:
            continue
        homes[region] = str(metadata.country_code)
        # Without "+", libphonenumber strips an IDD prefix, the region's own calling code
        # or its national prefix when the number starts with one of them.
        starts = [homes[region]] + [
            f"(?:{_digits_only(p)})"
            for p in (metadata.international_prefix, metadata.national_prefix_for_parsing)
            if p
        ]
        not_plain.append(f"{region}:(?:{'|'.join(starts)})")
    return _FastRules(
        codes_by_length={n: [str(c) for c in plans if len(str(c)) == n] for n in (1, 2, 3)},
        lengths=pl.Series(keys, dtype=pl.String),
        admitted=f"^(?:{'|'.join(admitted)})$",
        strips_after_code=f"^(?:{'|'.join(strips)})",
        homes=homes,
        not_plain=f"^(?:{'|'.join(not_plain)})",
    )


def fast_e164(values: pl.Series, *, region: str | pl.Series) -> pl.DataFrame:
    """libphonenumber's answer for the phones whose reading is certain, as column expressions.

    One row per value: `certain`, whether the reading is certain, and `phone`, its E.164
    (null when the number it reads is not one `is_storable_phone` keeps, or when the reading
    is not certain). `region` is the default region, one for all values or one per value.

    Certain means: only digits and the PHONE_SEPARATORS, and either "+" and a calling code
    not followed by what its national prefix may be, or a national number of the region
    that cannot start with its calling code, its international (IDD) prefix or its national
    prefix. Then libphonenumber strips nothing and reads "+", the code and the digits; the
    number is kept if its length is a whole one and its digits match the general pattern of
    a region of its code (`NumberingPlan.admits`). Everything else (national prefixes, IDD
    prefixes, extensions, letters) is left to libphonenumber; tests compare the two.
    """
    rules = _fast_rules()
    regions = (
        region if isinstance(region, pl.Series) else pl.repeat(region, len(values), eager=True)
    )
    frame = pl.DataFrame(
        {"raw": values, "region": regions}, schema={"raw": pl.String, "region": pl.String}
    )
    text = pl.col("raw").str.strip_chars()
    cleaned = text.str.replace_all(PHONE_SEPARATORS, "")
    frame = frame.with_columns(
        cleaned.str.starts_with("+").alias("_plus"),
        cleaned.str.strip_prefix("+").alias("_digits"),
    ).with_columns(
        (
            pl.col("_digits").str.contains(r"^[0-9]{2,17}$")
            & (text.str.len_chars() <= MAX_PHONE_INPUT)
        )
        .fill_null(False)
        .alias("_ok")
    )
    digits, plus = pl.col("_digits"), pl.col("_plus")
    by_length = rules.codes_by_length
    extracted = (
        pl.when(digits.str.slice(0, 1).is_in(by_length[1]))
        .then(digits.str.slice(0, 1))
        .when(digits.str.slice(0, 2).is_in(by_length[2]))
        .then(digits.str.slice(0, 2))
        .when(digits.str.slice(0, 3).is_in(by_length[3]))
        .then(digits.str.slice(0, 3))
    )
    home = pl.col("region").replace_strict(rules.homes, default=None, return_dtype=pl.String)
    frame = frame.with_columns(
        pl.when(plus).then(extracted).otherwise(home).alias("_code"),
    ).with_columns(
        pl.when(plus)
        .then(digits.str.slice(pl.col("_code").str.len_chars()))
        .otherwise(digits)
        .alias("_national"),
    )
    code, national = pl.col("_code"), pl.col("_national")
    frame = frame.with_columns(pl.concat_str(code, pl.lit(":"), national).alias("_read"))
    read = pl.col("_read")
    international = plus & ~read.str.contains(rules.strips_after_code)
    plain = ~plus & ~pl.concat_str("region", pl.lit(":"), digits).str.contains(rules.not_plain)
    length = pl.concat_str(code, pl.lit(":"), national.str.len_chars().cast(pl.String))
    # Each step its own column: an eager select would work a shared expression out twice.
    frame = frame.with_columns(
        (pl.col("_ok") & code.is_not_null() & (international | plain))
        .fill_null(False)
        .alias("certain")
    ).with_columns(
        (
            pl.col("certain")
            & length.is_in(rules.lengths.implode())
            & read.str.contains(rules.admitted)
        ).alias("_kept")
    )
    return frame.select(
        "certain",
        pl.when("_kept").then(pl.concat_str(pl.lit("+"), read.str.replace(":", ""))).alias("phone"),
    )


def phone_regions(countries: pl.Series, *, region: str) -> pl.Series:
    """The region each row's phone is read in: its country when libphonenumber knows it,
    else the import's default `region` (--phone-region)."""
    known = countries.is_in(list(phonenumbers.SUPPORTED_REGIONS)).fill_null(False)
    return pl.select(pl.when(known).then(countries).otherwise(pl.lit(region))).to_series()


def normalise_phones(
    raw: pl.Series, *, region: str, countries: pl.Series | None = None
) -> pl.Series:
    """E.164 for every value (null where it is not a phone), like `normalise_phone`.

    Each row's phone is read in its country (ISO-2 in `countries`) when there is one, else
    in `region`; one that fits no number of its country is read in `region` as well.
    libphonenumber costs about 20 microseconds a call and has no vectorised form, so each
    distinct (value, region) is read once, and most go through `fast_e164`, column
    expressions that give the same answer where it is certain; libphonenumber reads the
    rest.
    """
    regions = (
        pl.repeat(region, len(raw), eager=True, dtype=pl.String)
        if countries is None
        else phone_regions(countries, region=region)
    )
    rows = pl.DataFrame(
        {"raw": raw, "region": regions}, schema={"raw": pl.String, "region": pl.String}
    )
    distinct = rows.drop_nulls("raw").unique()
    fast = pl.concat(
        [distinct, fast_e164(distinct["raw"], region=distinct["region"])], how="horizontal"
    )
    rest = fast.filter(~pl.col("certain"))
    slow = pl.Series(
        [_phone(value, where) for value, where in rest.select("raw", "region").iter_rows()],
        dtype=pl.String,
    )
    found = pl.concat(
        [
            fast.filter(pl.col("certain")).drop("certain"),
            rest.drop("certain").with_columns(phone=slow),
        ]
    )
    phones = rows.join(found, on=["raw", "region"], how="left", maintain_order="left")["phone"]
    if countries is None:
        return phones
    # A number no phone of the row's country can be ("229.077.5154" beside "Chile") is read
    # in the list's region too: it is the region the person importing says the list is in.
    again = phones.is_null() & raw.is_not_null() & (regions != region)
    if not again.any():
        return phones
    where = again.arg_true()
    return phones.scatter(where, normalise_phones(raw.gather(where), region=region))


def _domain_forms(address: str) -> tuple[str, str]:
    """An address at an internationalised domain as stored, in Unicode as web forms store
    it (email_validator's normalised form), and in the ASCII form DNS and SMTP use, which
    validation checks: "ann@Bücher.de" is ("ann@bücher.de", "ann@xn--bcher-kva.de"). A
    domain that is not a valid one stays as it was in both (and fails validation)."""
    local, _, domain = address.rpartition("@")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        return f"{local}@{idna.decode(ascii_domain)}", f"{local}@{ascii_domain}"
    except idna.IDNAError:
        return address, address


def normalise_emails(raw: pl.Expr) -> pl.Expr:
    """Addresses as lists and mail programs write them, trimmed and lower-cased: the address
    of "Ann Lee <ann@x.com>" and of "mailto:ann@x.com", without a trailing dot. Validation
    judges the result."""
    value = blank_to_null(raw)
    inside = value.str.extract(r"<\s*([^<>\s]+@[^<>\s]+?)\s*>\s*$", 1)
    value = pl.coalesce(inside, value).str.replace(r"(?i)^mailto:\s*", "").str.strip_chars()
    return value.str.strip_chars_end(".").str.to_lowercase()  # "ann@x.com." is a typo


def _internationalised_domains(emails: pl.Series) -> list[pl.Series]:
    """The email column, and EMAIL_ASCII, as `_domain_forms` gives them: each distinct
    address at an internationalised domain once, the rest as they are (a Python call only for the
    few that need it)."""
    # "xn--" too: the ASCII form typed is stored in Unicode, as a form stores it.
    foreign = emails.filter(emails.str.contains(r"@.*(?:[^\x00-\x7f]|xn--)")).unique()
    if foreign.is_empty():
        return [emails, emails.alias(EMAIL_ASCII)]
    stored, in_ascii = zip(*(_domain_forms(e) for e in foreign), strict=True)
    return [
        emails.replace(foreign, pl.Series(stored, dtype=pl.String)),
        emails.replace(foreign, pl.Series(in_ascii, dtype=pl.String)).alias(EMAIL_ASCII),
    ]


# "ext. 23", "extension 23", "x23", "#23", ";ext=23" (RFC 3966) at the end of a phone.
_EXTENSION = r"(?i)(?:\bext(?:ension)?\.?|\bx|#|;ext=)\s*(\d{1,7})\s*$"


def _extension(frame: pl.DataFrame, raw: pl.Expr) -> pl.Expr:
    """The extension of a stored phone, as the attribute PHONE_EXTENSION (E.164 has none,
    and dropping it would lose what the user typed); else the file's own such column."""
    column = ATTR_PREFIX + PHONE_EXTENSION
    found = pl.when(pl.col("phone").is_not_null()).then(raw.str.extract(_EXTENSION, 1))
    if column in frame.columns:
        found = pl.coalesce(blank_to_null(pl.col(column).cast(pl.String)), found)
    return found.alias(column)


def _kept_as_entered(frame: pl.DataFrame, attribute: str, raw: pl.Expr, lost: str) -> pl.Expr:
    """The text typed where `lost` flags a value not understood, as `attr.<attribute>`;
    elsewhere the file's own column of that name, if it has one."""
    column = ATTR_PREFIX + attribute
    kept = pl.when(pl.col(lost)).then(raw)
    if column in frame.columns:
        kept = pl.coalesce(kept, pl.col(column).cast(pl.String))
    return kept.alias(column)


def normalise_contacts(
    frame: pl.DataFrame, *, region: str, dates: DateOrders | None = None
) -> pl.DataFrame:
    """Emails, names, phones, countries and dates in stored form; flags for what was dropped.

    A phone is read in the row's own country when libphonenumber knows it, else in
    `region`. A phone or country not understood is left empty, flagged (PHONE_INVALID,
    COUNTRY_UNKNOWN) and kept as typed in the attributes PHONE_AS_ENTERED and
    COUNTRY_AS_ENTERED, so nothing the user typed is lost. Dates are read in UTC, with the
    order of day and month `dates` keeps for the whole file (see `dates.DateOrders`).
    """
    dates = dates if dates is not None else DateOrders()
    phone_raw = blank_to_null(pl.col("phone"))
    country_raw = blank_to_null(pl.col("country"))
    raw = frame.select(phone_raw.alias("phone"), country_raw.alias("country"))
    country = normalise_countries(raw["country"])
    phones = normalise_phones(raw["phone"], region=region, countries=country)
    read = dates.read_all(frame, ["created_at", "updated_at"])
    frame = frame.with_columns(
        normalise_emails(pl.col("email")).alias("email"),
        *[cased_names(frame[c], field=c) for c in NAME_FIELDS],
        *[blank_to_null(pl.col(c)).alias(c) for c in TEXT_FIELDS],
        phones.alias("phone"),
        (raw["phone"].is_not_null() & phones.is_null()).alias(PHONE_INVALID),
        country.alias("country"),
        (raw["country"].is_not_null() & country.is_null()).alias(COUNTRY_UNKNOWN),
        blank_to_null(pl.col("created_at")).alias(CREATED_AT_RAW),
        read["created_at"].dt.replace_time_zone(None),
        blank_to_null(pl.col("updated_at")).alias(UPDATED_AT_RAW),
        read["updated_at"].dt.replace_time_zone(None),
    )
    return frame.with_columns(
        *_internationalised_domains(frame["email"]),
        _kept_as_entered(frame, PHONE_AS_ENTERED, pl.lit(raw["phone"]), PHONE_INVALID),
        _extension(frame, pl.lit(raw["phone"])),
        _kept_as_entered(frame, COUNTRY_AS_ENTERED, pl.lit(raw["country"]), COUNTRY_UNKNOWN),
    )
