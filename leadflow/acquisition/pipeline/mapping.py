"""Stage 2, mapping: which file column feeds which field of the kind being imported.

Columns are matched by name and common synonyms; `--map "Column=field"` overrides; any
column left over is kept as a custom attribute `attr.<slug of its header>` (a contact's,
company's, deal's or spend entry's attributes, an activity's data) unless it is mapped to
`skip`.
A header that names a currency in brackets, "Amount spent (USD)", is matched without it.
"""

import re

import polars as pl

from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
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

# Header spellings seen in vendor lists and CRM exports, compared after _key().
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "email id"),
    "first_name": ("first name", "firstname", "given name", "forename", "first"),
    "full_name": (
        "full name",
        "name",
        "contact name",
        "contact",
        "person",
        "person name",
        "lead name",
        "customer name",
        "attendee name",
        "fullname",
    ),
    "last_name": ("last name", "lastname", "surname", "family name", "last"),
    "phone": (
        "phone",
        "phone no",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "cell",
        "phone no.",
    ),
    "job_title": ("job title", "title", "position", "role", "designation"),
    # HubSpot exports "Country/Region", Salesforce "Mailing Country" (and "Account Name").
    "country": ("country", "country code", "nation", "country region", "mailing country"),
    "company": (
        "company",
        "company name",
        "organisation",
        "organization",
        "account",
        "employer",
        "account name",
        "organisation name",
        "organization name",
    ),
    "external_id": ("external id", "id", "lead id", "prospect id", "contact id", "record id"),
    "created_at": (
        "created at",
        "created",
        "created date",
        "date created",
        "signup date",
        "create date",
        "created on",
        "creation date",
        "date added",
    ),
    # When the source last changed the row: a merge lets a newer row's values win.
    "updated_at": (
        "updated at",
        "updated",
        "last updated",
        "last modified",
        "modified",
        "date modified",
        "modified date",
        "last modified date",
    ),
    # "Lead Source" in CRM exports names where a lead came from: Google, a webinar, a list.
    "channel": ("channel", "lead source", "source", "lead channel", "marketing channel"),
    "campaign": ("campaign", "campaign name"),
    "lifecycle_stage": ("lifecycle stage", "lifecycle", "stage", "lead stage", "contact stage",
                        "funnel stage"),
    "owner": ("owner", "contact owner", "lead owner", "account owner", "owner email",
              "sales rep", "assigned to", "salesperson"),
}  # fmt: skip


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
             "organization", "organisation name", "organization name", "business name"),
    "domain": ("domain", "website", "web site", "url", "web", "company domain", "website url",
               "company website", "homepage", "site"),
    "industry": ("industry", "sector", "vertical", "industry type"),
    "size": ("size", "employees", "employee count", "number of employees", "no of employees",
             "headcount", "company size", "staff", "employees count"),
    "country": ("country", "country code", "hq country", "nation"),
    "created_at": ("created at", "created", "created date", "date created", "create date"),
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
                   "opened", "opened at", "open date"),
    "won_at": ("won at", "won", "won date", "date won", "won on"),
    "lost_at": ("lost at", "lost", "lost date", "date lost", "lost on"),
    "closed_at": ("closed at", "close date", "closed date", "closed on", "closed",
                  "date closed", "close"),
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


class InvalidMapping(LeadflowError):
    status_code = 422


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.casefold()).strip()


def _by_key(synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(s): field for field, names in synonyms.items() for s in names}


_BY_KEY = _by_key(SYNONYMS)
_BY_KEY_OF_KIND = {kind: _by_key(synonyms) for kind, (_, synonyms) in KIND_FIELDS.items()}


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
    return re.sub(r"[^a-z0-9]+", "_", header.casefold()).strip("_") or "column"


def plan_mapping(
    headers: list[str], overrides: dict[str, str], *, kind: str = "contacts"
) -> dict[str, str]:
    """Header -> field (`email`, `attr.source`, or `skip`), explicit choices first."""
    if kind not in KIND_FIELDS:
        raise InvalidMapping(f"No mapping for imports of {kind}.")
    known, _ = KIND_FIELDS[kind]
    by_key = _BY_KEY_OF_KIND[kind]
    by_name = {h.casefold(): h for h in headers}
    plan: dict[str, str] = {}
    for column, field in overrides.items():
        header = by_name.get(column.strip().casefold())
        if header is None:
            raise InvalidMapping(f"--map names a column the file does not have: {column!r}")
        field = field.strip()
        allowed = field in known or field == SKIP or field.startswith(ATTR_PREFIX)
        if not allowed:
            raise InvalidMapping(
                f"--map {column}={field}: unknown field for {kind}; use one of "
                f"{', '.join(known)}, attr.NAME or skip."
            )
        plan[header] = field
    taken = {f for f in plan.values() if f in known}
    # Exact names first, so "Contact Email" is not beaten to `contact_email` by "Email".
    exact = {h: _key(h).replace(" ", "_") for h in headers if h not in plan}
    for header, name in exact.items():
        if name in known and name not in taken:
            plan[header] = name
            taken.add(name)
    for header in headers:
        if header in plan:
            continue
        key = _key(header)
        field = by_key.get(key) or by_key.get(_key(re.sub(CURRENCY_IN_HEADER, "", header)))
        if field and field not in taken:
            plan[header] = field
            taken.add(field)
        else:
            plan[header] = ATTR_PREFIX + attribute_slug(header)
    fields = [f for f in plan.values() if f != SKIP]
    doubled = sorted({f for f in fields if fields.count(f) > 1})
    if doubled:
        raise InvalidMapping(f"Two columns map to the same field: {', '.join(doubled)}")
    return {header: plan[header] for header in headers}


def apply_mapping(
    frame: pl.DataFrame, plan: dict[str, str], *, kind: str = "contacts"
) -> pl.DataFrame:
    """The frame with columns named by field; every field of the kind present (empty if not
    mapped). A contact's full name fills first and last name (`split_full_names`)."""
    kept = {header: field for header, field in plan.items() if field != SKIP}
    mapped = frame.select(
        LINE, FIELD_COUNT, *[pl.col(header).alias(field) for header, field in kept.items()]
    )
    missing = [f for f in fields_of(kind) if f not in mapped.columns]
    mapped = mapped.with_columns(pl.lit("", dtype=pl.String).alias(f) for f in missing)
    if kind == "contacts":
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
    first. A single word is a first name. The cells are left as typed otherwise: casing is
    the normalise stage's.
    """
    if frame.get_column("full_name").str.strip_chars().fill_null("").eq("").all():
        return frame
    name = pl.col("full_name").str.strip_chars().str.replace_all(r"\s+", " ")
    titles = rf"(?i)^(?:{NAME_TITLES}\s+)+"
    suffix = _ignoring_dots(NAME_SUFFIXES)
    credential = _ignoring_dots(NAME_SUFFIXES + NAME_CREDENTIALS)
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
    first = (
        pl.when(has_comma)
        .then(comma.struct.field("field_1").str.strip_chars().str.replace(titles, ""))
        .otherwise(pl.coalesce(words.struct.field("first"), name))
    )
    last = (
        pl.when(has_comma)
        .then(comma.struct.field("field_0").str.strip_chars())
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
