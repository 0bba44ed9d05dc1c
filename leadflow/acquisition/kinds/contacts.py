"""Contacts: a bought list or an old CRM's people, cleaned, deduplicated and loaded."""

import polars as pl
from django.conf import settings
from django.db import transaction

from leadflow.acquisition.kinds.base import ImportRun, report_cost, report_rejects
from leadflow.acquisition.models import DuplicatePolicy
from leadflow.acquisition.pipeline import load
from leadflow.acquisition.pipeline.mapping import apply_mapping, plan_mapping
from leadflow.acquisition.pipeline.match import (
    DUPLICATE_IN_FILE,
    MATCH_ID,
    mark_in_file_duplicates,
    match_existing,
    plan_fills,
)
from leadflow.acquisition.pipeline.normalise import (
    COUNTRY_UNKNOWN,
    PHONE_INVALID,
    normalise_contacts,
)
from leadflow.acquisition.pipeline.read import read_table
from leadflow.acquisition.pipeline.validate import split_rejects, validate_contacts


def run(job_run: ImportRun) -> None:
    """Read, map, normalise, validate, match and load a list of contacts."""
    path, options, report, job = job_run.path, job_run.options, job_run.report, job_run.job
    progress = job_run.progress
    table = read_table(path, encoding=options.encoding, delimiter=options.delimiter)
    report.encoding, report.delimiter = table.encoding, table.delimiter
    plan = plan_mapping(table.headers, options.mapping)
    report.mapping = plan
    report.rows_read = table.frame.height

    rows = apply_mapping(table.frame, plan)
    rows = normalise_contacts(rows, region=options.phone_region or settings.PHONE_REGION)
    rows = validate_contacts(
        rows, header_width=len(table.headers), allow_no_email=options.allow_no_email
    )
    usable, rejected = split_rejects(rows)
    usable = mark_in_file_duplicates(usable)
    report.skipped_in_file = int(usable[DUPLICATE_IN_FILE].sum())
    usable = usable.filter(~pl.col(DUPLICATE_IN_FILE))

    existing = load.fetch_existing(
        emails=usable["email"].drop_nulls().to_list(),
        external_ids=usable["external_id"].drop_nulls().to_list(),
    )
    usable = match_existing(usable, existing)
    new = usable.filter(pl.col(MATCH_ID).is_null())
    matched = usable.filter(pl.col(MATCH_ID).is_not_null())

    report_rejects(job_run, rejected, table.frame)
    report.warnings = {
        "phone not understood (left empty)": int(usable[PHONE_INVALID].sum()),
        "country not recognised (left empty)": int(usable[COUNTRY_UNKNOWN].sum()),
    }
    fills = plan_fills(matched, existing) if options.on_duplicate != DuplicatePolicy.SKIP else None
    if options.dry_run:
        report.created = new.height
        report.skipped_in_database = matched.height
        if fills is not None:
            report.updated, report.skipped_in_database = _count_updates(fills), 0
        report_cost(report, options)
        return
    tick = progress(new.height + matched.height) if progress else None
    with transaction.atomic():
        _load(new, fills, matched, options, report, job, tick)


def _count_updates(fills: pl.DataFrame) -> int:
    return sum(1 for row in fills.iter_rows(named=True) if load.fills_something(row))


def _load(new, fills, matched, options, report, job, tick) -> None:
    vendor = load.ensure_vendor(options.vendor)[0] if options.vendor else None
    channel_names = set(new["channel"].drop_nulls().unique().to_list())
    if options.channel:
        channel_names.add(options.channel)
    channels, report.channels_created = load.ensure_channels(channel_names)
    default_channel = channels.get(options.channel.casefold()) if options.channel else None
    campaign_pairs = set(new.select("campaign", "channel").drop_nulls("campaign").rows())
    if options.campaign:
        campaign_pairs.add((options.campaign, options.channel))
    campaigns, report.campaigns_created, more_channels = load.ensure_campaigns(
        campaign_pairs, default_channel
    )
    report.channels_created = sorted({*report.channels_created, *more_channels})
    default_campaign = campaigns.get(options.campaign.casefold()) if options.campaign else None
    companies = set(new["company"].drop_nulls().to_list())
    if fills is not None:
        companies |= set(fills["company"].drop_nulls().to_list())
    company_ids, report.companies_created = load.ensure_companies(companies)

    report.created = load.insert_contacts(
        new,
        job_id=job.pk,
        file_name=job.file_name,
        vendor=vendor,
        channels=channels,
        campaigns=campaigns,
        default_channel=default_channel,
        default_campaign=default_campaign,
        company_ids=company_ids,
        progress=tick,
    )
    if fills is None:
        report.skipped_in_database = matched.height
        if tick:
            tick(matched.height)
    else:
        report.updated = load.fill_contacts(
            fills, job_id=job.pk, file_name=job.file_name, company_ids=company_ids, progress=tick
        )
        # A matched contact that had every field already: nothing to fill, so it is skipped.
        report.skipped_in_database = matched.height - report.updated
    amount = report_cost(report, options)
    job.vendor = vendor
    if amount is not None and amount > 0:
        job.spend = load.record_list_cost(
            amount=amount,
            currency=options.currency,
            vendor=vendor,
            campaign=default_campaign,
            note=f"List {job.file_name} (import #{job.pk})",
        )
