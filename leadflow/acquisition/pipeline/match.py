"""Stage 5, match: duplicates inside the file, and rows that are contacts we already have.

Matching is by normalised email first, then by external id. (Phone and fuzzy name matching
belong to `leadflow dedupe` and come to imports later.) The database's contacts arrive as a
frame from `load.fetch_existing`; this module itself never touches the database.
"""

import polars as pl

DUPLICATE_IN_FILE = "_duplicate_in_file"
MATCH_ID = "_contact_id"  # the existing contact a row is, or null for a new one
FILLED = "_filled"  # the fields an update fills in, as a list of names

# Fields an update may fill when the contact has them empty; it never overwrites a value.
FILLABLE = ("email", "first_name", "last_name", "phone", "job_title", "country", "external_id")

EXISTING_SCHEMA = {
    "id": pl.Int64,
    **dict.fromkeys(FILLABLE, pl.String),
    "company_id": pl.Int64,
    "attributes": pl.String,  # JSON
}


def mark_in_file_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """The first row of each email (or external id) is kept; later ones are duplicates."""
    repeated_email = pl.col("email").is_not_null() & ~pl.col("email").is_first_distinct()
    repeated_id = pl.col("external_id").is_not_null() & ~pl.col("external_id").is_first_distinct()
    return frame.with_columns((repeated_email | repeated_id).alias(DUPLICATE_IN_FILE))


def match_existing(frame: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """Adds MATCH_ID. An external id that already belongs to another contact is dropped."""
    by_email = existing.select(pl.col("email"), pl.col("id").alias("_by_email")).drop_nulls()
    by_id = existing.select(pl.col("external_id"), pl.col("id").alias("_by_external_id"))
    frame = frame.join(by_email, on="email", how="left", nulls_equal=False).join(
        by_id.drop_nulls(), on="external_id", how="left", nulls_equal=False
    )
    clash = pl.col("_by_external_id").is_not_null() & (
        pl.col("_by_email").is_not_null() & (pl.col("_by_email") != pl.col("_by_external_id"))
    )
    return frame.with_columns(
        pl.coalesce("_by_email", "_by_external_id").alias(MATCH_ID),
        pl.when(clash).then(None).otherwise(pl.col("external_id")).alias("external_id"),
    ).drop("_by_email", "_by_external_id")


def plan_fills(matched: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """One row per existing contact that gains a value: every fillable field, old or new."""
    current = existing.rename({c: f"_old_{c}" for c in existing.columns if c != "id"})
    joined = matched.join(current, left_on=MATCH_ID, right_on="id", how="inner")

    def empty(column: str) -> pl.Expr:
        return pl.col(column).is_null() | (pl.col(column) == "")

    gains = {f: empty(f"_old_{f}") & ~empty(f) for f in FILLABLE}
    gains["company"] = pl.col("_old_company_id").is_null() & ~empty("company")
    filled = pl.concat_list(
        pl.when(gain).then(pl.lit(name)).otherwise(None) for name, gain in gains.items()
    ).list.drop_nulls()
    return (
        joined.with_columns(
            *[
                pl.when(gains[f]).then(pl.col(f)).otherwise(pl.col(f"_old_{f}")).alias(f)
                for f in FILLABLE
            ],
            pl.when(gains["company"]).then(pl.col("company")).otherwise(None).alias("company"),
            filled.alias(FILLED),
        )
        .rename({MATCH_ID: "id", "_old_company_id": "company_id", "_old_attributes": "_attrs"})
        .select(pl.exclude("^_old_.*$"))
    )
