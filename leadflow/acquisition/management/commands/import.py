"""`leadflow import FILE --kind contacts [--map "Column=field" ...] [--dry-run] [--format json]`.

Runs in this process with a progress bar on stderr; `--background` queues the file for a
worker instead (as the web UI does) and prints the job's id.
"""

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leadflow.acquisition.models import ImportKind
from leadflow.acquisition.services import DUPLICATE_POLICIES, ImportOptions, import_list
from leadflow.errors import LeadflowError

# Below this many rows a progress bar is only noise.
PROGRESS_FROM_ROWS = 5000


def _decimal(text: str) -> Decimal:
    """An amount option; argparse turns the error into a one-line usage message."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}")
    return value


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or not field.strip():
            raise CommandError(f'--map takes "Column=field", got {pair!r}')
        mapping[column.strip()] = field.strip()
    return mapping


class Command(BaseCommand):
    help = "Import a list (CSV/TSV/XLSX) of contacts, companies, deals, activities or spend."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The CSV, TSV or XLSX file.")
        parser.add_argument("--kind", choices=ImportKind.values, required=True)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="Map a column to a field (email, first_name, attr.NAME, skip...). Repeatable.",
        )
        parser.add_argument("--encoding", help="e.g. utf-8, utf-16, cp1252 (default: detect)")
        parser.add_argument("--delimiter", help="e.g. ';' or 'tab' (default: sniff)")
        parser.add_argument("--sheet", help="The XLSX sheet to read, by name (default: the first).")
        parser.add_argument("--on-duplicate", choices=DUPLICATE_POLICIES, default="skip")
        parser.add_argument("--vendor", help="The vendor the list was bought from.")
        cost = parser.add_mutually_exclusive_group()
        cost.add_argument("--cost-per-lead", type=_decimal, help="Price per new contact.")
        cost.add_argument("--total-cost", type=_decimal, help="Price of the whole list.")
        parser.add_argument("--currency", default="USD")
        parser.add_argument(
            "--channel", help="Channel of rows that name none (contacts: their first touch)."
        )
        parser.add_argument(
            "--campaign", help="Campaign of rows that name none (contacts: their first touch)."
        )
        parser.add_argument(
            "--allow-no-email",
            action="store_true",
            help="Import rows without an email if they have a name or an external id.",
        )
        parser.add_argument("--phone-region", help="Region of phones without a country code.")
        parser.add_argument(
            "--date-order",
            choices=["dmy", "mdy"],
            help="Read 03/04/2024 as day first (dmy) or month first (mdy); by default the "
            "file's dates tell (a 25/12 or a 12/25 somewhere), else day first.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, write nothing.")
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the import for `leadflow worker` and print the job id; follow it in "
            "the web UI (Imports). The file is copied into the data dir first.",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *, file: str, format: str, **options) -> None:
        settings = ImportOptions(
            kind=options["kind"],
            mapping=_mapping(options["map"]),
            encoding=options["encoding"],
            delimiter=options["delimiter"],
            sheet=options["sheet"],
            on_duplicate=options["on_duplicate"],
            vendor=options["vendor"],
            cost_per_lead=options["cost_per_lead"],
            total_cost=options["total_cost"],
            currency=options["currency"].upper(),
            channel=options["channel"],
            campaign=options["campaign"],
            allow_no_email=options["allow_no_email"],
            phone_region=(options["phone_region"] or "").strip().upper() or None,
            date_order=options["date_order"],
            dry_run=options["dry_run"],
        )
        if options["background"]:
            self._queue(Path(file), settings, format)
            return
        show_progress = format == "text" and sys.stderr.isatty()
        try:
            report = import_list(
                path=Path(file),
                options=settings,
                progress=self._progress_bar if show_progress else None,
            )
        except LeadflowError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if getattr(self, "_bar", None) is not None:
                self._bar.close()
        if format == "json":
            self.stdout.write(json.dumps(report.as_dict()))
            return
        self._print(report)

    def _queue(self, path: Path, settings: ImportOptions, format: str) -> None:
        from leadflow.acquisition import jobs

        if settings.dry_run:
            raise CommandError("--dry-run runs here and now; leave out --background.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            with path.open("rb") as handle:
                job = jobs.stage_upload(
                    handle,
                    actor=None,
                    kind=settings.kind,
                    name=path.name,
                    options=settings,
                    max_bytes=path.stat().st_size,  # the UI's upload limit is not for the CLI
                )
            try:
                job = jobs.start_import(job=job, options=settings, actor=None)
            except LeadflowError:
                jobs.discard_draft(job)  # refused options leave no job and no copy behind
                raise
        except LeadflowError as exc:
            raise CommandError(str(exc)) from exc
        if format == "json":
            self.stdout.write(json.dumps({"job_id": job.pk, "status": job.status}))
        else:
            self.stdout.write(f"Queued import #{job.pk} of {path.name}; `leadflow worker` runs it.")

    def _progress_bar(self, total: int):
        if total < PROGRESS_FROM_ROWS:
            return None
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="rows", file=sys.stderr, desc="Loading")
        return self._bar.update

    def _print(self, r) -> None:
        out = self.stdout.write
        source = (
            f"sheet {r.details['sheet']!r}"
            if r.details.get("sheet")
            else (f"{r.encoding}, {r.delimiter!r}")
        )
        out(f"{'Dry run of' if r.dry_run else 'Import'} {r.file} ({r.kind}; {source})")
        if r.job_id:
            out(f"  import job      #{r.job_id}")
        out(f"  rows read       {r.rows_read}")
        out(f"  created         {r.created}")
        out(f"  updated         {r.updated}")
        out(f"  merged          {r.merged}")
        out(f"  duplicates      {r.skipped_in_file} in the file, {r.skipped_in_database} in db")
        out(f"  rejected        {r.rejected}")
        for reason, count in r.rejected_by_reason.items():
            out(f"    {count:>7}  {reason}")
        for example in r.reject_examples:
            out(f"    e.g. line {example['line']}: {example['reason']}")
        if r.rejects_path:
            out(f"  rejects file    {r.rejects_path}")
        for warning, count in r.warnings.items():
            if count:
                out(f"  warning         {count} rows: {warning}")
        if r.channels_created:
            out(f"  new channels    {', '.join(r.channels_created)}")
        if r.campaigns_created:
            out(f"  new campaigns   {', '.join(r.campaigns_created)}")
        if r.companies_created:
            out(f"  new companies   {r.companies_created}")
        if r.vendors_created:
            out(f"  new vendors     {', '.join(r.vendors_created)}")
        for name, value in r.details.items():
            if name in ("sheet", "seconds_by_stage"):
                continue
            out(f"  {name.replace('_', ' '):<15} {value}")
        if r.cost_total is not None:
            per_lead = r.cost_per_new_lead or "n/a (no new contacts)"
            out(f"  list cost       {r.cost_total} {r.currency} ({r.vendor or 'no vendor'})")
            out(f"  per new lead    {per_lead}")
        out(f"  elapsed         {r.elapsed_seconds:.2f} s")
