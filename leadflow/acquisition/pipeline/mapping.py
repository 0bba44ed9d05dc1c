"""Stage 2, mapping: which file column feeds which field of the kind being imported.

Columns are matched by name and common synonyms; `--map "Column=field"` overrides; any
column left over is kept as a custom attribute `attr.<slug of its header>` (a contact's,
company's, deal's or spend entry's attributes, an activity's data) unless it is mapped to
`skip`.
A header that names a currency in brackets, "Amount spent (USD)", is matched without it.
CRM exports that prefix every header with the record's entity and suffix a type
("Person - Email - Work", Pipedrive) are matched without the prefix and with the type, and
a contact's empty phone, email or creation time is filled from the file's other columns for
it (`fill_from_other_columns`).
"""

import re
import unicodedata

import polars as pl

from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.rejects import restore_neutralised
from leadflow.errors import LeadflowError

CONTACT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "country",
    "company",
    "external_id",
    "created_at",
    "updated_at",
    "channel",
    "campaign",
    "full_name",  # split into first_name and last_name where the file has neither
    "lifecycle_stage",  # a new contact's stage (pipeline/funnel.py)
    "owner",  # a user's email, login or full name
)
ATTR_PREFIX = "attr."
SKIP = "skip"  # `--map "Column=skip"` drops a column

# A contact's phone and email columns by the kind of number or address they hold. A mobile,
# home or other one takes the field only when the file has no plainer column for it
# (`LESSER_NAMES`), and fills it where that column is empty (`FILLED_FROM`).
MOBILE_PHONES = (
    *("mobile", "mobile phone", "mobile phone number", "mobile number", "cell", "cell phone"),
    *("cellphone", "cell phone number", "handy", "mobil", "mobiltelefon", "mobilnummer"),
    *("téléphone portable", "téléphone mobile", "portable phone", "móvil", "teléfono móvil"),
    "celular",
)
HOME_PHONES = ("home phone", "home phone 2", "home telephone", "private phone", "personal phone")
# "Phone 1" / "Phone 2" (generated sample lists, spreadsheet exports): the first is the phone.
OTHER_PHONES = ("other phone", "phone 2", "phone2", "secondary phone", "alternate phone")
# When a person signed up or subscribed: their creation time unless the file has its own.
SUBSCRIBED_DATES = (
    *("subscription date", "date subscribed", "subscribed on", "join date", "date joined"),
    *("registration date", "registered on", "date registered"),
)
WORK_EMAILS = ("work email", "business email", "work e-mail", "business e-mail")
PERSONAL_EMAILS = ("home email", "personal email", "private email", "home e-mail")
OTHER_EMAILS = ("other email", "other e-mail")

# Header spellings seen in vendor lists and CRM exports, compared after _key() (which folds
# accents: "Téléphone" is "telephone"). French, German and Spanish lists use their own words.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "email id",
              *WORK_EMAILS, *PERSONAL_EMAILS, *OTHER_EMAILS,
              "courriel", "adresse e-mail", "adresse email", "e-mail-adresse",
              "correo electrónico"),
    "first_name": ("first name", "firstname", "given name", "forename", "first",
                   "prénom", "vorname"),
    # "Nom" and "Nombre" are a whole name alone, and one half of it beside the other half
    # (`NAME_HALVES`).
    "full_name": ("full name", "name", "contact name", "contact", "person", "person name",
                  "lead name", "customer name", "attendee name", "fullname",
                  "nom", "nom complet", "nombre", "nombre completo", "vollständiger name"),
    "last_name": ("last name", "lastname", "surname", "family name", "last",
                  "nom de famille", "nachname", "familienname", "apellido", "apellidos",
                  "apellido(s)"),
    # Outlook names its main number "Business Phone", ZoomInfo "Direct Phone Number".
    "phone": ("phone", "phone no", "phone number", "telephone", "tel", "phone no.", "phone 1",
              "phone1",
              "business phone", "work phone", "office phone", "primary phone", "main phone",
              "direct phone", "direct phone number", "telefon", "telefonnummer", "teléfono",
              "numéro de téléphone", "número de teléfono",
              *MOBILE_PHONES, *HOME_PHONES, *OTHER_PHONES),
    "job_title": ("job title", "title", "position", "role", "designation"),
    # HubSpot exports "Country/Region", Salesforce "Mailing Country" (and "Account Name").
    "country": ("country", "country code", "nation", "country region", "mailing country",
                "pays", "land", "país"),
    # Salesforce's lead reports name the company "Company / Account".
    "company": ("company", "company name", "organisation", "organization", "account",
                "employer", "account name", "organisation name", "organization name",
                "company account", "société", "entreprise", "raison sociale", "firma",
                "unternehmen", "empresa"),
    "external_id": ("external id", "id", "lead id", "prospect id", "contact id", "record id",
                    "customer id", "customer number", "client id", "member id", "crm id"),
    # Zoho says "Created Time", Pipedrive "Person created".
    "created_at": ("created at", "created", "created date", "date created", "signup date",
                   "create date", "created on", "creation date", "date added",
                   "created time", "person created", "contact created", "lead created",
                   "date de création", "erstellt am", "erstellungsdatum",
                   "fecha de creación", *SUBSCRIBED_DATES),
    # When the source last changed the row: a merge lets a newer row's values win. Zoho
    # says "Modified Time", Mailchimp "LAST_CHANGED", Pipedrive "Update time".
    "updated_at": ("updated at", "updated", "last updated", "last modified", "modified",
                   "date modified", "modified date", "last modified date", "modified time",
                   "last changed", "update time", "date de modification", "geändert am",
                   "zuletzt geändert", "fecha de modificación"),
    # "Lead Source" in CRM exports names where a lead came from: Google, a webinar, a list.
    "channel": ("channel", "lead source", "source", "lead channel", "marketing channel"),
    "campaign": ("campaign", "campaign name"),
    "lifecycle_stage": ("lifecycle stage", "lifecycle", "stage", "lead stage", "contact stage",
                        "funnel stage"),
    "owner": ("owner", "contact owner", "lead owner", "account owner", "owner email",
              "sales rep", "assigned to", "salesperson"),
}  # fmt: skip

# Names that claim their field only after its plain names, in this order, whatever the order
# of the columns: "Phone" before "Mobile" before "Home Phone" before "Other Phone".
LESSER_NAMES: dict[str, tuple[tuple[str, ...], ...]] = {
    "email": (PERSONAL_EMAILS, OTHER_EMAILS),
    "phone": (MOBILE_PHONES, HOME_PHONES, OTHER_PHONES),
    "created_at": (SUBSCRIBED_DATES,),
}


def _plain_names(field: str) -> tuple[str, ...]:
    """A contact field's synonyms that are not among its lesser names."""
    lesser = {name for group in LESSER_NAMES.get(field, ()) for name in group}
    return tuple(name for name in SYNONYMS[field] if name not in lesser)


# A contact's field that is empty in its own column (or has none) is filled from the first
# of these columns, best first, that has a value; the column stays a custom attribute too.
# A mobile number reaches the person before a business line, which may be a switchboard.
# Mailchimp's "OPTIN_TIME" (when they subscribed, "CONFIRM_TIME" when they confirmed) is
# kept under its own name, as evidence of consent, and is the contact's creation time only
# when the file gives none.
FILLED_FROM: dict[str, tuple[tuple[str, ...], ...]] = {
    "email": (WORK_EMAILS, _plain_names("email"), PERSONAL_EMAILS, OTHER_EMAILS,
              ("e-mail 2 address", "e-mail 3 address", "secondary email", "alternate email")),
    "phone": (("primary phone", "main phone"), MOBILE_PHONES,
              (*_plain_names("phone"), "business phone 2"), HOME_PHONES, OTHER_PHONES),
    "created_at": (_plain_names("created_at"), SUBSCRIBED_DATES, ("optin time",),
                   ("confirm time",)),
    # Outlook writes a country per address: "Business Country/Region", "Home Country/Region".
    "country": (_plain_names("country"), ("business country region", "business country"),
                ("home country region", "home country"), ("other country region",)),
}  # fmt: skip

# Words that are a whole name alone but one half of it beside the other half: "Nom" beside
# "Prénom" is the last name, "Nombre" beside "Apellidos" the first, and "Name" beside
# "Vorname" or "First Name" (a German export, a form asking "First name" and "Name") the
# last: read as a whole name, it would be split only on rows without a first name, and the
# surname of every other row lost.
NAME_HALVES = {
    "nom": ("last_name", "first_name"),
    "nombre": ("first_name", "last_name"),
    "name": ("last_name", "first_name"),
}


CONTACT_REFERENCE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "contact_email": (
        "contact email",
        "contact e-mail",
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "person email",
        "customer email",
        # HubSpot's deal and activity exports name the record they are associated with.
        "associated contact email",
        "associated email",
        "primary contact email",
    ),
    "contact_external_id": (
        "contact external id",
        "contact id",
        "external id",
        "person id",
        "lead id",
        "prospect id",
        "customer id",
        "associated contact id",
    ),
}

COMPANY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("name", "company", "company name", "account", "account name", "organisation",
             "organization", "organisation name", "organization name", "business name",
             "company account", "société", "entreprise", "raison sociale", "firma",
             "empresa"),
    "domain": ("domain", "website", "web site", "url", "web", "company domain", "website url",
               "company website", "homepage", "site"),
    "industry": ("industry", "sector", "vertical", "industry type"),
    "size": ("size", "employees", "employee count", "number of employees", "no of employees",
             "headcount", "company size", "staff", "employees count"),
    "country": ("country", "country code", "hq country", "nation", "pays", "land", "país"),
    "created_at": ("created at", "created", "created date", "date created", "create date",
                   "organization created", "organisation created", "created time"),
    "external_id": ("external id", "id", "company id", "account id", "organisation id",
                    "organization id", "record id", "crm id"),
}  # fmt: skip

DEAL_SYNONYMS: dict[str, tuple[str, ...]] = {
    **CONTACT_REFERENCE_SYNONYMS,
    "name": ("name", "deal", "deal name", "opportunity", "opportunity name", "title"),
    "amount": ("amount", "value", "deal value", "deal amount", "price", "revenue", "total"),
    "currency": ("currency", "currency code", "deal currency"),
    "stage": ("stage", "deal stage", "status", "pipeline stage", "opportunity stage"),
    "created_at": ("created at", "created", "created date", "date created", "create date",
                   "opened", "opened at", "open date", "deal created", "created time"),
    "won_at": ("won at", "won", "won date", "date won", "won on", "won time"),
    "lost_at": ("lost at", "lost", "lost date", "date lost", "lost on", "lost time"),
    "closed_at": ("closed at", "close date", "closed date", "closed on", "closed",
                  "date closed", "close", "deal closed on"),
    "lost_reason": ("lost reason", "reason lost", "loss reason", "closed lost reason", "reason"),
    "owner": ("owner", "deal owner", "sales rep", "rep", "owner email", "assigned to"),
    "expected_close_on": ("expected close", "expected close date", "expected close on",
                          "expected closing date"),
    # The deal's own id. "External ID" is exactly this field's name, so it is the deal's;
    # the contact's is "Contact External ID" or "Contact ID".
    "external_id": ("deal id", "opportunity id", "record id", "deal external id", "id"),
}  # fmt: skip

ACTIVITY_SYNONYMS: dict[str, tuple[str, ...]] = {
    **CONTACT_REFERENCE_SYNONYMS,
    "kind": ("kind", "type", "activity", "activity type", "event", "event type", "action"),
    "occurred_at": ("occurred at", "date", "time", "timestamp", "date time", "datetime",
                    "when", "activity date", "event date", "created at", "created"),
    "channel": ("channel", "source", "medium"),
    "campaign": ("campaign", "campaign name"),
    "subject": ("subject", "title", "email subject"),
    "notes": ("notes", "note", "description", "details", "body", "comment", "comments"),
    "url": ("url", "page", "page url", "link", "link url"),
}  # fmt: skip

SPEND_SYNONYMS: dict[str, tuple[str, ...]] = {
    "spent_on": ("date", "day", "spent on", "spend date", "reporting starts", "reporting date",
                 "billing date", "invoice date", "start date", "start date in utc",
                 "time period"),
    "amount": ("amount", "cost", "spend", "spent", "amount spent", "total cost", "total spent",
               "amount paid", "total"),
    "currency": ("currency", "currency code", "cur"),
    "campaign": ("campaign", "campaign name"),
    "vendor": ("vendor", "supplier", "payee", "vendor name", "supplier name"),
    "channel": ("channel", "platform", "network", "publisher platform"),
    "note": ("note", "notes", "description", "memo", "details", "comment"),
}  # fmt: skip

# What each kind reads: its fields and their synonyms. A column left over is kept as
# `attr.NAME`: every kind has somewhere to keep it (a contact's, company's, deal's or spend
# entry's attributes, an activity's data).
KIND_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "contacts": (CONTACT_FIELDS, SYNONYMS),
    "companies": (tuple(COMPANY_SYNONYMS), COMPANY_SYNONYMS),
    "deals": (tuple(DEAL_SYNONYMS), DEAL_SYNONYMS),
    "activities": (tuple(ACTIVITY_SYNONYMS), ACTIVITY_SYNONYMS),
    "spend": (tuple(SPEND_SYNONYMS), SPEND_SYNONYMS),
}

CURRENCY_IN_HEADER = r"\(\s*([A-Za-z]{3})\s*\)"

# CRM exports that name every column after its record: Pipedrive's "Person - Email",
# "Organization - Name", "Deal - Value". Matched without the prefix of the kind imported.
ENTITY_PREFIXES: dict[str, tuple[str, ...]] = {
    "contacts": ("person", "contact", "lead"),
    "companies": ("organization", "organisation", "company", "account"),
    "deals": ("deal",),
    "activities": ("activity",),
    "spend": (),
}
# The type after a value's name, "Email - Work", "Phone - Mobile", read as "work email" and
# "mobile phone"; failing that, the bare name claims its field at the type's rank.
TYPE_RANKS = {"work": 1, "business": 1, "office": 1, "main": 1, "primary": 1, "mobile": 2,
              "cell": 2, "home": 3, "personal": 3, "private": 3, "other": 4}  # fmt: skip
TYPE_SUFFIX = re.compile(rf"^(.+?)\s+[-–—]\s+({'|'.join(TYPE_RANKS)})\s*$", re.IGNORECASE)


class InvalidMapping(LeadflowError):
    status_code = 422


def _unaccented(text: str) -> str:
    """Casefolded, accents dropped: "Prénom" is "prenom", "Straße" "strasse"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", _unaccented(header)).strip()


def _by_key(synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(s): field for field, names in synonyms.items() for s in names}


def _ranks(groups: dict[str, tuple[tuple[str, ...], ...]], first: int) -> dict[str, int]:
    """Each name's rank in its field's groups, from `first`; a name in two, its first."""
    ranks: dict[str, int] = {}
    for names in groups.values():
        for rank, group in enumerate(names, start=first):
            for name in group:
                ranks.setdefault(_key(name), rank)
    return ranks


_BY_KEY = _by_key(SYNONYMS)
_BY_KEY_OF_KIND = {kind: _by_key(synonyms) for kind, (_, synonyms) in KIND_FIELDS.items()}
_LESSER_RANKS = _ranks(LESSER_NAMES, 2)
_FILL_RANKS = {field: _ranks({field: groups}, 0) for field, groups in FILLED_FROM.items()}
_PREFIX_OF_KIND = {
    kind: re.compile(rf"^\s*(?:{'|'.join(words)})\s+[-–—]\s+(.+)$", re.IGNORECASE)
    for kind, words in ENTITY_PREFIXES.items()
    if words
}


def _spellings(header: str, kind: str) -> list[tuple[str, int]]:
    """The keys a header is looked up by, best first, each with the rank a match by it has
    (unless its name has a lesser one): the header as it is, without a currency, without its
    entity prefix, with its type before its name ("Phone - Mobile" as "mobile phone"), and
    the name without its type at the type's rank ("Person - Email - Home" as "email")."""
    keys = [(_key(header), 1), (_key(re.sub(CURRENCY_IN_HEADER, "", header)), 1)]
    rest = header
    prefix = _PREFIX_OF_KIND.get(kind)
    if prefix and (found := prefix.match(header)):
        rest = found.group(1)
        keys.append((_key(rest), 1))
    if typed := TYPE_SUFFIX.match(rest):
        name, kind_word = typed.group(1), typed.group(2).casefold()
        keys += [(_key(f"{kind_word} {name}"), 1), (_key(name), TYPE_RANKS[kind_word])]
    return keys


def _claim(header: str, kind: str) -> tuple[str, int] | None:
    """(field, rank) a header claims by synonym: rank 1 for a plain name, more for a lesser
    one ("Mobile", "Email - Home"), so the plainest column takes the field."""
    by_key = _BY_KEY_OF_KIND[kind]
    for key, rank in _spellings(header, kind):
        if key in by_key:
            return by_key[key], max(rank, _LESSER_RANKS.get(key, 1))
    return None


def fields_of(kind: str) -> tuple[str, ...]:
    return KIND_FIELDS[kind][0]


def currency_in_header(header: str) -> str | None:
    """The currency an ad platform names in a header: "Amount spent (USD)" gives USD."""
    found = re.search(CURRENCY_IN_HEADER, header)
    return found.group(1).upper() if found else None


def row_attributes(row: dict) -> dict:
    """A row's custom attributes: its `attr.*` cells that hold something, by name."""
    return {
        key.removeprefix(ATTR_PREFIX): value
        for key, value in row.items()
        if key.startswith(ATTR_PREFIX) and value is not None and value != ""
    }


def merged_attributes(stored: dict, given: dict, *, replace: bool) -> dict:
    """`stored` with the file's attributes: `replace` lets a given value win, otherwise only
    a name that holds nothing yet is filled."""
    merged = dict(stored)
    for key, value in given.items():
        if replace or merged.get(key) in (None, ""):
            merged[key] = value
    return merged


def attribute_slug(header: str) -> str:
    """The attribute a header's column is kept as: its letters and digits, accents folded
    ("Prénom" is `prenom`), and letters of other scripts kept ("電話")."""
    return re.sub(r"[\W_]+", "_", _unaccented(header)).strip("_") or "column"


def plan_mapping(
    headers: list[str], overrides: dict[str, str], *, kind: str = "contacts"
) -> dict[str, str]:
    """Header -> field (`email`, `attr.source`, or `skip`), explicit choices first."""
    if kind not in KIND_FIELDS:
        raise InvalidMapping(f"No mapping for imports of {kind}.")
    known, _ = KIND_FIELDS[kind]
    by_name = {h.casefold(): h for h in headers}
    plan: dict[str, str] = {}
    for column, field in overrides.items():
        header = by_name.get(column.strip().casefold())
        if header is None:
            raise InvalidMapping(f"--map names a column the file does not have: {column!r}")
        field = field.strip()
        named = field.startswith(ATTR_PREFIX) and field.removeprefix(ATTR_PREFIX).strip()
        allowed = field in known or field == SKIP or bool(named)
        if not allowed:
            raise InvalidMapping(
                f"--map {column}={field}: unknown field for {kind}; use one of "
                f"{', '.join(known)}, attr.NAME or skip."
            )
        plan[header] = field
    chosen = set(plan)
    taken = {f for f in plan.values() if f in known}
    # Exact names first, so "Contact Email" is not beaten to `contact_email` by "Email".
    exact = {h: _key(h).replace(" ", "_") for h in headers if h not in plan}
    for header, name in exact.items():
        if name in known and name not in taken:
            plan[header] = name
            taken.add(name)
    # Then synonyms, plain names before lesser ones, each in the file's order.
    claims = {h: _claim(h, kind) for h in headers if h not in plan}
    ranked = sorted((c[1], i, h) for i, (h, c) in enumerate(claims.items()) if c is not None)
    for _, _, header in ranked:
        field = claims[header][0]
        if field not in taken:
            plan[header] = field
            taken.add(field)
    for header in headers:
        plan.setdefault(header, ATTR_PREFIX + attribute_slug(header))
    if kind == "contacts":
        _halve_names(plan, chosen)
    fields = [f for f in plan.values() if f != SKIP]
    doubled = sorted({f for f in fields if fields.count(f) > 1})
    if doubled:
        raise InvalidMapping(f"Two columns map to the same field: {', '.join(doubled)}")
    return {header: plan[header] for header in headers}


def _halve_names(plan: dict[str, str], chosen: set[str]) -> None:
    """A "Nom", "Nombre" or "Name" column mapped to the full name becomes the half of it the file
    lacks when the file has the other half (`NAME_HALVES`); one chosen by `--map` stays."""
    for header, field in plan.items():
        halves = NAME_HALVES.get(_key(header))
        if field != "full_name" or header in chosen or halves is None:
            continue
        half, other = halves
        if other in plan.values() and half not in plan.values():
            plan[header] = half


def _fill_rank(header: str, field: str) -> int | None:
    ranks = _FILL_RANKS[field]
    for key, _ in _spellings(header, "contacts"):
        if key in ranks:
            return ranks[key]
    return None


def fill_from_other_columns(mapped: pl.DataFrame, plan: dict[str, str]) -> pl.DataFrame:
    """A contact's email, phone, creation time and country, where empty, from the file's
    other columns for them (`FILLED_FROM`), best first and then in the file's order.

    A column counts only while kept as its own attribute (`attr.<slug of its header>`): its
    value stays there too, so nothing the file says is lost, and `--map` to another name or
    to skip keeps it out. The text is copied as typed: the normalise stage reads the phone
    and the date afterwards, as for the field's own column.
    """
    fills = []
    for field in FILLED_FROM:
        columns = sorted(
            (rank, position, target)
            for position, (header, target) in enumerate(plan.items())
            if target == ATTR_PREFIX + attribute_slug(header)
            and (rank := _fill_rank(header, field)) is not None
        )
        if columns:
            cells = [_cell(field), *(_cell(target) for _, _, target in columns)]
            fills.append(pl.coalesce(*cells, pl.col(field)).alias(field))
    return mapped.with_columns(fills) if fills else mapped


def _cell(column: str) -> pl.Expr:
    """The column's value, null where it holds nothing but spaces."""
    return pl.when(pl.col(column).str.strip_chars() != "").then(pl.col(column))


def apply_mapping(
    frame: pl.DataFrame, plan: dict[str, str], *, kind: str = "contacts"
) -> pl.DataFrame:
    """The frame with columns named by field; every field of the kind present (empty if not
    mapped). A contact's empty phone, email or creation time is filled from its other
    columns (`fill_from_other_columns`), and its full name fills first and last name
    (`split_full_names`). A cell our export neutralised ("'=1+1") is read without its
    apostrophe (`rejects.restore_neutralised`)."""
    kept = {header: field for header, field in plan.items() if field != SKIP}
    mapped = frame.select(
        LINE, FIELD_COUNT, *[pl.col(header).alias(field) for header, field in kept.items()]
    )
    mapped = restore_neutralised(mapped, list(kept.values()))
    missing = [f for f in fields_of(kind) if f not in mapped.columns]
    mapped = mapped.with_columns(pl.lit("", dtype=pl.String).alias(f) for f in missing)
    if kind == "contacts":
        mapped = fill_from_other_columns(mapped, plan)
        mapped = split_full_names(mapped).drop("full_name")
    return mapped


def _ignoring_dots(words: tuple[str, ...]) -> str:
    """One regex alternative for words however they are dotted: "PhD" also matches "Ph.D."
    and "P.H.D.", the way credentials are typed in lead lists."""
    spelled = (r"\.?".join(word) + r"\.?" for word in sorted(words, key=len, reverse=True))
    return "(?:" + "|".join(spelled) + ")"


# Words around a name that are neither its first nor its last part, and the particles that
# belong to a last name ("van Beethoven", "de la Cruz"), for `split_full_names`.
NAME_TITLES = (
    r"(?:mr|mrs|ms|miss|mx|dr|doctor|prof|professor|sir|dame|rev|revd|hon"
    r"|herr|frau|mme|mlle|sr\.|sra\.|srta\.|dra\.)\.?"
)
# Generational suffixes and degrees no one is named: dropped even without a comma
# ("John Smith Jr.", "Ann Lee PhD").
NAME_SUFFIXES = (
    *("jr", "sr", "ii", "iii", "iv"),
    *("phd", "dphil", "md", "mbbs", "dds", "dmd", "dvm", "pharmd", "psyd", "edd"),
    *("jd", "llm", "esq", "esquire", "mba", "msc", "bsc", "cpa"),
)
# Degrees, licences and certifications of US and UK business lists. Some are also names
# ("Ma", "Do", "Pa"), so they are dropped only after a comma and only when a whole name is
# left: "Ann Lee, DO" is Ann Lee, but "Nguyen, Do" is Do Nguyen.
NAME_CREDENTIALS = (
    *("ma", "ba", "bs", "ms", "mfa", "mph", "mpa", "msw", "lcsw", "llb", "lld", "mres"),
    *("meng", "beng", "ceng", "peng", "pe", "ra", "aia"),
    *("rn", "bsn", "msn", "dnp", "np", "lpn", "crna", "pa", "pa-c", "do", "dc", "od"),
    *("frcs", "frcp", "mrcp", "mrcs", "frcgp", "mrcgp"),
    *("cfa", "cfp", "cma", "cia", "cisa", "cism", "cissp", "cgma", "chfc", "clu", "cfe"),
    *("aca", "fca", "acca", "fcca", "acma", "fcma", "cima", "mrics", "frics"),
    *("mcipd", "fcipd", "mcips", "frsa", "cae", "pmp", "csm", "cscp", "cpim"),
    *("phr", "sphr", "shrm-cp", "shrm-scp", "qc", "kc", "obe", "mbe", "cbe"),
)
NAME_PARTICLES = r"(?:van|von|de|der|den|del|della|di|da|du|dos|das|le|la|ten|ter|bin|al|st\.?)"


def split_full_names(frame: pl.DataFrame) -> pl.DataFrame:
    """first_name and last_name from full_name on the rows that have neither.

    Column expressions, so a million names take a moment: titles, suffixes and credentials
    are dropped, dotted or not ("Dr. Ann Lee, Ph.D.", "Lee, Mr. John", "Ann Lee, RN, CPA"),
    so a comma left over means "Lee, Ann" is last name first; otherwise the last word, with
    the particles before it ("Ludwig van Beethoven"), is the last name and the rest the
    first. A single word is a first name, unless a title stands before it ("Dr. Lee",
    "Lee, Dr.": a surname). The cells are left as typed otherwise: casing is
    the normalise stage's.
    """
    if frame.get_column("full_name").str.strip_chars().fill_null("").eq("").all():
        return frame
    name = pl.col("full_name").str.strip_chars().str.replace_all(r"\s+", " ")
    titles = rf"(?i)^(?:{NAME_TITLES}(?:\s+|$))+"
    suffix = _ignoring_dots(NAME_SUFFIXES)
    credential = _ignoring_dots(NAME_SUFFIXES + NAME_CREDENTIALS)
    titled = name.str.contains(titles)
    name = name.str.replace(titles, "")
    after_comma = rf",[\s,]*{credential}(?:[\s,]+{credential})*"
    whole_name = name.str.extract(rf"(?i)^(\S+ \S.*?)(?:\s*{after_comma}|\s+{suffix})+$", 1)
    name = pl.coalesce(whole_name, name)
    name = name.str.replace(rf"(?i)(?:,?\s+{suffix})+$", "").str.strip_chars(" ,")
    comma = name.str.splitn(",", 2)
    words = name.str.extract_groups(
        rf"(?i)^(?P<first>.+?)\s+(?P<last>(?:{NAME_PARTICLES}\s+)*\S+)$"
    )
    has_comma = name.str.contains(",")
    # "Dr. Lee", "Mr Smith": a title before one word is the way to address a surname.
    surname_only = titled & name.str.contains(rf"(?i)^(?:{NAME_PARTICLES}\s+)*[^\s,]+$")
    first = (
        pl.when(has_comma)
        .then(comma.struct.field("field_1").str.strip_chars().str.replace(titles, ""))
        .when(surname_only)
        .then(pl.lit(""))
        .otherwise(pl.coalesce(words.struct.field("first"), name))
    )
    last = (
        pl.when(has_comma)
        .then(comma.struct.field("field_0").str.strip_chars())
        .when(surname_only)
        .then(name)
        .otherwise(words.struct.field("last"))
    )
    empty = pl.col("first_name").fill_null("").str.strip_chars().eq("") & pl.col(
        "last_name"
    ).fill_null("").str.strip_chars().eq("")
    # Lazily, so the cleaned name that first and last name both start from is worked out once.
    return (
        frame.lazy()
        .with_columns(
            pl.when(empty)
            .then(first.fill_null(""))
            .otherwise(pl.col("first_name"))
            .alias("first_name"),
            pl.when(empty)
            .then(last.fill_null(""))
            .otherwise(pl.col("last_name"))
            .alias("last_name"),
        )
        .collect()
    )
