"""Companies: an old CRM's accounts or a firmographic list, matched by domain, then by name.

A row is the same company as one we have when its domain is that company's domain, or
else when its name is (case-insensitively) and one of the two has no domain: "Acme" with
acme.com and "Acme" with acme.de are two companies. `--on-duplicate update` lets the file's
non-empty values replace what is stored; `merge` only fills what is empty; `skip` leaves
the company alone. Company has no custom attributes, so other columns are listed in the
report as not imported.
"""

import polars as pl
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from leadflow.acquisition.kinds.base import (
    ImportRun,
    chunks,
    first_reason,
    read_mapped,
    report_rejects,
)
from leadflow.acquisition.models import DuplicatePolicy
from leadflow.acquisition.pipeline.normalise import COUNTRY_TABLE
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.validate import (
    FIELD_TOO_LONG,
    TOO_MANY_FIELDS,
    split_rejects,
)
from leadflow.acquisition.pipeline.values import blank_to_null, count, domain, parse_dates
from leadflow.contacts.models import Company

KIND = "companies"
BATCH_SIZE = 1000
FIELDS = ("name", "domain", "industry", "size", "country")
MISSING_NAME = "missing name"
INVALID_DATE = "created_at is not a date"
MAX_LENGTHS = {"name": 200, "industry": 100}
MATCH_ID = "_company_id"
MAX_SIZE = 2_147_483_647  # Company.size is a PositiveIntegerField
DUPLICATE_KEY = "_key"


def run(job_run: ImportRun) -> None:
    """Read, map, normalise, validate, match and load a list of companies."""
    options, report = job_run.options, job_run.report
    table, rows = read_mapped(job_run, KIND)
    rows = _normalise(rows)
    too_long = pl.any_horizontal(pl.col(c).str.len_chars() > n for c, n in MAX_LENGTHS.items())
    rows = rows.with_columns(
        first_reason(
            (pl.col(FIELD_COUNT) > len(table.headers), TOO_MANY_FIELDS),
            (pl.col("name").is_null(), MISSING_NAME),
            (pl.col("created_at_raw").is_not_null() & pl.col("created_at").is_null(), INVALID_DATE),
            (too_long, FIELD_TOO_LONG),
        )
    )
    usable, rejected = split_rejects(rows)
    report_rejects(job_run, rejected, table.frame)
    report.warnings = {
        "domain not understood (left empty)": _unread(usable, "domain"),
        "size not understood (left empty)": _unread(usable, "size"),
        "country not recognised (left empty)": _unread(usable, "country"),
    }

    usable = usable.with_columns(
        pl.coalesce(pl.col("domain"), pl.lit("name:") + pl.col("name").str.to_uppercase()).alias(
            DUPLICATE_KEY
        )
    )
    first = usable[DUPLICATE_KEY].is_first_distinct()
    usable = _match(usable.filter(first))
    # Two rows found the same company of ours by its name: the first is it. A later one with
    # a domain of its own (the file's domains are distinct by now) is another company; one
    # without a domain is the same company again.
    repeated = pl.col(MATCH_ID).is_not_null() & ~pl.col(MATCH_ID).is_first_distinct()
    usable = usable.with_columns(
        pl.when(repeated & pl.col("domain").is_not_null())
        .then(None)
        .otherwise(pl.col(MATCH_ID))
        .alias(MATCH_ID),
        (repeated & pl.col("domain").is_null()).alias("_again"),
    )
    report.skipped_in_file = int((~first).sum()) + int(usable["_again"].sum())
    usable = usable.filter(~pl.col("_again"))
    new = usable.filter(pl.col(MATCH_ID).is_null())
    matched = usable.filter(pl.col(MATCH_ID).is_not_null())

    changes = [] if options.on_duplicate == DuplicatePolicy.SKIP else _changes(matched, options)
    report.created, report.updated = new.height, len(changes)
    report.skipped_in_database = matched.height - len(changes)
    if options.dry_run:
        return
    tick = job_run.progress(new.height + len(changes)) if job_run.progress else None
    with transaction.atomic():
        _insert(new, tick)
        _update(changes, tick)


def _unread(frame: pl.DataFrame, column: str) -> int:
    return int(
        frame.select(
            (pl.col(f"{column}_raw").is_not_null() & pl.col(column).is_null()).sum()
        ).item()
    )


def _normalise(rows: pl.DataFrame) -> pl.DataFrame:
    rows = rows.with_columns(
        blank_to_null(pl.col("name")).str.replace_all(r"\s+", " ").alias("name"),
        blank_to_null(pl.col("industry")).str.replace_all(r"\s+", " ").alias("industry"),
        blank_to_null(pl.col("domain")).alias("domain_raw"),
        domain(pl.col("domain")).alias("domain"),
        blank_to_null(pl.col("size")).alias("size_raw"),
        pl.when(count(pl.col("size")) <= MAX_SIZE).then(count(pl.col("size"))).alias("size"),
        blank_to_null(pl.col("country")).alias("country_raw"),
        blank_to_null(pl.col("country"))
        .str.to_lowercase()
        .replace_strict(COUNTRY_TABLE, default=None, return_dtype=pl.String)
        .alias("country"),
    )
    return parse_dates(rows, ["created_at"])


def _existing(rows: list[tuple], key: str) -> pl.DataFrame:
    schema = {
        key: pl.String,
        MATCH_ID: pl.Int64,
        "_old_name": pl.String,
        "_old_domain": pl.String,
        "_old_industry": pl.String,
        "_old_size": pl.Int64,
        "_old_country": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _match(usable: pl.DataFrame) -> pl.DataFrame:
    """Adds MATCH_ID and the matched company's current values (`_old_<field>`)."""
    values = ("pk", "name", "domain", "industry", "size", "country")
    by_domain = []
    for chunk in chunks(usable["domain"].drop_nulls().to_list()):
        by_domain += Company.objects.filter(domain__in=chunk).values_list("domain", *values)
    matched = usable.join(_existing(by_domain, "domain"), on="domain", how="left")
    names = matched.filter(pl.col(MATCH_ID).is_null())["name"].str.to_uppercase().unique()
    by_name = []
    for chunk in chunks(names.to_list()):
        by_name += (
            Company.objects.annotate(u=Upper("name"))
            .filter(u__in=chunk)
            .order_by("pk")
            .values_list("u", *values)
        )
    candidates = _existing(by_name, "_upper")
    unmatched = (
        matched.filter(pl.col(MATCH_ID).is_null())
        .select(LINE, "domain", pl.col("name").str.to_uppercase().alias("_upper"))
        .join(candidates, on="_upper", how="inner")
        .filter(pl.col("domain").is_null() | pl.col("_old_domain").is_null())
        .sort(LINE, MATCH_ID)
        .unique(LINE, keep="first", maintain_order=True)
        .drop("domain", "_upper")
    )
    return matched.update(unmatched, on=LINE, how="left")


def _stored(value):
    return None if value in (None, "") else value


def _changes(matched: pl.DataFrame, options) -> list[Company]:
    """The matched companies that change, with their new values (update or merge)."""
    replace = options.on_duplicate == DuplicatePolicy.UPDATE
    changed = []
    for row in matched.iter_rows(named=True):
        values = {}
        for field in FIELDS:
            new, old = row[field], _stored(row[f"_old_{field}"])
            values[field] = old if new is None or (old is not None and not replace) else new
        if any(values[f] != _stored(row[f"_old_{f}"]) for f in FIELDS):
            values["industry"] = values["industry"] or ""
            values["country"] = values["country"] or ""
            changed.append(Company(pk=row[MATCH_ID], **values))
    return changed


def _insert(new: pl.DataFrame, tick) -> None:
    now = timezone.now()
    for batch in new.iter_slices(BATCH_SIZE):
        Company.objects.bulk_create(
            [
                Company(
                    name=row["name"],
                    domain=row["domain"],
                    industry=row["industry"] or "",
                    size=row["size"],
                    country=row["country"] or "",
                    created_at=row["created_at"] or now,
                )
                for row in batch.iter_rows(named=True)
            ]
        )
        if tick:
            tick(batch.height)


def _update(changes: list[Company], tick) -> None:
    now = timezone.now()
    for batch in chunks(changes, BATCH_SIZE):
        for company in batch:
            company.updated_at = now
        Company.objects.bulk_update(batch, [*FIELDS, "updated_at"])
        if tick:
            tick(len(batch))
