"""Stage 2, mapping: which file column feeds which contact field.

Columns are matched by name and common synonyms; `--map "Column=field"` overrides; any
column left over is kept as a custom attribute `attr.<slug of its header>`.
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
    "channel",
    "campaign",
)
ATTR_PREFIX = "attr."
SKIP = "skip"  # `--map "Column=skip"` drops a column

# Header spellings seen in vendor lists and CRM exports, compared after _key().
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "email id"),
    "first_name": ("first name", "firstname", "given name", "forename", "first"),
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
    "country": ("country", "country code", "nation"),
    "company": ("company", "company name", "organisation", "organization", "account", "employer"),
    "external_id": ("external id", "id", "lead id", "prospect id", "contact id", "record id"),
    "created_at": ("created at", "created", "created date", "date created", "signup date"),
    "channel": ("channel",),
    "campaign": ("campaign", "campaign name"),
}


class InvalidMapping(LeadflowError):
    status_code = 422


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.casefold()).strip()


_BY_KEY = {_key(s): field for field, names in SYNONYMS.items() for s in names}


def attribute_slug(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.casefold()).strip("_") or "column"


def plan_mapping(headers: list[str], overrides: dict[str, str]) -> dict[str, str]:
    """Header -> field (`email`, `attr.source`, or `skip`), explicit choices first."""
    by_name = {h.casefold(): h for h in headers}
    plan: dict[str, str] = {}
    for column, field in overrides.items():
        header = by_name.get(column.strip().casefold())
        if header is None:
            raise InvalidMapping(f"--map names a column the file does not have: {column!r}")
        field = field.strip()
        if field not in CONTACT_FIELDS and field != SKIP and not field.startswith(ATTR_PREFIX):
            raise InvalidMapping(
                f"--map {column}={field}: unknown field; use one of "
                f"{', '.join(CONTACT_FIELDS)}, attr.NAME or skip."
            )
        plan[header] = field
    taken = {f for f in plan.values() if f in CONTACT_FIELDS}
    for header in headers:
        if header in plan:
            continue
        field = _BY_KEY.get(_key(header))
        if field and field not in taken:
            plan[header] = field
            taken.add(field)
        else:
            plan[header] = ATTR_PREFIX + attribute_slug(header)
    fields = [f for f in plan.values() if f != SKIP]
    doubled = sorted({f for f in fields if fields.count(f) > 1})
    if doubled:
        raise InvalidMapping(f"Two columns map to the same field: {', '.join(doubled)}")
    return plan


def apply_mapping(frame: pl.DataFrame, plan: dict[str, str]) -> pl.DataFrame:
    """The frame with columns named by field; every contact field present (empty if unmapped)."""
    kept = {header: field for header, field in plan.items() if field != SKIP}
    mapped = frame.select(
        LINE, FIELD_COUNT, *[pl.col(header).alias(field) for header, field in kept.items()]
    )
    missing = [f for f in CONTACT_FIELDS if f not in mapped.columns]
    return mapped.with_columns(pl.lit("", dtype=pl.String).alias(f) for f in missing)
