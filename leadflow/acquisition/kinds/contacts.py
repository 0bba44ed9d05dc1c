"""Contacts: a bought list or an old CRM's people, cleaned, deduplicated and loaded.

The file is read a chunk of rows at a time (`read.open_table`), and each chunk goes
through the stages: `_clean` (map, normalise, validate), then `_match_and_load` (in-file
and database duplicates, then the load). Across chunks only what the stages must remember
is kept: the emails and external ids already seen (in-file duplicates), the names of
channels, campaigns and companies already resolved, and the report's counts. So a file
of any size is imported in bounded memory, and still in one transaction: a failure in the
last chunk rolls back the first.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial

import polars as pl
from django.conf import settings
from django.db import transaction

from leadflow.acquisition.kinds.base import (
    ImportRun,
    Progress,
    by_count,
    date_orders,
    ensure_vendors,
    missing_names,
    record_rejects,
    rejects_path,
    report_cost,
)
from leadflow.acquisition.models import ImportChangeAction
from leadflow.acquisition.pipeline import load
from leadflow.acquisition.pipeline.dates import DateOrders
from leadflow.acquisition.pipeline.flags import flag_emails, flag_warnings
from leadflow.acquisition.pipeline.funnel import (
    funnel_warnings,
    owner_directory,
    read_funnel_fields,
)
from leadflow.acquisition.pipeline.lookup import DatabaseLookup, KnownKeys
from leadflow.acquisition.pipeline.mapping import apply_mapping, plan_mapping
from leadflow.acquisition.pipeline.match import (
    DUPLICATE_IN_FILE,
    mark_in_file_duplicates,
    match_contacts,
    plan_changes,
    planned_companies,
)
from leadflow.acquisition.pipeline.normalise import (
    COUNTRY_AS_ENTERED,
    COUNTRY_UNKNOWN,
    PHONE_AS_ENTERED,
    PHONE_INVALID,
    normalise_contacts,
)
from leadflow.acquisition.pipeline.read import CHUNK_ROWS, TableStream, open_table
from leadflow.acquisition.pipeline.rejects import RejectsFile
from leadflow.acquisition.pipeline.update import apply_changes
from leadflow.acquisition.pipeline.validate import split_rejects, validate_contacts
from leadflow.contacts.models import Campaign, Channel, Company, Vendor

PHONE_WARNING = f"phone not understood (kept as attribute {PHONE_AS_ENTERED})"
COUNTRY_WARNING = f"country not recognised (kept as attribute {COUNTRY_AS_ENTERED})"


@dataclass
class SeenKeys:
    """The emails and external ids of the rows kept so far: a later row with one of them
    is an in-file duplicate, in whichever chunk it comes."""

    emails: pl.Series = field(default_factory=lambda: pl.Series("email", [], dtype=pl.String))
    external_ids: pl.Series = field(
        default_factory=lambda: pl.Series("external_id", [], dtype=pl.String)
    )

    def mark_duplicates(self, frame: pl.DataFrame) -> pl.DataFrame:
        """DUPLICATE_IN_FILE: a repeat inside this chunk, or of a row of an earlier chunk."""
        frame = mark_in_file_duplicates(frame)
        earlier = pl.col("email").is_in(self.emails.implode()) | pl.col("external_id").is_in(
            self.external_ids.implode()
        )
        return frame.with_columns(
            (pl.col(DUPLICATE_IN_FILE) | earlier.fill_null(False)).alias(DUPLICATE_IN_FILE)
        )

    def remember(self, kept: pl.DataFrame) -> None:
        self.emails = pl.concat([self.emails, kept["email"].drop_nulls()])
        self.external_ids = pl.concat([self.external_ids, kept["external_id"].drop_nulls()])


@dataclass
class Targets:
    """What new contacts point at, made once per run and found again chunk after chunk."""

    vendor: Vendor | None = None
    default_channel: Channel | None = None
    default_campaign: Campaign | None = None
    channels: dict[str, Channel] = field(default_factory=dict)  # by casefolded name
    campaigns: dict[str, Campaign] = field(default_factory=dict)  # by casefolded name
    company_ids: dict[str, int] = field(default_factory=dict)  # by upper-cased name
    company_keys: load.StoredCompanyKeys = field(default_factory=load.StoredCompanyKeys)


@dataclass
class ContactsRun:
    """One run's state across chunks."""

    job_run: ImportRun
    region: str
    header_width: int
    plan: dict[str, str]
    rejects: RejectsFile
    seen: SeenKeys = field(default_factory=SeenKeys)
    targets: Targets = field(default_factory=Targets)
    reasons: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)  # per stage, for the report
    tick: Progress | None = None
    owners: dict[str, int | None] = field(default_factory=dict)  # funnel.owner_directory()
    dates: DateOrders = field(default_factory=DateOrders)  # one order of day and month per file
    # Read while the first chunk is cleaned (a file of several chunks), else before the second.
    known: KnownKeys = field(default_factory=KnownKeys)
    chunks_matched: int = 0
    # A dry run's names of channels, (campaign, channel) pairs and companies, to list what a
    # real run would create.
    planned: dict[str, set] = field(
        default_factory=lambda: {"channel": set(), "campaign": set(), "company": set()}
    )

    def timed(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - started
        return now


def run(job_run: ImportRun) -> None:
    """Read, map, normalise, validate, match and load a list of contacts."""
    path, options, report = job_run.path, job_run.options, job_run.report
    with open_table(
        path, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet
    ) as table:
        report.encoding, report.delimiter = table.encoding, table.delimiter
        if table.sheet:
            report.details["sheet"] = table.sheet
        plan = plan_mapping(table.headers, options.mapping)
        report.mapping = plan
        state = ContactsRun(
            job_run=job_run,
            region=options.phone_region or settings.PHONE_REGION,
            header_width=len(table.headers),
            plan=plan,
            rejects=RejectsFile(rejects_path(job_run.job.pk if job_run.job else None)),
            owners=owner_directory() if "owner" in plan.values() else {},
            dates=date_orders(options),
        )
        try:
            with nullcontext() if options.dry_run else transaction.atomic():
                if not options.dry_run:
                    _prepare_targets(state)
                early_keys = partial(_read_known_keys_early, state, table)
                for chunk, usable in _cleaned_ahead(state, table.chunks, early_keys):
                    _match_and_load(state, usable)
                    _progress(state, table, chunk.height)
                _add_warnings(report, table.warnings())  # lines read as Windows-1252
                if not options.dry_run:
                    _finish(state)
        finally:
            path_written = state.rejects.close()
    report.rejects_path = str(path_written) if path_written else None
    report.rejected_by_reason = by_count(state.reasons)
    if options.dry_run:
        report_cost(report, options)
        _report_planned(state)
    report.details["seconds_by_stage"] = {k: round(v, 2) for k, v in state.seconds.items()}
    _add_warnings(report, state.dates.warnings())


def _cleaned_ahead(
    state: ContactsRun,
    chunks: Iterator[pl.DataFrame],
    meanwhile: Callable[[], None] = lambda: None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """(chunk, its usable rows), the next chunk read and cleaned while this one loads.

    Reading, normalising and validating touch no database, so a second thread does them
    one chunk ahead while the database takes the current chunk: the machine's second core
    works instead of waiting. Chunks still come in file order, and an error in the file
    reaches the caller (and rolls the transaction back) when its chunk is due.
    `meanwhile` runs on this thread while the first chunk is being cleaned.
    """

    def clean_next() -> tuple[pl.DataFrame, pl.DataFrame] | None:
        started = time.perf_counter()
        chunk = next(chunks, None)
        state.timed("read", started)
        return None if chunk is None else (chunk, _clean(state, chunk))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-clean") as ahead:
        pending = ahead.submit(clean_next)
        meanwhile()
        while (cleaned := pending.result()) is not None:
            pending = ahead.submit(clean_next)
            yield cleaned


# A text file this large has more than one chunk (read.CHUNK_ROWS rows of 80 bytes or more):
# the known keys are worth reading before its first chunk is matched.
KNOWN_KEYS_FILE_BYTES = 8_000_000


def _read_known_keys_early(state: ContactsRun, table: TableStream) -> None:
    """The table's keys (lookup.KnownKeys), read while the first chunk is cleaned when the
    file will take several chunks: then even the first chunk asks the database only for
    the keys it may have. A smaller file is matched by asking for every key, which costs
    less than reading them all."""
    if table.size_bytes >= KNOWN_KEYS_FILE_BYTES or (table.total_rows or 0) > CHUNK_ROWS:
        state.known.read()


def _clean(state: ContactsRun, chunk: pl.DataFrame) -> pl.DataFrame:
    """Stages 2 to 4 for one chunk: mapped, normalised, validated, emails flagged; the
    rejects recorded.

    No database here (see _cleaned_ahead); returns the usable rows.
    """
    options, report = state.job_run.options, state.job_run.report
    started = time.perf_counter()
    report.rows_read += chunk.height
    rows = apply_mapping(chunk, state.plan)
    rows = normalise_contacts(rows, region=state.region, dates=state.dates)
    rows = read_funnel_fields(rows, state.owners)
    _add_warnings(report, funnel_warnings(rows))
    started = state.timed("normalise", started)
    rows = validate_contacts(
        rows, header_width=state.header_width, allow_no_email=options.allow_no_email
    )
    usable, rejected = split_rejects(rows)
    record_rejects(state.job_run.report, state.reasons, state.rejects, rejected, chunk)
    usable = flag_emails(usable)
    _add_warnings(report, flag_warnings(usable))
    state.timed("validate", started)
    return usable


def _match_and_load(state: ContactsRun, usable: pl.DataFrame) -> None:
    """Stages 5 and 6 for one chunk's usable rows: duplicates, matches, load.

    In-file duplicates are folded by `match_contacts` within the chunk; across chunks, a
    real run finds the contacts earlier chunks created in the database (they carry this
    job's id), while a dry run, which wrote none, remembers the keys it kept instead.
    Once the table's keys are read (`lookup.KnownKeys`: before the first chunk of a file
    of several chunks, else before the second), the look-up asks only for the keys the
    table may have; if the load then meets one it did not ask for (another writer
    added it since), the chunk is matched again with every key asked for.
    """
    options, report = state.job_run.options, state.job_run.report
    started = time.perf_counter()
    if options.dry_run:
        usable = state.seen.mark_duplicates(usable)
        report.skipped_in_file += int(usable[DUPLICATE_IN_FILE].sum())
        usable = usable.filter(~pl.col(DUPLICATE_IN_FILE))
        state.seen.remember(usable)
    known = state.known
    if state.chunks_matched and not known.ready and not known.too_many:
        known.read()
    state.chunks_matched += 1
    try:
        _match_then_load(state, usable, started, known)  # asks for every key until read
    except load.KeysTaken:
        details = report.details
        details[CHUNKS_ASKED_AGAIN] = details.get(CHUNKS_ASKED_AGAIN, 0) + 1
        _match_then_load(state, usable, time.perf_counter(), None)
    known.add(usable["email"].drop_nulls().to_list(), usable["external_id"].drop_nulls().to_list())


# Report detail: chunks whose load met a key another writer added while the import ran.
CHUNKS_ASKED_AGAIN = "chunks looked up again (keys added meanwhile)"


def _match_then_load(
    state: ContactsRun, usable: pl.DataFrame, started: float, known: KnownKeys | None
) -> None:
    """Match one chunk (asking the database only for keys `known` may have, when given),
    then load it; the chunk's counts go into the report once its load is done, so a load
    that raises load.KeysTaken counts nothing."""
    options, report, job = state.job_run.options, state.job_run.report, state.job_run.job
    result = match_contacts(
        usable,
        policy=options.on_duplicate,
        lookup=DatabaseLookup(known),
        job_id=job.pk if job else None,
    )
    changes = plan_changes(result.matched, result.existing, options.on_duplicate)
    started = state.timed("match", started)

    def count_matches() -> None:
        report.skipped_in_file += result.skipped_in_file
        _add_warnings(report, result.warnings)
        _count_warnings(report, pl.concat([result.new, result.matched], how="diagonal_relaxed"))

    # A contact an earlier chunk of this file created is an in-file duplicate (counted in
    # skipped_in_file by match_contacts), not an update of the database.
    in_database = result.matched.height - result.same_import
    if options.dry_run:
        count_matches()
        counted = [c for c in changes if not c.same_import and c.written]
        report.created += result.new.height
        report.updated += sum(c.action == ImportChangeAction.UPDATED for c in counted)
        report.merged += sum(c.action == ImportChangeAction.MERGED for c in counted)
        report.skipped_in_database += in_database - len(counted)
        new = result.new
        state.planned["channel"] |= set(new["channel"].drop_nulls().to_list())
        state.planned["campaign"] |= set(
            new.select("campaign", "channel").drop_nulls("campaign").rows()
        )
        state.planned["company"] |= set(new["company"].drop_nulls().to_list())
        state.planned["company"] |= planned_companies(changes)
        return
    _load(state, result.new, changes, in_database)
    count_matches()
    state.timed("load", started)


def _report_planned(state: ContactsRun) -> None:
    """What a real run would create, for a dry run's report (nothing is written)."""
    options, report, planned = state.job_run.options, state.job_run.report, state.planned
    if options.channel:
        planned["channel"].add(options.channel)
    if options.campaign:
        planned["campaign"].add((options.campaign, options.channel))
    new_campaigns = missing_names(Campaign, {name for name, _ in planned["campaign"]})
    report.campaigns_created = new_campaigns
    # A new campaign without a channel (and no --channel) goes under "Imported lists".
    homeless = {name for name, channel in planned["campaign"] if not channel}
    if homeless & set(new_campaigns) and not options.channel:
        planned["channel"].add(load.DEFAULT_CAMPAIGN_CHANNEL)
    report.channels_created = missing_names(Channel, planned["channel"])
    report.companies_created = len(missing_names(Company, planned["company"]))
    if options.vendor:
        report.vendors_created = missing_names(Vendor, [options.vendor.strip()])


def _add_warnings(report, counts: dict[str, int]) -> None:
    for name, count in counts.items():
        report.warnings[name] = report.warnings.get(name, 0) + count


def _count_warnings(report, usable: pl.DataFrame) -> None:
    for name, column in ((PHONE_WARNING, PHONE_INVALID), (COUNTRY_WARNING, COUNTRY_UNKNOWN)):
        report.warnings[name] = report.warnings.get(name, 0) + int(usable[column].sum())


def _prepare_targets(state: ContactsRun) -> None:
    """The vendor and the default channel and campaign named by the options."""
    options, report, targets = state.job_run.options, state.job_run.report, state.targets
    if options.vendor:
        name = options.vendor.strip()
        vendors, report.vendors_created = ensure_vendors([name])
        targets.vendor = vendors[name.casefold()]
    if options.channel:
        _add_channels(state, {options.channel})
        targets.default_channel = targets.channels.get(options.channel.casefold())
    if options.campaign:
        _add_campaigns(state, {(options.campaign, options.channel)})
        targets.default_campaign = targets.campaigns.get(options.campaign.casefold())


def _add_channels(state: ContactsRun, names: set[str]) -> None:
    report, targets = state.job_run.report, state.targets
    names = {n for n in names if n.casefold() not in targets.channels}
    if not names:
        return
    found, created = load.ensure_channels(names)
    targets.channels.update(found)
    report.channels_created = sorted({*report.channels_created, *created})


def _add_campaigns(state: ContactsRun, pairs: set[tuple[str, str | None]]) -> None:
    report, targets = state.job_run.report, state.targets
    pairs = {p for p in pairs if p[0].casefold() not in targets.campaigns}
    if not pairs:
        return
    found, created, channels_created = load.ensure_campaigns(pairs, targets.default_channel)
    targets.campaigns.update(found)
    report.campaigns_created = [*report.campaigns_created, *created]
    report.channels_created = sorted({*report.channels_created, *channels_created})


def _add_companies(state: ContactsRun, names: set[str]) -> None:
    targets = state.targets
    names = {n for n in names if n.upper() not in targets.company_ids}
    if not names:
        return
    found, created = load.ensure_companies(names, targets.company_keys)
    targets.company_ids.update(found)
    state.job_run.report.companies_created += created


def _load(state: ContactsRun, new: pl.DataFrame, changes: list, in_database: int) -> None:
    report, job, targets = state.job_run.report, state.job_run.job, state.targets
    _add_channels(state, set(new["channel"].drop_nulls().unique().to_list()))
    _add_campaigns(state, set(new.select("campaign", "channel").drop_nulls("campaign").rows()))
    companies = set(new["company"].drop_nulls().unique().to_list()) | planned_companies(changes)
    _add_companies(state, companies)

    report.created += load.insert_contacts(
        new,
        job_id=job.pk,
        file_name=job.file_name,
        vendor=targets.vendor,
        channels=targets.channels,
        campaigns=targets.campaigns,
        default_channel=targets.default_channel,
        default_campaign=targets.default_campaign,
        company_ids=targets.company_ids,
    )
    updated, merged = apply_changes(
        changes, job_id=job.pk, file_name=job.file_name, company_ids=targets.company_ids
    )
    report.updated += updated
    report.merged += merged
    # A matched contact with nothing to change (or under skip) is skipped.
    report.skipped_in_database += in_database - updated - merged


def _progress(state: ContactsRun, table: TableStream, rows: int) -> None:
    """Tell the progress callback how many rows were done; the total is estimated from the
    share of the file read so far (a text file) or known (a sheet)."""
    progress = state.job_run.progress
    if progress is None:
        return
    if state.tick is None:
        total = table.total_rows or rows
        if table.bytes_read and table.size_bytes:
            total = max(rows, round(rows * table.size_bytes / max(table.bytes_read(), 1)))
        state.tick = progress(total) or (lambda _n: None)
    state.tick(rows)


def _finish(state: ContactsRun) -> None:
    """The list's cost, booked once every chunk is in."""
    options, report, job, targets = (
        state.job_run.options,
        state.job_run.report,
        state.job_run.job,
        state.targets,
    )
    amount = report_cost(report, options)
    job.vendor = targets.vendor
    if amount is not None and amount > 0:
        job.spend = load.record_list_cost(
            amount=amount,
            currency=options.currency,
            vendor=targets.vendor,
            campaign=targets.default_campaign,
            note=f"List {job.file_name} (import #{job.pk})",
        )
