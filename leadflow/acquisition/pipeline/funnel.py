"""Stage 3 for a contact's place in the funnel: the lifecycle stage and the owner a list gives.

An old CRM's export says where each person stood ("Marketing Qualified Lead", "customer")
and who owned them (a rep's email, login or name). A new contact starts at that stage, with
that owner. A value that is not understood leaves the field at its default (stage lead, no
owner), is counted in report.warnings and is kept as a custom attribute, so nothing typed
is lost. A full name that several active users share names none of them; it is kept the
same way, under a warning of its own: "not found" would send a person looking for a user
who does exist. Column expressions over the distinct values; the users are read once per
import, before the chunks (the cleaning thread touches no database).
"""

import re

import polars as pl
from django.contrib.auth import get_user_model

from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX
from leadflow.acquisition.pipeline.values import blank_to_null
from leadflow.contacts.models import LifecycleStage

STAGE_ATTRIBUTE = "lifecycle_stage_as_entered"
OWNER_ATTRIBUTE = "owner_as_entered"
STAGE_WARNING = f"lifecycle stage not recognised (kept as attribute {STAGE_ATTRIBUTE})"
OWNER_WARNING = f"owner not found (kept as attribute {OWNER_ATTRIBUTE})"
OWNER_AMBIGUOUS_WARNING = f"owner matches several users (kept as attribute {OWNER_ATTRIBUTE})"
STAGE_UNKNOWN = "_stage_unknown"
OWNER_UNKNOWN = "_owner_unknown"
OWNER_AMBIGUOUS = "_owner_ambiguous"

# How CRMs spell the stages, compared after _key(): HubSpot writes "marketingqualifiedlead"
# internally and "Marketing Qualified Lead" in exports, others "MQL" or "Prospect".
STAGE_SYNONYMS = {
    LifecycleStage.SUBSCRIBER: ("subscriber", "newsletter subscriber", "subscribed"),
    LifecycleStage.LEAD: ("lead", "new lead", "new", "prospect", "raw lead", "cold lead"),
    LifecycleStage.MQL: ("mql", "marketing qualified lead", "marketingqualifiedlead",
                         "marketing qualified", "marketing lead"),
    LifecycleStage.SQL: ("sql", "sales qualified lead", "salesqualifiedlead",
                         "sales qualified", "qualified lead", "qualified"),
    LifecycleStage.OPPORTUNITY: ("opportunity", "opp", "in negotiation"),
    LifecycleStage.CUSTOMER: ("customer", "client", "closed won", "paying customer"),
    LifecycleStage.ADVOCATE: ("advocate", "evangelist", "promoter", "champion"),
    LifecycleStage.DISQUALIFIED: ("disqualified", "unqualified", "not qualified", "junk"),
}  # fmt: skip


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", value.casefold()).strip()


STAGE_TABLE = {_key(name): stage.value for stage, names in STAGE_SYNONYMS.items() for name in names}


def owner_directory() -> dict[str, int | None]:
    """Active users by what a list may call them: email, login, and full name; keys
    casefolded. A full name several users share maps to None, unless it is someone's email
    or login (those name one user, and win)."""
    by_name: dict[str, set[int]] = {}
    directory: dict[str, int | None] = {}
    users = get_user_model().objects.filter(is_active=True)
    for pk, email, username, first, last in users.values_list(
        "pk", "email", "username", "first_name", "last_name"
    ):
        for handle in (email, username):
            if handle:
                directory.setdefault(handle.strip().casefold(), pk)
        full = " ".join(f"{first} {last}".split()).casefold()
        if full:
            by_name.setdefault(full, set()).add(pk)
    for name, ids in by_name.items():
        directory.setdefault(name, next(iter(ids)) if len(ids) == 1 else None)
    return directory


def read_funnel_fields(frame: pl.DataFrame, owners: dict[str, int | None]) -> pl.DataFrame:
    """lifecycle_stage as a stage value (null: none given or not understood), owner_id
    (null likewise), STAGE_UNKNOWN, OWNER_UNKNOWN and OWNER_AMBIGUOUS flags, and the values
    not understood as attributes. `owners` is `owner_directory()`."""
    stage_raw = blank_to_null(pl.col("lifecycle_stage"))
    owner_raw = blank_to_null(pl.col("owner"))
    stage_key = stage_raw.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars()
    stage = stage_key.replace_strict(STAGE_TABLE, default=None, return_dtype=pl.String)
    owner_key = owner_raw.str.replace_all(r"\s+", " ").str.to_lowercase()
    found = {key: pk for key, pk in owners.items() if pk is not None}
    shared_names = [key for key, pk in owners.items() if pk is None]
    owner = owner_key.replace_strict(found, default=None, return_dtype=pl.Int64)
    owner_ambiguous = owner_key.is_in(shared_names)
    stage_unknown = stage_raw.is_not_null() & stage.is_null()
    owner_unknown = owner_raw.is_not_null() & owner.is_null() & ~owner_ambiguous
    extra = []
    for attribute, raw, unknown in (
        (STAGE_ATTRIBUTE, stage_raw, stage_unknown),
        (OWNER_ATTRIBUTE, owner_raw, owner_unknown | owner_ambiguous),
    ):
        if ATTR_PREFIX + attribute not in frame.columns:  # a column of that name wins
            extra.append(pl.when(unknown).then(raw).alias(ATTR_PREFIX + attribute))
    return frame.with_columns(
        stage.alias("lifecycle_stage"),
        owner.alias("owner_id"),
        stage_unknown.fill_null(False).alias(STAGE_UNKNOWN),
        owner_unknown.fill_null(False).alias(OWNER_UNKNOWN),
        owner_ambiguous.fill_null(False).alias(OWNER_AMBIGUOUS),
        *extra,
    ).drop("owner")


def funnel_warnings(frame: pl.DataFrame) -> dict[str, int]:
    """The report's warning counts (only the ones that occur)."""
    counts = {
        STAGE_WARNING: int(frame[STAGE_UNKNOWN].sum()),
        OWNER_WARNING: int(frame[OWNER_UNKNOWN].sum()),
        OWNER_AMBIGUOUS_WARNING: int(frame[OWNER_AMBIGUOUS].sum()),
    }
    return {k: v for k, v in counts.items() if v}
