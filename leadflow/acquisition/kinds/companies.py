"""Companies: an old CRM's accounts or a firmographic list, matched by id, domain, then name.

A row is the same company as one we have when its `external_id` is that company's; else
when its domain is that company's domain; else when its name is (case-insensitively) and
neither two domains nor two external ids tell them apart: "Acme" with acme.com and "Acme"
with acme.de are two companies. `--on-duplicate update` lets the file's non-empty values
replace what is stored; `merge` only fills what is empty; `skip` leaves the company alone.
An external id is only ever filled, never replaced: it is what the next import matches by.
Columns with no field of their own are kept in the company's custom attributes. A name is
cased as a contacts list's company is (`normalise.cased_names`): "ACME INC" is "Acme Inc".
"""

import polars as pl
from django.db.models.functions import Upper
from django.utils import timezone

from leadflow.acquisition.kinds.base import (
    FirstSeen,
    ImportRun,
    MappedChunks,
    add_counts,
    changed_fields,
    chunks,
    first_reason,
    mapped_chunks,
    record_created,
    record_updated,
    writing,
)
from leadflow.acquisition.models import DuplicatePolicy
from leadflow.acquisition.pipeline import load
from leadflow.acquisition.pipeline.dates import DateOrders, parse_dates
from leadflow.acquisition.pipeline.mapping import merged_attributes, row_attributes
from leadflow.acquisition.pipeline.normalise import cased_names, normalise_countries
from leadflow.acquisition.pipeline.read import FIELD_COUNT, LINE
from leadflow.acquisition.pipeline.validate import (
    TOO_MANY_FIELDS,
    split_rejects,
    too_long,
)
from leadflow.acquisition.pipeline.values import blank_to_null, count, domain
from leadflow.contacts.models import Company

KIND = "companies"
BATCH_SIZE = 1000
FIELDS = ("name", "domain", "industry", "size", "country")
MISSING_NAME = "missing name"
INVALID_DATE = "created_at is not a date"
MAX_LENGTHS = {"name": 200, "industry": 100, "external_id": 100}
MATCH_ID = "_company_id"
MATCHED_BY = "_matched_by"
MAX_SIZE = 2_147_483_647  # Company.size is a PositiveIntegerField
MATCH_RANK = {"id": 0, "domain": 1, "name": 2}  # the row that found a company most surely
OTHER_ID = "external id differs from the company matched by domain or name (kept the stored one)"
DOMAIN_TAKEN = "domain belongs to another company (left unchanged)"


def run(job_run: ImportRun) -> None:
    """Read, map, normalise, validate, match and load companies, a chunk at a time."""
    run = CompaniesRun(job_run)
    with mapped_chunks(job_run, KIND) as reader, writing(job_run.options):
        for raw, rows in reader:
            run.chunk(reader, raw, _normalise(rows, reader.dates))


class CompaniesRun:
    """What a companies import keeps from chunk to chunk: the keys and domains of the rows
    kept so far, and the companies earlier rows found or created (a later row that finds
    one of them again is an in-file duplicate: the first row wins)."""

    def __init__(self, job_run: ImportRun) -> None:
        self.job_run = job_run
        self.keys, self.domains = FirstSeen(), FirstSeen()
        self.taken: set[int] = set()

    def chunk(self, reader: MappedChunks, raw: pl.DataFrame, rows: pl.DataFrame) -> None:
        options, report = self.job_run.options, self.job_run.report
        value_too_long, too_long_reason = too_long(MAX_LENGTHS)
        rows = rows.with_columns(
            first_reason(
                (pl.col(FIELD_COUNT) > reader.header_width, TOO_MANY_FIELDS),
                (pl.col("name").is_null(), MISSING_NAME),
                (
                    pl.col("created_at_raw").is_not_null() & pl.col("created_at").is_null(),
                    INVALID_DATE,
                ),
                (value_too_long, too_long_reason),
            )
        )
        usable, rejected = split_rejects(rows)
        reader.reject(rejected, raw)
        warnings = {
            "domain not understood (left empty)": _unread(usable, "domain"),
            "size not understood (left empty)": _unread(usable, "size"),
            "country not recognised (left empty)": _unread(usable, "country"),
        }

        usable = _match(self._first_rows(usable))
        # Two rows found the same company of ours by its name: the first is it. A later one
        # with a domain or an id of its own (the file's are distinct by now) is another
        # company; one without is the same company again, as is a row that found a company
        # by its domain or name that another row found by its id.
        rank = pl.col(MATCHED_BY).replace_strict(MATCH_RANK, default=len(MATCH_RANK))
        usable = usable.sort(rank, LINE)
        repeated = pl.col(MATCH_ID).is_not_null() & (
            ~pl.col(MATCH_ID).is_first_distinct() | pl.col(MATCH_ID).is_in(list(self.taken))
        )
        its_own = pl.col("domain").is_not_null() | pl.col("external_id").is_not_null()
        another = repeated & (pl.col(MATCHED_BY) == "name") & its_own
        usable = usable.with_columns(
            pl.when(another).then(None).otherwise(pl.col(MATCH_ID)).alias(MATCH_ID),
            (repeated & ~another).alias("_again"),
        ).sort(LINE)
        report.skipped_in_file += rows.height - rejected.height - usable.height
        report.skipped_in_file += int(usable["_again"].sum())
        usable = usable.filter(~pl.col("_again"))
        new = usable.filter(pl.col(MATCH_ID).is_null())
        matched = usable.filter(pl.col(MATCH_ID).is_not_null())
        warnings[OTHER_ID] = int(
            matched.select(
                (pl.col("external_id") != pl.col("_old_external_id")).fill_null(False).sum()
            ).item()
        )
        warnings[DOMAIN_TAKEN] = int(matched["_domain_taken"].sum())
        add_counts(report.warnings, warnings)

        skip = options.on_duplicate == DuplicatePolicy.SKIP
        changes = [] if skip else _changes(matched, options)
        report.created += new.height
        # Like contacts: a merge's changes count as merged, an update's as updated.
        if options.on_duplicate == DuplicatePolicy.MERGE:
            report.merged += len(changes)
        else:
            report.updated += len(changes)
        report.skipped_in_database += matched.height - len(changes)
        self.taken |= set(matched[MATCH_ID].to_list())
        if not options.dry_run:
            job = self.job_run.job
            created = _insert(new)
            record_created(job, Company, created)
            self.taken |= created
            _update([company for company, _, _ in changes])
            record_updated(job, Company, [(c.pk, before, w) for c, before, w in changes])

    def _first_rows(self, usable: pl.DataFrame) -> pl.DataFrame:
        """The rows that are the first of their company in the file: an external id names
        one, else a domain, else a name; and a domain is one company's whatever ids its
        rows give (it is unique)."""
        key = pl.coalesce(
            pl.lit("id:") + pl.col("external_id"),
            pl.lit("domain:") + pl.col("domain"),
            pl.lit("name:") + pl.col("name").str.to_uppercase(),
        )
        usable = usable.filter(self.keys.first(usable, key))
        with_domain = usable.filter(pl.col("domain").is_not_null())
        with_domain = with_domain.filter(self.domains.first(with_domain, pl.col("domain")))
        return pl.concat([usable.filter(pl.col("domain").is_null()), with_domain]).sort(LINE)


def _unread(frame: pl.DataFrame, column: str) -> int:
    return int(
        frame.select(
            (pl.col(f"{column}_raw").is_not_null() & pl.col(column).is_null()).sum()
        ).item()
    )


def _normalise(rows: pl.DataFrame, dates: DateOrders) -> pl.DataFrame:
    rows = rows.with_columns(
        # Cased as a contacts list's company column is: "ACME INC" in either kind of list
        # is the one "Acme Inc".
        cased_names(rows["name"], field="company"),
        blank_to_null(pl.col("industry")).str.replace_all(r"\s+", " ").alias("industry"),
        blank_to_null(pl.col("external_id")).alias("external_id"),
        blank_to_null(pl.col("domain")).alias("domain_raw"),
        domain(pl.col("domain")).alias("domain"),
        blank_to_null(pl.col("size")).alias("size_raw"),
        pl.when(count(pl.col("size")) <= MAX_SIZE).then(count(pl.col("size"))).alias("size"),
        blank_to_null(pl.col("country")).alias("country_raw"),
    )
    rows = rows.with_columns(normalise_countries(rows["country_raw"]).alias("country"))
    return parse_dates(rows, ["created_at"], dates)


VALUES = ("pk", "external_id", *FIELDS)
STORED_SCHEMA = {
    MATCH_ID: pl.Int64,
    "_old_external_id": pl.String,
    "_old_name": pl.String,
    "_old_domain": pl.String,
    "_old_industry": pl.String,
    "_old_size": pl.Int64,
    "_old_country": pl.String,
}


def _stored_by(key: str, lookup: str, values: list[str]) -> pl.DataFrame:
    """The companies whose `lookup` is one of `values`, keyed by that value as `key`."""
    found = []
    companies = Company.objects.annotate(_upper=Upper("name")).order_by("pk")
    for chunk in chunks(values):
        found += companies.filter(**{f"{lookup}__in": chunk}).values_list(lookup, *VALUES)
    return pl.DataFrame(found, schema={key: pl.String, **STORED_SCHEMA}, orient="row")


def _stored_by_name(uppers: list[str]) -> pl.DataFrame:
    """The company each upper-cased name is, as the contacts import finds it
    (`load.find_companies`: by name, else by key and legal form, so "Initech S.L." is our
    "Initech SL"), keyed by `_upper`."""
    ids = load.find_companies(uppers)
    found = []
    for chunk in chunks(sorted(set(ids.values()))):
        found += Company.objects.filter(pk__in=chunk).values_list(*VALUES)
    stored = pl.DataFrame(found, schema=STORED_SCHEMA, orient="row")
    names = pl.DataFrame(
        {"_upper": list(ids), MATCH_ID: list(ids.values())},
        schema={"_upper": pl.String, MATCH_ID: pl.Int64},
    )
    return names.join(stored, on=MATCH_ID)


def _found(rows: pl.DataFrame, stored: pl.DataFrame, on: str, how: str) -> pl.DataFrame:
    """The rows that found a company (the first, by pk) through `on`, marked `how`."""
    return (
        rows.select(LINE, on)
        .join(stored, on=on, how="inner")
        .unique(LINE, keep="first", maintain_order=True)
        .drop(on)
        .with_columns(pl.lit(how).alias(MATCHED_BY))
    )


def _match(usable: pl.DataFrame) -> pl.DataFrame:
    """Adds MATCH_ID, MATCHED_BY (id, domain or name), the matched company's current values
    (`_old_<field>`) and `_domain_taken` (the row's domain is another company's)."""
    usable = usable.with_columns(
        pl.lit(None, dtype=pl.String).alias(MATCHED_BY),
        *(pl.lit(None, dtype=dtype).alias(column) for column, dtype in STORED_SCHEMA.items()),
    )
    by_id = _stored_by("external_id", "external_id", usable["external_id"].drop_nulls().to_list())
    usable = usable.update(_found(usable, by_id, "external_id", "id"), on=LINE, how="left")

    by_domain = _stored_by("domain", "domain", usable["domain"].drop_nulls().to_list())
    unmatched = usable.filter(pl.col(MATCH_ID).is_null())
    usable = usable.update(_found(unmatched, by_domain, "domain", "domain"), on=LINE, how="left")
    owners = by_domain.select("domain", pl.col(MATCH_ID).alias("_owner"))
    usable = usable.join(owners, on="domain", how="left").with_columns(
        (pl.col("_owner").is_not_null() & (pl.col("_owner") != pl.col(MATCH_ID)))
        .fill_null(False)
        .alias("_domain_taken")
    )

    unmatched = usable.filter(pl.col(MATCH_ID).is_null()).with_columns(
        pl.col("name").str.to_uppercase().alias("_upper")
    )
    by_name = _stored_by_name(unmatched["_upper"].unique().to_list())
    candidates = (
        unmatched.select(LINE, "_upper", "domain", "external_id")
        .join(by_name, on="_upper", how="inner")
        .filter(pl.col("domain").is_null() | pl.col("_old_domain").is_null())
        .filter(pl.col("external_id").is_null() | pl.col("_old_external_id").is_null())
        .drop("domain", "external_id")
        .sort(LINE, MATCH_ID)
    )
    usable = usable.update(_found(unmatched, candidates, "_upper", "name"), on=LINE, how="left")
    return usable.drop("_owner").sort(LINE)


def _stored(value):
    return None if value in (None, "") else value


def _changes(matched: pl.DataFrame, options) -> list[tuple[Company, dict, dict]]:
    """The matched companies that change, with their new values (update or merge), and the
    changed fields' values before and written (for undo)."""
    replace = options.on_duplicate == DuplicatePolicy.UPDATE
    attributes = {}
    for chunk in chunks(matched[MATCH_ID].to_list()):
        attributes.update(Company.objects.filter(pk__in=chunk).values_list("pk", "attributes"))
    changed = []
    for row in matched.iter_rows(named=True):
        if row["_domain_taken"]:
            row["domain"] = None
        stored = {field: row[f"_old_{field}"] for field in FIELDS}
        stored["industry"], stored["country"] = stored["industry"] or "", stored["country"] or ""
        stored["external_id"] = row["_old_external_id"]
        stored["attributes"] = attributes[row[MATCH_ID]] or {}
        values = {}
        for field in FIELDS:
            new, old = row[field], _stored(stored[field])
            values[field] = old if new is None or (old is not None and not replace) else new
        values["industry"] = values["industry"] or ""
        values["country"] = values["country"] or ""
        values["external_id"] = stored["external_id"] or row["external_id"]
        values["attributes"] = merged_attributes(
            stored["attributes"], row_attributes(row), replace=replace
        )
        before, written = changed_fields(stored, values)
        if written:
            changed.append((Company(pk=row[MATCH_ID], **values), before, written))
    return changed


def _insert(new: pl.DataFrame) -> set[int]:
    """Creates the new companies; their ids."""
    now = timezone.now()
    created = set()
    for batch in new.iter_slices(BATCH_SIZE):
        companies = Company.objects.bulk_create(
            [
                Company(
                    name=row["name"],
                    domain=row["domain"],
                    industry=row["industry"] or "",
                    size=row["size"],
                    country=row["country"] or "",
                    external_id=row["external_id"],
                    attributes=row_attributes(row),
                    created_at=row["created_at"] or now,
                )
                for row in batch.iter_rows(named=True)
            ]
        )
        created |= {company.pk for company in companies}
    return created


def _update(changes: list[Company]) -> None:
    now = timezone.now()
    for batch in chunks(changes, BATCH_SIZE):
        for company in batch:
            company.updated_at = now
        Company.objects.bulk_update(batch, [*FIELDS, "external_id", "attributes", "updated_at"])
