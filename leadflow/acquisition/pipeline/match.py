"""Stage 5, match: duplicates inside the file, and rows that are contacts we already have.

A row is the same person as another row, or as a contact, when (in this order):
1. it has the same normalised email;
2. it has the same external id;
3. it has the same phone (E.164) and no email or name that tells them apart (`names_agree`):
   on a family line the contact whose first name fits; a row that fits several contacts on
   its phone, or a switchboard's phone, matches nothing;
4. its name is close (Jaro-Winkler on the first name, the same last name) and its company
   (token ratio, legal suffixes ignored) or postcode or street address agrees, nothing that
   both sides have disagrees, and exactly one candidate qualifies;
5. it is a bare name (nothing else places it) and exactly one contact is the same bare name
   (`match_bare_names`). Two different emails mean two people: such rows are never matched
   by phone or name.

Rows without email or external id go through steps 3 to 5 before the file is folded
(`match_loose_rows`), so a known contact does not join another row of the file. Steps 3 to
5 only look at rows steps 1 and 2 left unmatched, and steps 4 and 5 compare a row only with
the candidates that share its last name and first initial (blocking), so the cost grows
with the unmatched rows, not with the file or the table. The database's contacts arrive as
frames from the functions a `Lookup` holds (pipeline/lookup.py reads them in chunks); this
module itself never touches the database.

`plan_changes` then says what each policy does to each matched contact (see its docstring).
"""

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from leadflow.acquisition.dedupe.compare import similarity
from leadflow.acquisition.dedupe.normalise import clean_text
from leadflow.acquisition.models import DuplicatePolicy, ImportChangeAction
from leadflow.acquisition.pipeline.funnel import OWNER_ATTRIBUTE, STAGE_ATTRIBUTE
from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX, row_attributes
from leadflow.acquisition.pipeline.normalise import COUNTRY_AS_ENTERED, PHONE_AS_ENTERED
from leadflow.acquisition.pipeline.read import LINE
from leadflow.contacts.normalise import email_flags

DUPLICATE_IN_FILE = "_duplicate_in_file"
MATCH_ID = "_contact_id"  # the existing contact a row is, or null for a new one
MATCHED_BY = "_matched_by"  # "email", "external_id", "phone" or "name"
OTHER_EMAILS = "_other_emails"  # emails of in-file duplicates that differ from the kept one
RID = "_rid"  # the row's position in the usable frame: "first row" means the lowest
SAME_IMPORT = "_same_import"  # matched a contact this very import created (an earlier chunk)
PRE_MATCH_ID = "_pre_match_id"  # a row without email or external id matched before folding
PRE_MATCHED_BY = "_pre_matched_by"
TRIED = "_tried"  # the row was looked up by phone and name before folding

# Fields an update may fill when the contact has them empty; it never overwrites a value.
FILLABLE = ("email", "first_name", "last_name", "phone", "job_title", "country", "external_id")

EXISTING_SCHEMA = {
    "id": pl.Int64,
    **dict.fromkeys(FILLABLE, pl.String),
    "company_id": pl.Int64,
    "attributes": pl.String,  # JSON
}
# What pipeline/lookup.py returns: EXISTING_SCHEMA plus what matching and merging need.
CANDIDATE_SCHEMA = {
    **EXISTING_SCHEMA,
    "company_name": pl.String,
    "other_emails": pl.String,  # JSON list
    "updated_at": pl.Datetime("us", "UTC"),
    "email_is_role": pl.Boolean,
    "email_is_disposable": pl.Boolean,
    "source_import_id": pl.Int64,  # the import that created the contact
    "lifecycle_stage": pl.String,
    "owner_id": pl.Int64,
}

# Custom attributes that locate a person, as (attr.)names seen in lists; city alone is too
# common to count as agreement, but two different cities are a disagreement.
ADDRESS_ATTRIBUTES = {
    "postcode": ("postcode", "zip", "zip_code", "zipcode", "postal_code", "post_code", "plz"),
    "address": ("address", "street", "street_address", "address_line_1", "address1", "address_1"),
    "city": ("city", "town"),
}
# Legal forms dropped before companies are compared: "Acme Inc." is "ACME".
LEGAL_FORM_WORDS = frozenset(
    [
        "inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "corp", "corporation",
        "co", "company", "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv",
        "oy", "ab", "as", "aps", "pty", "pvt", "kk", "the",
    ]
)  # fmt: skip
LEGAL_FORMS = pl.Series("forms", sorted(LEGAL_FORM_WORDS)).implode()
FIRST_NAME_MIN = 0.92  # Jaro-Winkler: "Jon"/"John", "Katharina"/"Katarina" pass, "Jan"/"Joan" not
PHONE_FIRST_NAME_MIN = 0.85  # on a shared phone: "Kate"/"Katherine" pass, "John"/"Jane" not
LAST_NAME_MIN = 0.95
COMPANY_MIN = 90  # token sort ratio, 0..100
ADDRESS_MIN = 90
MAX_NAME_BLOCK = 200  # candidates sharing a last name and initial; above that, too common
MAX_SHARED_PHONE = 20  # contacts on one phone; above that, a switchboard that matches no one

# Warning labels (report.warnings) for matches refused as ambiguous.
PHONE_AMBIGUOUS = "phone shared by several contacts (not matched by phone)"
NAME_AMBIGUOUS = "name matches several contacts (not matched by name)"
NAME_TOO_COMMON = "name too common to match (not matched by name)"
EXTERNAL_ID_AS_ENTERED = "external_id_as_entered"
EXTERNAL_ID_CLASHED = "_external_id_clashed"  # match_existing's flag, for `clashes`
EXTERNAL_ID_CLASH = (
    "external id of another contact (matched by email; the id kept as attribute "
    f"{EXTERNAL_ID_AS_ENTERED})"
)
FILE_PHONE_AMBIGUOUS = "phone shared by rows with different emails (rows kept apart)"
FILE_NAME_AMBIGUOUS = "name matches rows with different emails (rows kept apart)"

# Columns the fuzzy comparison uses, on both sides (a file row, a contact).
_KEY_COLUMNS = ("_first", "_last", "_initial", "_company", "_postcode", "_address", "_city")


class Lookup(Protocol):
    """Where existing contacts come from (pipeline/lookup.DatabaseLookup, or a test's frames).

    Each returns a CANDIDATE_SCHEMA frame of the contacts that have one of the values.
    """

    def by_keys(self, *, emails: list[str], external_ids: list[str]) -> pl.DataFrame: ...

    def by_phones(self, phones: list[str], *, without_email: bool = False) -> pl.DataFrame: ...

    def by_names(self, names: pl.DataFrame, *, without_email: bool = False) -> pl.DataFrame:
        """`names` has last_name, _last and _initial (and may have first_name): the contacts
        in those blocks (only those without an email, if asked). A block without a last name
        is the contacts with that first name and none."""
        ...


# --- the original, email/external-id only matching (kept for existing callers) -------------


def mark_in_file_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """The first row of each email (or external id) is kept; later ones are duplicates."""
    repeated_email = pl.col("email").is_not_null() & ~pl.col("email").is_first_distinct()
    repeated_id = pl.col("external_id").is_not_null() & ~pl.col("external_id").is_first_distinct()
    return frame.with_columns((repeated_email | repeated_id).alias(DUPLICATE_IN_FILE))


def match_existing(frame: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """Adds MATCH_ID and MATCHED_BY, by email first, then external id.

    A row whose email is one contact's and whose external id another's matches by email
    (the address reaches the person); the external id, which the other contact keeps, is
    not written but kept as the attribute EXTERNAL_ID_AS_ENTERED, and `clashes` counts
    such rows for the report (EXTERNAL_ID_CLASH).

    An email among a contact's other emails (one `leadflow dedupe` merged away) is that
    contact's as well, unless it is another contact's email; when several contacts hold
    it, the lowest id (the oldest) is the one.
    """
    by_email = existing.select(pl.col("email"), pl.col("id").alias("_by_email")).drop_nulls()
    if "other_emails" in existing.columns:
        held = (
            existing.select(
                pl.col("other_emails").str.json_decode(pl.List(pl.String)).alias("email"),
                pl.col("id").alias("_by_email"),
            )
            .explode("email")
            .drop_nulls()
            .join(by_email, on="email", how="anti")
            .sort("_by_email")
            .unique("email", keep="first")
        )
        by_email = pl.concat([by_email, held])
    by_id = existing.select(pl.col("external_id"), pl.col("id").alias("_by_external_id"))
    frame = frame.join(by_email, on="email", how="left", nulls_equal=False).join(
        by_id.drop_nulls(), on="external_id", how="left", nulls_equal=False
    )
    clash = pl.col("_by_external_id").is_not_null() & (
        pl.col("_by_email").is_not_null() & (pl.col("_by_email") != pl.col("_by_external_id"))
    )
    how = (
        pl.when(pl.col("_by_email").is_not_null())
        .then(pl.lit("email"))
        .when(pl.col("_by_external_id").is_not_null())
        .then(pl.lit("external_id"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    kept = pl.when(clash).then(pl.col("external_id"))
    as_entered = ATTR_PREFIX + EXTERNAL_ID_AS_ENTERED
    if as_entered in frame.columns:
        kept = pl.coalesce(kept, pl.col(as_entered))
    return frame.with_columns(
        pl.coalesce("_by_email", "_by_external_id").alias(MATCH_ID),
        how.alias(MATCHED_BY),
        pl.when(clash).then(None).otherwise(pl.col("external_id")).alias("external_id"),
        kept.alias(as_entered),
        clash.fill_null(False).alias(EXTERNAL_ID_CLASHED),
    ).drop("_by_email", "_by_external_id")


def clashes(frame: pl.DataFrame) -> int:
    """Rows of a `match_existing` frame whose external id was another contact's."""
    return int(frame[EXTERNAL_ID_CLASHED].sum())


# --- keys and scores shared by in-file and database matching --------------------------------


def _attribute_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(ATTR_PREFIX)]


def _text_or_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr)


def company_key(expr: pl.Expr) -> pl.Expr:
    """A company name as compared: lower-cased, without accents, punctuation and legal form
    ("Société Acme, Inc." is "societe acme"). The one key by which matching finds a
    contact's company and `load.ensure_companies` folds a list's spellings into one. Dots
    go first, so that "S.A." and "L.L.C." are the forms SA and LLC."""
    words = clean_text(expr.str.replace_all(".", "", literal=True)).str.split(" ")
    kept = words.list.eval(pl.element().filter(~pl.element().is_in(LEGAL_FORMS)))
    return _text_or_null(kept.list.join(" "))


def _location_exprs(get: Callable[[str], pl.Expr | None]) -> list[pl.Expr]:
    """_postcode, _address, _city from whichever attribute spelling is there."""
    out = []
    for key, names in ADDRESS_ATTRIBUTES.items():
        found = [e for e in (get(n) for n in names) if e is not None]
        value = pl.coalesce(found) if found else pl.lit(None, dtype=pl.String)
        if key == "postcode":
            value = _text_or_null(clean_text(value).str.replace_all(" ", ""))
        else:
            value = clean_text(value)
        out.append(value.alias(f"_{key}"))
    return out


def block_initial(first_key: pl.Expr, last_key: pl.Expr) -> pl.Expr:
    """The second half of a name block: the first initial, or without a last name the
    whole first name, so that a one-word "Celine" is looked for among the Celines, not
    among every first name with a C (which a block's cap would cut)."""
    return pl.when(last_key.is_null()).then(first_key).otherwise(first_key.str.head(1))


def _name_exprs(first: pl.Expr, last: pl.Expr) -> list[pl.Expr]:
    first_key, last_key = clean_text(first), clean_text(last)
    return [
        first_key.alias("_first"),
        last_key.alias("_last"),
        block_initial(first_key, last_key).alias("_initial"),
    ]


def _cleaned_by_value(
    frame: pl.DataFrame, column: str, clean: Callable[[pl.Expr], pl.Expr] = clean_text
) -> pl.Series:
    """`clean` of a column, computed once per distinct value (names repeat a lot)."""
    values = frame.get_column(column)
    distinct = values.drop_nulls().unique().to_frame("v")
    distinct = distinct.with_columns(clean(pl.col("v")).alias("k"))
    joined = values.to_frame("v").join(distinct, on="v", how="left", maintain_order="left")
    return joined["k"].rename(column)


def block_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with _first, _last and _initial: the name keys, cheap enough for every row."""
    first, last = _cleaned_by_value(frame, "first_name"), _cleaned_by_value(frame, "last_name")
    return frame.with_columns(
        first.alias("_first"), last.alias("_last"), block_initial(first, last).alias("_initial")
    )


def row_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """RID, email, phone, last_name and the comparison keys of file rows."""
    attributes = set(_attribute_columns(frame))

    def attribute(name: str) -> pl.Expr | None:
        column = ATTR_PREFIX + name
        return pl.col(column).cast(pl.String) if column in attributes else None

    if "_last" not in frame.columns:
        frame = block_keys(frame)
    return frame.select(
        RID,
        "email",
        "phone",
        "last_name",
        "_first",
        "_last",
        "_initial",
        _cleaned_by_value(frame, "company", company_key).alias("_company"),
        *_location_exprs(attribute),
    )


def candidate_keys(candidates: pl.DataFrame) -> pl.DataFrame:
    """id, email, phone and the comparison keys of existing contacts (CANDIDATE_SCHEMA)."""

    def attribute(name: str) -> pl.Expr:
        return pl.col("attributes").str.json_path_match(f"$.{name}")

    return candidates.select(
        "id",
        "email",
        _text_or_null(pl.col("phone")).alias("phone"),  # stored as "" when there is none
        *_name_exprs(pl.col("first_name"), pl.col("last_name")),
        company_key(pl.col("company_name")).alias("_company"),
        *_location_exprs(attribute),
    )


def _can_fuzzy_match() -> pl.Expr:
    """A last name (with a first name or without: "Smith" of a postal list) plus something
    that places it (company or an address)."""
    placed = pl.any_horizontal(
        pl.col(c).is_not_null() for c in ("_company", "_postcode", "_address")
    )
    return pl.col("_last").is_not_null() & placed


def _equal(pairs: pl.DataFrame, column: str) -> np.ndarray:
    return (pairs[f"{column}_l"] == pairs[f"{column}_r"]).fill_null(False).to_numpy()


def _known(pairs: pl.DataFrame, column: str) -> np.ndarray:
    return (pairs[f"{column}_l"].is_not_null() & pairs[f"{column}_r"].is_not_null()).to_numpy()


def accept_pairs(pairs: pl.DataFrame) -> np.ndarray:
    """Whether each pair (key columns suffixed _l and _r) is the same person; see module doc.

    Cheapest tests first: equality checks rule out most pairs of a block before any string
    similarity is computed, and each similarity runs only on the pairs still standing.
    """
    keep = np.ones(pairs.height, dtype=bool)
    for column in ("email", "_postcode", "_city"):
        keep &= ~_known(pairs, column) | _equal(pairs, column)
    # A first name on one side only is two people ("Smith" is not "John Smith"); on
    # neither, the last name and the place decide.
    first_l, first_r = pairs["_first_l"].is_not_null(), pairs["_first_r"].is_not_null()
    keep &= _known(pairs, "_last") & (first_l == first_r).to_numpy()
    agree = _known(pairs, "_postcode") & _equal(pairs, "_postcode")
    checks = (
        ("_company", fuzz.token_sort_ratio, COMPANY_MIN, True),
        ("_address", fuzz.token_sort_ratio, ADDRESS_MIN, True),
        ("_first", JaroWinkler.normalized_similarity, FIRST_NAME_MIN, False),
        ("_last", JaroWinkler.normalized_similarity, LAST_NAME_MIN, False),
    )
    for column, scorer, minimum, places in checks:
        standing = np.flatnonzero(keep)
        subset = pairs[standing]
        known = (
            _known(subset, column)
            if places or column == "_first"
            else np.ones(len(standing), dtype=bool)
        )
        close = similarity(subset[f"{column}_l"], subset[f"{column}_r"], scorer) >= minimum
        keep[standing] = ~known | close  # a place both sides have must agree
        if places:
            agree[standing] |= known & close
    return keep & agree


# --- in the file ----------------------------------------------------------------------------


@dataclass
class InFile:
    frame: pl.DataFrame  # one row per person, in file order, with RID
    skipped: int  # rows folded into an earlier row (report.skipped_in_file)
    warnings: dict[str, int] = field(default_factory=dict)


def _components(n: int, edges: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each row's group: the lowest row it is linked to, directly or through others."""
    label = np.arange(n, dtype=np.int64)
    if not edges:
        return label
    left = np.concatenate([e[0] for e in edges]).astype(np.int64)
    right = np.concatenate([e[1] for e in edges]).astype(np.int64)
    linked = left != right  # most rows only point at themselves
    left, right = left[linked], right[linked]
    while True:
        before = label.copy()
        low = np.minimum(label[left], label[right])
        np.minimum.at(label, left, low)
        np.minimum.at(label, right, low)
        label = label[label]  # pointer jumping: a label's own label
        if np.array_equal(label, before):
            return label


def _edges(frame: pl.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    return frame[a].to_numpy(), frame[b].to_numpy()


def _has_email_by_group(keys: pl.DataFrame, label: np.ndarray) -> pl.DataFrame:
    """keys (one row per file row, in RID order) + _group and _group_has_email (a group any
    row of which has an email)."""
    emailed = np.zeros(len(label), dtype=bool)
    emailed[label[keys["email"].is_not_null().to_numpy()]] = True
    return keys.with_columns(
        pl.Series("_group", label), pl.Series("_group_has_email", emailed[label])
    )


def _loose_targets(pairs: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Per loose row (RID), the group it joins: the one emailed group among its partners, or
    (with none) the lowest partner group; rows whose partners carry several emails join none.

    `pairs` has RID, _partner_group and _partner_has_email. Returns (RID, _target) and the
    number of rows left apart as ambiguous.
    """
    per_row = pairs.group_by(RID).agg(
        pl.col("_partner_group").filter(pl.col("_partner_has_email")).unique().alias("_emailed"),
        pl.col("_partner_group").min().alias("_lowest"),
    )
    emailed = pl.col("_emailed").list.len()
    targets = per_row.with_columns(
        pl.when(emailed == 1)
        .then(pl.col("_emailed").list.first())
        .when(emailed == 0)
        .then(pl.col("_lowest"))
        .alias("_target")
    )
    ambiguous = targets.filter(pl.col("_target").is_null()).height
    return targets.drop_nulls("_target").select(RID, "_target"), ambiguous


def names_agree(
    frame: pl.DataFrame, first_l: str, last_l: str, first_r: str, last_r: str
) -> pl.Series:
    """Whether each pair of names can be one person sharing a phone with the other side (a
    switchboard or a family line is shared by people with different names).

    A side without a name agrees with anything. Last names must be the same (cleaned). First
    names agree when they are the same, when one is an initial of the other or a prefix of
    it ("J." and "Jo" of "John", "Chris" of "Christopher"), or when they are close
    (Jaro-Winkler PHONE_FIRST_NAME_MIN: "Kate"/"Katherine"); "John" and "Jane" do not.
    """
    if frame.is_empty():
        return pl.Series("agree", [], dtype=pl.Boolean)
    keys = frame.select(
        clean_text(pl.col(first_l)).alias("l"),
        clean_text(pl.col(first_r)).alias("r"),
        clean_text(pl.col(last_l)).alias("ll"),
        clean_text(pl.col(last_r)).alias("lr"),
    )
    known = pl.col("l").is_not_null() & pl.col("r").is_not_null()
    last_ok = pl.col("ll").is_null() | pl.col("lr").is_null() | (pl.col("ll") == pl.col("lr"))
    prefix = pl.col("l").str.starts_with(pl.col("r")) | pl.col("r").str.starts_with(pl.col("l"))
    keys = keys.with_columns(last_ok.alias("last_ok"), (~known | prefix).alias("first_ok"))
    close = similarity(keys["l"], keys["r"], JaroWinkler.normalized_similarity)
    first_ok = keys["first_ok"].fill_null(False).to_numpy() | (close >= PHONE_FIRST_NAME_MIN)
    return pl.Series("agree", keys["last_ok"].fill_null(False).to_numpy() & first_ok)


def _phone_edges(keys: pl.DataFrame, label: np.ndarray) -> tuple[pl.DataFrame, int]:
    keyed = _has_email_by_group(keys, label)
    loose = keyed.filter(~pl.col("_group_has_email") & pl.col("phone").is_not_null())
    if loose.is_empty():
        return pl.DataFrame(schema={RID: pl.Int64, "_target": pl.Int64}), 0
    # One row per (phone, group): a phone shared by a thousand rows stays a small join. The
    # group's name is its first row's that has one.
    groups = (
        keyed.filter(pl.col("phone").is_not_null())
        .group_by("phone", "_group")
        .agg(
            pl.col("_group_has_email").first(),
            pl.col("first_name").drop_nulls().first().alias("_first_r"),
            pl.col("last_name").drop_nulls().first().alias("_last_r"),
        )
        .rename({"_group": "_partner_group", "_group_has_email": "_partner_has_email"})
    )
    pairs = loose.select(
        RID,
        "phone",
        "_group",
        pl.col("first_name").alias("_first_l"),
        pl.col("last_name").alias("_last_l"),
    ).join(groups, on="phone")
    pairs = pairs.filter(pl.col("_partner_group") != pl.col("_group"))
    pairs = pairs.filter(names_agree(pairs, "_first_l", "_last_l", "_first_r", "_last_r"))
    return _loose_targets(pairs)


def _name_edges(frame: pl.DataFrame, label: np.ndarray) -> tuple[pl.DataFrame, int]:
    """Edges from rows without an email to rows with the same name at the same place.

    Only the blocks (last name and first initial) that hold such a row get the full keys,
    so a file where every row has an email costs one pass over the names.
    """
    empty = pl.DataFrame(schema={RID: pl.Int64, "_target": pl.Int64})
    status = _has_email_by_group(frame.select(RID, "email"), label).drop("email")
    emailless = status.filter(~pl.col("_group_has_email"))
    if emailless.is_empty():
        return empty, 0
    blocked = block_keys(frame.select(RID, "first_name", "last_name"))
    block = ["_last", "_initial"]
    wanted = blocked.join(emailless, on=RID, how="semi").drop_nulls("_last").select(block)
    inside = blocked.join(wanted.unique(), on=block, how="semi", nulls_equal=True)
    subset = frame.join(inside.select(RID), on=RID, how="semi")
    if subset.is_empty():
        return empty, 0
    subset = subset.join(inside.select(RID, "_first", "_last", "_initial"), on=RID)
    keys = row_keys(subset)
    keyed = keys.join(status, on=RID)
    placed = keyed.filter(_can_fuzzy_match())
    loose = placed.filter(~pl.col("_group_has_email"))
    if loose.is_empty():
        return empty, 0
    sizes = placed.group_by(block).len()
    usable = sizes.filter(pl.col("len").is_between(2, MAX_NAME_BLOCK)).select(block)
    left = loose.join(usable, on=block, how="semi", nulls_equal=True)
    if left.is_empty():
        return empty, 0
    right = placed.join(usable, on=block, how="semi", nulls_equal=True)
    compared = ["email", *[c for c in _KEY_COLUMNS if c not in block]]
    pairs = (
        left.select(RID, "_group", *block, *[pl.col(c).alias(f"{c}_l") for c in compared])
        .join(
            right.select(
                pl.col("_group").alias("_partner_group"),
                pl.col("_group_has_email").alias("_partner_has_email"),
                *block,
                *[pl.col(c).alias(f"{c}_r") for c in compared],
            ),
            on=block,
            nulls_equal=True,
        )
        .filter(pl.col("_partner_group") != pl.col("_group"))
        .with_columns(pl.col("_last").alias("_last_l"), pl.col("_last").alias("_last_r"))
    )
    pairs = pairs.filter(pl.Series(accept_pairs(pairs), dtype=pl.Boolean))
    return _loose_targets(pairs)


def _bare_edges(frame: pl.DataFrame, label: np.ndarray) -> pl.DataFrame:
    """Edges between rows that are the same bare name (see `_is_bare`) with the same town
    and country, or none: a name-only line repeated. Rows with an external id are records
    of their own and stay apart."""
    status = _has_email_by_group(frame.select(RID, "email"), label)
    alone = status.filter(~pl.col("_group_has_email")).select(RID)
    rows = frame.join(alone, on=RID, how="semi").filter(
        pl.col("phone").is_null()
        & pl.col("external_id").is_null()
        & (pl.col("first_name").is_not_null() | pl.col("last_name").is_not_null())
    )
    if rows.height < 2:
        return pl.DataFrame(schema={RID: pl.Int64, "_target": pl.Int64})
    keys = row_keys(rows).filter(_is_bare())
    keys = keys.join(rows.select(RID, pl.col("country").alias("_country")), on=RID)
    same = ["_first", "_last", "_city", "_country"]
    return keys.select(RID, pl.col(RID).min().over(same).alias("_target"))


def group_in_file(frame: pl.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Each row's group (the lowest RID of the rows that are the same person) and warnings.

    Rows with one email or one external id are one person; a row without an email joins the
    rows that share its phone, or its name and company or address, as long as those rows
    carry at most one email between them.
    """
    n = frame.height
    rid = pl.col(RID)
    first = frame.select(
        RID,
        pl.when(pl.col("email").is_not_null())
        .then(rid.min().over("email"))
        .otherwise(rid)
        .alias("_by_email"),
        pl.when(pl.col("external_id").is_not_null())
        .then(rid.min().over("external_id"))
        .otherwise(rid)
        .alias("_by_id"),
    )
    edges = [_edges(first, RID, "_by_email"), _edges(first, RID, "_by_id")]
    label = _components(n, edges)
    warnings = {}
    phone, ambiguous = _phone_edges(
        frame.select(RID, "email", "phone", "first_name", "last_name"), label
    )
    warnings[FILE_PHONE_AMBIGUOUS] = ambiguous
    edges.append(_edges(phone, RID, "_target"))
    label = _components(n, edges)
    names, ambiguous = _name_edges(frame, label)
    warnings[FILE_NAME_AMBIGUOUS] = ambiguous
    edges.append(_edges(names, RID, "_target"))
    label = _components(n, edges)
    bare = _bare_edges(frame, label)
    edges.append(_edges(bare, RID, "_target"))
    return _components(n, edges), {k: v for k, v in warnings.items() if v}


def _blank_to_null(frame: pl.DataFrame, columns: list[str]) -> list[pl.Expr]:
    out = []
    for column in columns:
        expr = pl.col(column)
        if frame.schema[column] == pl.String:
            expr = pl.when(expr.str.strip_chars() == "").then(None).otherwise(expr)
        out.append(expr.alias(column))
    return out


def _value_columns(frame: pl.DataFrame) -> list[str]:
    """The columns that hold what the user entered: fields and custom attributes."""
    from leadflow.acquisition.pipeline.mapping import CONTACT_FIELDS

    wanted = {*CONTACT_FIELDS, "updated_at", "owner_id"}
    return [c for c in frame.columns if c in wanted or c.startswith(ATTR_PREFIX)]


def _exploded(column: str) -> pl.Expr:
    return pl.col(column).list.explode(keep_nulls=False, empty_as_null=False)


def collapse_groups(frame: pl.DataFrame, group: str, *, fill: bool) -> tuple[pl.DataFrame, int]:
    """One row per group: its first row, and with `fill` the first non-empty value of each
    field and attribute from the group's later rows where the first row has none. Emails
    other than the kept one go to OTHER_EMAILS. Returns the rows and how many were folded.

    The frame's order decides "first"; singletons pass through untouched.
    """
    sizes = pl.len().over(group)
    single = frame.filter(sizes == 1)
    multi = frame.filter(sizes > 1)
    if multi.is_empty():
        return frame, 0
    values = _value_columns(multi)
    rest = [c for c in multi.columns if c not in values and c != group]
    multi = multi.with_columns(_blank_to_null(multi, values))
    if fill:
        value_aggs = [pl.col(c).drop_nulls().first() for c in values]
    else:
        value_aggs = [pl.col(c).first() for c in values]
    emails = pl.col("email").drop_nulls().unique(maintain_order=True)
    extra = emails.filter(emails != emails.first()) if fill else emails.head(0)
    merged = multi.group_by(group, maintain_order=True).agg(
        *value_aggs,
        *[pl.col(c).first() for c in rest if c != OTHER_EMAILS],
        extra.alias("_extra_emails"),
        *([_exploded(OTHER_EMAILS)] if OTHER_EMAILS in rest else []),
    )
    previous = merged[OTHER_EMAILS] if OTHER_EMAILS in merged.columns else None
    merged = merged.with_columns(
        (
            pl.concat_list(OTHER_EMAILS, "_extra_emails").list.unique(maintain_order=True)
            if previous is not None
            else pl.col("_extra_emails")
        ).alias(OTHER_EMAILS)
    ).drop("_extra_emails")
    if OTHER_EMAILS not in single.columns:
        single = single.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(OTHER_EMAILS))
    merged = merged.select(single.columns).cast(single.schema)
    return pl.concat([single, merged]), multi.height - merged.height


def collapse_in_file_duplicates(frame: pl.DataFrame, policy: str) -> InFile:
    """Rows that are the same person become one row (see `group_in_file`).

    The first row with an email (else with an external id, else the first row) is kept: a
    row without an email that joined it by phone or name does not rename the person. With
    the update and merge policies the other rows' non-empty values fill its empty fields,
    so nothing the user entered is silently dropped; with skip they are dropped. Either way
    they count as skipped in the file. The result keeps file order and has RID and
    OTHER_EMAILS columns.

    A row without an email that already matched a contact (PRE_MATCH_ID, see
    `match_contacts`) counts as having one: rows of that contact are one person, and a row
    of another person never joins them.
    """
    frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(RID))
    identity = pl.col("email")
    if PRE_MATCH_ID in frame.columns:
        contact = pl.concat_str(pl.lit("#"), pl.col(PRE_MATCH_ID).cast(pl.String))
        identity = pl.coalesce("email", contact)
    label, warnings = group_in_file(frame.with_columns(identity.alias("email")))
    no_others = pl.lit([], dtype=pl.List(pl.String)).alias(OTHER_EMAILS)
    in_group = np.bincount(label, minlength=len(label))[label] > 1
    if not in_group.any():
        return InFile(frame.with_columns(no_others), 0, warnings)
    mask = pl.Series(in_group)
    single = frame.filter(~mask).with_columns(no_others)
    grouped = frame.filter(mask).with_columns(pl.Series("_group", label[in_group]))
    grouped = grouped.sort(pl.col("email").is_null(), pl.col("external_id").is_null(), RID)
    collapsed, skipped = collapse_groups(grouped, "_group", fill=policy != DuplicatePolicy.SKIP)
    collapsed = collapsed.drop("_group").select(single.columns).cast(single.schema)
    return InFile(pl.concat([single, collapsed]).sort(RID), skipped, warnings)


# --- against the database -------------------------------------------------------------------


@dataclass
class MatchStep:
    frame: pl.DataFrame  # the rows, MATCH_ID/MATCHED_BY set for the ones this step matched
    candidates: pl.DataFrame  # the contacts they matched (CANDIDATE_SCHEMA)
    warnings: dict[str, int] = field(default_factory=dict)


def _empty_candidates() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDIDATE_SCHEMA)


def _ensure_match_columns(frame: pl.DataFrame) -> pl.DataFrame:
    missing = []
    if MATCH_ID not in frame.columns:
        missing.append(pl.lit(None, dtype=pl.Int64).alias(MATCH_ID))
    if MATCHED_BY not in frame.columns:
        missing.append(pl.lit(None, dtype=pl.String).alias(MATCHED_BY))
    if RID not in frame.columns:
        missing.append(pl.int_range(pl.len(), dtype=pl.Int64).alias(RID))
    return frame.with_columns(missing) if missing else frame


def _set_matches(frame: pl.DataFrame, found: pl.DataFrame, how: str) -> pl.DataFrame:
    """found: RID, _found_id."""
    frame = frame.join(found, on=RID, how="left")
    return frame.with_columns(
        pl.coalesce(MATCH_ID, "_found_id").alias(MATCH_ID),
        pl.when(pl.col(MATCH_ID).is_null() & pl.col("_found_id").is_not_null())
        .then(pl.lit(how))
        .otherwise(pl.col(MATCHED_BY))
        .alias(MATCHED_BY),
    ).drop("_found_id")


def _closest_names(pairs: pl.DataFrame) -> pl.DataFrame:
    """Of the contacts that fit a row (pairs: RID, first_name, _found_first...), only those
    whose first name is close to the row's when there are several and some are: on a family
    line, "John" is John Smith, not Jane."""
    several = pairs.filter(pl.len().over(RID) > 1)
    if several.is_empty():
        return pairs
    left, right = clean_text(pl.col("first_name")), clean_text(pl.col("_found_first"))
    keyed = several.with_columns(left.alias("_l"), right.alias("_r"))
    close = similarity(keyed["_l"], keyed["_r"], JaroWinkler.normalized_similarity)
    keyed = keyed.with_columns(
        pl.Series("_close", close >= FIRST_NAME_MIN) & pl.col("_l").is_not_null()
    )
    keyed = keyed.filter(pl.col("_close") | ~pl.col("_close").any().over(RID))
    return pl.concat([pairs.filter(pl.len().over(RID) == 1), keyed.select(pairs.columns)])


def match_by_phone(frame: pl.DataFrame, fetch: Callable[..., pl.DataFrame]) -> MatchStep:
    """Rows not yet matched whose phone belongs to exactly one contact that fits them: no
    email or name that says otherwise (a shared line: two different names are two people).

    `fetch(phones, without_email=...)` returns the contacts with those phones (only those
    without an email, if asked): a row with an email can only be a contact without one, so
    a list of new people with emails asks only about the few contacts without an email.
    A family line two contacts share still matches the one whose name fits; a row that fits
    several of them matches none (PHONE_AMBIGUOUS), and so does a phone more than
    MAX_SHARED_PHONE contacts have (a switchboard), without comparing each of them.
    """
    frame = _ensure_match_columns(frame)
    todo = frame.filter(pl.col(MATCH_ID).is_null() & pl.col("phone").is_not_null())
    found_parts, used_parts, ambiguous = [], [], 0
    for without_email in (False, True):
        rows = todo.filter(pl.col("email").is_not_null() == without_email)
        if rows.is_empty():
            continue
        candidates = fetch(rows["phone"].unique().to_list(), without_email=without_email)
        sharing = pl.len().over("phone")
        crowded = candidates.filter(sharing > MAX_SHARED_PHONE)["phone"].unique()
        candidates = candidates.filter(sharing <= MAX_SHARED_PHONE)
        ambiguous += rows.filter(pl.col("phone").is_in(crowded.implode())).height
        pairs = rows.select(RID, "phone", "email", "first_name", "last_name").join(
            candidates.select(
                pl.col("id").alias("_found_id"),
                "phone",
                pl.col("email").alias("_found_email"),
                pl.col("first_name").alias("_found_first"),
                pl.col("last_name").alias("_found_last"),
            ),
            on="phone",
        )
        other_email = (
            pl.col("email").is_not_null()
            & pl.col("_found_email").is_not_null()
            & (pl.col("email") != pl.col("_found_email"))
        )
        pairs = pairs.filter(~other_email)
        pairs = pairs.filter(
            names_agree(pairs, "first_name", "last_name", "_found_first", "_found_last")
        )
        fitting = _closest_names(pairs)
        fitting = fitting.group_by(RID).agg(pl.col("_found_id").unique())
        several = pl.col("_found_id").list.len() > 1
        ambiguous += fitting.filter(several).height
        found = fitting.filter(~several).select(RID, pl.col("_found_id").list.first())
        found_parts.append(found)
        ids = found.select(pl.col("_found_id").alias("id"))
        used_parts.append(candidates.join(ids, on="id", how="semi"))
    if not found_parts:
        return MatchStep(
            frame, _empty_candidates(), {PHONE_AMBIGUOUS: ambiguous} if ambiguous else {}
        )
    frame = _set_matches(frame, pl.concat(found_parts), "phone")
    used = pl.concat(used_parts).unique("id")
    return MatchStep(frame, used, {PHONE_AMBIGUOUS: ambiguous} if ambiguous else {})


def _could_be_placed(frame: pl.DataFrame) -> pl.Expr:
    """Raw-column test for a last name (a first name too, or not) plus a company or an
    address attribute."""
    places = ["company"] + [
        ATTR_PREFIX + name
        for key in ("postcode", "address")
        for name in ADDRESS_ATTRIBUTES[key]
        if ATTR_PREFIX + name in frame.columns
    ]
    return pl.col("last_name").is_not_null() & pl.any_horizontal(
        pl.col(c).is_not_null() & (pl.col(c) != "") for c in places
    )


def match_fuzzy(frame: pl.DataFrame, fetch: Callable[..., pl.DataFrame]) -> MatchStep:
    """Rows not yet matched whose name and company (or address) point at exactly one contact.

    `fetch(names, without_email=...)` gets a frame of last_name, _last, _initial (one row
    per block) and returns the contacts in those blocks; rows that have an email only look
    at contacts without one (two emails are two people), so for a list of new people with
    emails this asks only for the few contacts without an email. Blocks with more than
    MAX_NAME_BLOCK contacts are not searched (NAME_TOO_COMMON); rows with several
    qualifying contacts match none (NAME_AMBIGUOUS).
    """
    frame = _ensure_match_columns(frame)
    todo = frame.filter(pl.col(MATCH_ID).is_null() & _could_be_placed(frame))
    if todo.is_empty():
        return MatchStep(frame, _empty_candidates())
    block = ["_last", "_initial"]
    blocked = block_keys(todo.select(RID, "email", "first_name", "last_name")).drop_nulls("_last")
    found_frames = []
    for without_email in (False, True):
        names = blocked.filter(pl.col("email").is_not_null() == without_email)
        if not names.is_empty():
            names = names.select("last_name", *block).unique(block)
            found_frames.append(fetch(names, without_email=without_email))
    candidates = pl.concat(found_frames).unique("id") if found_frames else _empty_candidates()
    if candidates.is_empty():
        return MatchStep(frame, _empty_candidates())
    contact_keys = candidate_keys(candidates).drop_nulls("_last")
    # Only the rows in blocks that hold a contact get their full keys. A block without an
    # initial is the last name of the rows and contacts without a first name.
    inside = blocked.join(
        contact_keys.select(block).unique(), on=block, how="semi", nulls_equal=True
    )
    subset = todo.join(inside.select(RID, "_first", "_last", "_initial"), on=RID)
    keys = row_keys(subset).filter(_can_fuzzy_match())
    sizes = contact_keys.group_by(block).len()
    crowded = sizes.filter(pl.col("len") > MAX_NAME_BLOCK).select(block)
    too_common = keys.join(crowded, on=block, how="semi", nulls_equal=True).height
    contact_keys = contact_keys.join(crowded, on=block, how="anti", nulls_equal=True)
    compared = ["email", *[c for c in _KEY_COLUMNS if c not in block]]
    pairs = (
        keys.select(RID, *block, *[pl.col(c).alias(f"{c}_l") for c in compared])
        .join(
            contact_keys.select("id", *block, *[pl.col(c).alias(f"{c}_r") for c in compared]),
            on=block,
            nulls_equal=True,
        )
        .with_columns(pl.col("_last").alias("_last_l"), pl.col("_last").alias("_last_r"))
    )
    accepted = pairs.filter(pl.Series(accept_pairs(pairs), dtype=pl.Boolean))
    per_row = accepted.group_by(RID).agg(pl.col("id").unique().alias("_ids"))
    ambiguous = per_row.filter(pl.col("_ids").list.len() > 1).height
    found = per_row.filter(pl.col("_ids").list.len() == 1).select(
        RID, pl.col("_ids").list.first().alias("_found_id")
    )
    frame = _set_matches(frame, found, "name")
    used = candidates.join(found.select(pl.col("_found_id").alias("id")), on="id", how="semi")
    warnings = {NAME_AMBIGUOUS: ambiguous, NAME_TOO_COMMON: too_common}
    return MatchStep(frame, used.unique("id"), {k: v for k, v in warnings.items() if v})


def _is_bare() -> pl.Expr:
    """Key columns of a name and nothing else to place it: no email, phone, company, postcode
    or street address (a name-only or name-and-town list). The name may be one word ("Cher",
    or "Smith" on a postal list)."""
    return (pl.col("_first").is_not_null() | pl.col("_last").is_not_null()) & pl.all_horizontal(
        pl.col(c).is_null() for c in ("email", "phone", "_company", "_postcode", "_address")
    )


def _disagree(left: str, right: str) -> pl.Expr:
    return (
        pl.col(left).is_not_null() & pl.col(right).is_not_null() & (pl.col(left) != pl.col(right))
    )


def match_bare_names(frame: pl.DataFrame, fetch: Callable[..., pl.DataFrame]) -> MatchStep:
    """Rows with a name and nothing else that places it, matched to the one contact just as
    bare: the same first and last name (cleaned; a one-word name matches the same one word
    in the same place, first or last), no email, phone, company or address, and no town or
    country that differs. So a name-only list imported twice does not double;
    a bare name never matches a contact who has more to tell them apart (a "John Smith" of
    a list is not the "John Smith" with an email and a company). Several such contacts:
    no match (NAME_AMBIGUOUS).
    """
    frame = _ensure_match_columns(frame)
    unmatched = frame.filter(
        pl.col(MATCH_ID).is_null()
        & pl.col("email").is_null()
        & pl.col("external_id").is_null()
        & pl.col("phone").is_null()
        & (pl.col("first_name").is_not_null() | pl.col("last_name").is_not_null())
    )
    if unmatched.is_empty():
        return MatchStep(frame, _empty_candidates())
    keys = row_keys(unmatched).filter(_is_bare())
    keys = keys.join(
        unmatched.select(RID, "first_name", pl.col("country").alias("_country")), on=RID
    )
    if keys.is_empty():
        return MatchStep(frame, _empty_candidates())
    block = ["_last", "_initial"]
    names = keys.select("first_name", "last_name", *block).unique()
    candidates = fetch(names, without_email=True)
    if candidates.is_empty():
        return MatchStep(frame, _empty_candidates())
    contact_keys = candidate_keys(candidates).filter(_is_bare())
    contact_keys = contact_keys.join(
        candidates.select("id", pl.col("country").alias("_country")), on="id"
    )
    pairs = keys.select(RID, "_first", "_last", "_city", "_country").join(
        contact_keys.select(
            "id", "_first", "_last", pl.col("_city").alias("_city_r"),
            pl.col("_country").alias("_country_r"),
        ),
        on=["_first", "_last"],
        nulls_equal=True,  # "Cher" and no last name is "Cher" and no last name
    )  # fmt: skip
    pairs = pairs.filter(~_disagree("_city", "_city_r") & ~_disagree("_country", "_country_r"))
    per_row = pairs.group_by(RID).agg(pl.col("id").unique().alias("_ids"))
    several = pl.col("_ids").list.len() > 1
    ambiguous = per_row.filter(several).height
    found = per_row.filter(~several).select(RID, pl.col("_ids").list.first().alias("_found_id"))
    frame = _set_matches(frame, found, "name")
    used = candidates.join(found.select(pl.col("_found_id").alias("id")), on="id", how="semi")
    return MatchStep(frame, used.unique("id"), {NAME_AMBIGUOUS: ambiguous} if ambiguous else {})


@dataclass
class Matches:
    new: pl.DataFrame  # rows that become new contacts
    matched: pl.DataFrame  # one row per matched contact, MATCH_ID and MATCHED_BY set
    existing: pl.DataFrame  # those contacts as they are now (CANDIDATE_SCHEMA)
    skipped_in_file: int  # rows folded into another row of the file
    warnings: dict[str, int] = field(default_factory=dict)
    # Of `matched`, the rows whose contact this import created from an earlier chunk of the
    # file: in-file duplicates (counted in skipped_in_file), not database matches.
    same_import: int = 0


def _summed(*counts: dict[str, int]) -> dict[str, int]:
    total: Counter = Counter()
    for c in counts:
        total.update(c)
    return dict(total)


def match_loose_rows(frame: pl.DataFrame, lookup: Lookup) -> MatchStep:
    """Rows without an email or external id, matched to contacts by phone, by name and place,
    and by bare name before the file's rows are folded, so that a row that is a known
    contact joins that contact, not another row of the file that shares its phone.

    Adds RID, PRE_MATCH_ID and PRE_MATCHED_BY (the contact found, or null) and TRIED.
    """
    frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(RID))
    loose = pl.col("email").is_null() & pl.col("external_id").is_null()
    frame = frame.with_columns(loose.alias(TRIED))
    todo = _ensure_match_columns(frame.filter(pl.col(TRIED)).select(list(frame.columns)))
    by_phone = match_by_phone(todo, lookup.by_phones)
    by_name = match_fuzzy(by_phone.frame, lookup.by_names)
    bare = match_bare_names(by_name.frame, lookup.by_names)
    found = bare.frame.select(
        RID, pl.col(MATCH_ID).alias(PRE_MATCH_ID), pl.col(MATCHED_BY).alias(PRE_MATCHED_BY)
    )
    frame = frame.join(found, on=RID, how="left", maintain_order="left")
    candidates = pl.concat([by_phone.candidates, by_name.candidates, bare.candidates])
    warnings = _summed(by_phone.warnings, by_name.warnings, bare.warnings)
    return MatchStep(frame, candidates.unique("id"), warnings)


_MATCH_ORDER = {"email": 0, "external_id": 1, "phone": 2, "name": 3}


def match_contacts(
    frame: pl.DataFrame, *, policy: str, lookup: Lookup, job_id: int | None = None
) -> Matches:
    """The whole stage: in-file duplicates folded, then email, external id, phone and name.

    Rows that reach the same contact by different routes (one by email, one by phone) are
    folded into one as well, the email match first, so each contact gets one change. When
    a file is imported chunk by chunk, the contacts earlier chunks created are already in
    the database: a row that matches one (source_import_id == job_id) is an in-file
    duplicate, marked SAME_IMPORT and counted in skipped_in_file; it still fills the
    contact's empty fields under update and merge, without a recorded change.
    """
    early = match_loose_rows(frame, lookup)
    in_file = collapse_in_file_duplicates(early.frame, policy)
    rows = in_file.frame
    warnings = dict(in_file.warnings)
    existing = lookup.by_keys(
        emails=rows["email"].drop_nulls().to_list(),
        external_ids=rows["external_id"].drop_nulls().to_list(),
    )
    rows = match_existing(rows, existing).with_columns(
        pl.coalesce(MATCH_ID, PRE_MATCH_ID).alias(MATCH_ID),
        pl.coalesce(MATCHED_BY, PRE_MATCHED_BY).alias(MATCHED_BY),
    )
    if clashing := clashes(rows):
        warnings[EXTERNAL_ID_CLASH] = clashing
    # Rows folded from loose rows only were looked up already; the rest now are.
    tried = rows.filter(pl.col(TRIED))
    by_phone = match_by_phone(rows.filter(~pl.col(TRIED)), lookup.by_phones)
    by_name = match_fuzzy(by_phone.frame, lookup.by_names)
    rows = pl.concat([tried, by_name.frame.select(tried.columns)]).sort(RID)
    rows = rows.drop(PRE_MATCH_ID, PRE_MATCHED_BY, TRIED)
    found = [existing, early.candidates, by_phone.candidates, by_name.candidates]
    warnings |= _summed(early.warnings, by_phone.warnings, by_name.warnings)
    new = rows.filter(pl.col(MATCH_ID).is_null())
    matched = rows.filter(pl.col(MATCH_ID).is_not_null())
    order = pl.col(MATCHED_BY).replace_strict(_MATCH_ORDER, return_dtype=pl.Int8)
    matched = matched.sort(order, RID)
    matched, folded = collapse_groups(matched, MATCH_ID, fill=policy != DuplicatePolicy.SKIP)
    contacts = pl.concat([f.select(list(CANDIDATE_SCHEMA)) for f in found]).unique("id")
    contacts = contacts.join(matched.select(pl.col(MATCH_ID).alias("id")), on="id", how="semi")
    ours = contacts.filter(pl.col("source_import_id") == job_id)["id"] if job_id else []
    matched = matched.with_columns(
        pl.col(MATCH_ID).is_in(pl.Series(ours, dtype=pl.Int64).implode()).alias(SAME_IMPORT)
    )
    same_import = int(matched[SAME_IMPORT].sum())
    return Matches(
        new=new,
        matched=matched.sort(RID),
        existing=contacts,
        skipped_in_file=in_file.skipped + folded + same_import,
        warnings=warnings,
        same_import=same_import,
    )


# --- what each policy changes -----------------------------------------------------------------

# Contact fields an import writes, besides company (by name), attributes and other_emails.
SCALAR_FIELDS = ("first_name", "last_name", "phone", "job_title", "country", "external_id")
NULLABLE_FIELDS = ("email", "external_id")  # stored as NULL when empty, the rest as ""
# Columns a row may carry its date in: a value later than the contact's updated_at makes
# the row's values the newer ones (policy merge).
ROW_DATE_COLUMNS = ("updated_at", "created_at")


@dataclass
class Change:
    """What an import does to one existing contact.

    `values` is every writable field as it will be (changed or not, so a batch of changes can
    be written together); `previous` and `written` hold only the fields that change, with
    attributes and other_emails as whole values. A new company is named in `company`
    (company_id is resolved when written).
    """

    contact_id: int
    line: int | None
    action: str  # ImportChangeAction
    values: dict[str, Any]
    previous: dict[str, Any]
    written: dict[str, Any]
    company: str | None = None
    same_import: bool = False  # the contact was created by this import: nothing to record
    # The contact's updated_at once written: the row's own updated_at where it gives one
    # (never before the contact's, never after now), so a later list dated after the old
    # system's last change still wins a merge; None: the time of the import.
    updated_at: datetime | None = None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_of(row: dict, contact_date: datetime | None) -> datetime | None:
    """The date the contact's values hold as of once the row is written (Change.updated_at):
    the row's updated_at, later than the contact's, not in the future; None without one."""
    stated = _aware(row.get("updated_at")) if isinstance(row.get("updated_at"), datetime) else None
    if stated is None:
        return None
    stated = min(stated, datetime.now(UTC))
    return max(stated, contact_date) if contact_date is not None else stated


def _row_date(row: dict) -> datetime | None:
    dates = [row.get(c) for c in ROW_DATE_COLUMNS]
    dates = [_aware(d) for d in dates if isinstance(d, datetime)]
    return max(dates) if dates else None


FLAG_FIELDS = ("email_is_role", "email_is_disposable")
# A contact's place in the funnel (pipeline/funnel.py): the stage a row names replaces the
# contact's under update, or under merge when the row is newer; an owner fills an empty one
# (merge) or replaces it (update).
FUNNEL_FIELDS = ("lifecycle_stage", "owner_id")
# The attribute that keeps a field's value as typed when it was not understood: stale once
# the field itself is written (a later list gives a phone that can exist).
AS_ENTERED = {
    "phone": PHONE_AS_ENTERED,
    "country": COUNTRY_AS_ENTERED,
    "lifecycle_stage": STAGE_ATTRIBUTE,
    "owner_id": OWNER_ATTRIBUTE,
}


def _current_values(contact: dict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in ("email", *SCALAR_FIELDS):
        value = contact.get(f)
        values[f] = value if f in NULLABLE_FIELDS else (value or "")
    values["company_id"] = contact.get("company_id")
    for f in FUNNEL_FIELDS:
        values[f] = contact.get(f)
    values["attributes"] = json.loads(contact.get("attributes") or "{}")
    values["other_emails"] = json.loads(contact.get("other_emails") or "[]")
    for f in FLAG_FIELDS:
        values[f] = bool(contact.get(f))
    return values


def _plan_emails(values: dict, row: dict, *, update: bool) -> None:
    """An empty email is filled; a different one is kept beside it (merge) or takes its place
    with the old one kept beside it (update): no address is ever lost. A row that matched by
    one of the contact's other emails adds nothing under merge (the email stays the email);
    under update that address becomes the email, the old one takes its place among the
    others, each address kept once."""
    incoming = [e for e in [row.get("email"), *(row.get(OTHER_EMAILS) or [])] if not _empty(e)]
    email = values["email"]
    if incoming and _empty(email):
        email = incoming.pop(0)
    elif update and not _empty(row.get("email")) and row["email"] != email:
        incoming = [*incoming[1:], email]
        email = row["email"]
    others = [e for e in values["other_emails"] if e != email]
    others += [e for e in dict.fromkeys(incoming) if e != email and e not in others]
    values["email"], values["other_emails"] = email, others
    if email != values.get("_old_email"):
        flags = email_flags(email)
        values["email_is_role"], values["email_is_disposable"] = flags.is_role, flags.is_disposable


def _plan_one(row: dict, contact: dict, policy: str) -> Change | None:
    update = policy == DuplicatePolicy.UPDATE
    contact_date, row_date = _aware(contact.get("updated_at")), _row_date(row)
    newer = update or (
        row_date is not None and contact_date is not None and row_date > contact_date
    )

    def wins(old: Any, new: Any) -> bool:
        """Whether the row's value is written over the contact's."""
        if _empty(new) or new == old:
            return False
        return _empty(old) or newer

    before = _current_values(contact)
    values = {**before, "attributes": dict(before["attributes"])}
    for f in (*SCALAR_FIELDS, *FUNNEL_FIELDS):
        if wins(values[f], row.get(f)):
            values[f] = row[f]
    values["_old_email"] = before["email"]
    _plan_emails(values, row, update=update)
    del values["_old_email"]
    given = row_attributes(row)
    for key, value in given.items():
        if wins(values["attributes"].get(key), value):
            values["attributes"][key] = value
    for f, attribute in AS_ENTERED.items():
        if values[f] != before[f] and not _empty(values[f]) and attribute not in given:
            values["attributes"].pop(attribute, None)

    company = row.get("company")
    current_company = contact.get("company_name") if before["company_id"] else None
    same_company = (current_company or "").upper() == (company or "").upper()
    planned_company = company if not same_company and wins(current_company, company) else None

    changed = {f for f in values if values[f] != before[f]}
    if planned_company is not None:
        changed.add("company_id")
    if not changed:
        return None
    previous = {f: before[f] for f in changed}
    written = {f: values[f] for f in changed}
    if planned_company is not None:
        written["company_id"] = None  # the new company's id: set by update.apply_changes
    action = ImportChangeAction.UPDATED if update else ImportChangeAction.MERGED
    return Change(
        contact_id=contact["id"],
        line=row.get(LINE),
        action=action,
        values=values,
        previous=previous,
        written=written,
        company=planned_company,
        same_import=bool(row.get(SAME_IMPORT)),
        updated_at=_as_of(row, contact_date),
    )


def plan_changes(matched: pl.DataFrame, existing: pl.DataFrame, policy: str) -> list[Change]:
    """The change each matched contact gets under `policy`; contacts left as they are get none.

    - skip: nothing changes.
    - update: the row's non-empty values replace the contact's (an empty cell never blanks a
      field); custom attributes key by key; a different email becomes the primary one, the
      old one moves to other_emails.
    - merge: empty fields are filled; where both have a value, the row's wins only if the
      row carries a date (updated_at, else created_at) later than the contact's updated_at;
      a different email is added to other_emails.
    Emails of in-file duplicates (OTHER_EMAILS) are added to other_emails under both.
    """
    if policy == DuplicatePolicy.SKIP or matched.is_empty():
        return []
    for name, dtype in CANDIDATE_SCHEMA.items():
        if name not in existing.columns:
            existing = existing.with_columns(pl.lit(None, dtype=dtype).alias(name))
    wanted = [
        c
        for c in matched.columns
        if c
        in (
            LINE,
            MATCH_ID,
            OTHER_EMAILS,
            SAME_IMPORT,
            "email",
            "company",
            *SCALAR_FIELDS,
            *FUNNEL_FIELDS,
        )
        or c in ROW_DATE_COLUMNS
        or c.startswith(ATTR_PREFIX)
    ]
    contacts = {row["id"]: row for row in existing.iter_rows(named=True)}
    changes = []
    for row in matched.select(wanted).iter_rows(named=True):
        contact = contacts.get(row[MATCH_ID])
        if contact is None:
            continue
        change = _plan_one(row, contact, policy)
        if change is not None:
            changes.append(change)
    return changes


def planned_companies(changes: list[Change]) -> set[str]:
    """Company names the changes point at (for load.ensure_companies)."""
    return {c.company for c in changes if c.company}
