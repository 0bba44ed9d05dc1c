"""`leadflow dedupe [--fields F,F,...] [--threshold P] [--review-threshold P] [--dry-run]
[--format json]`: propose the duplicate contacts in the whole database.

This slice only proposes: nothing is merged and no review queue is written, with or without
--dry-run; merging and the review queue come with the merge service.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from leadflow.acquisition.dedupe import find_duplicates, parse_fields
from leadflow.acquisition.dedupe.engine import DEFAULT_REVIEW_THRESHOLD, DEFAULT_THRESHOLD
from leadflow.acquisition.dedupe.fields import DEFAULT_FIELDS
from leadflow.acquisition.dedupe.frame import load_contacts
from leadflow.errors import LeadflowError

NOTE = "Proposals only: merging and the review queue come with the merge service."


class Command(BaseCommand):
    help = "Find probable duplicate contacts and print every proposed match."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fields",
            default=DEFAULT_FIELDS,
            help="Comma-separated fields to match on: email, phone, name, first_name, "
            "last_name, company, job_title, country, attr.NAME; NAME:kind overrides how one "
            f"is compared (email, phone, text, code, exact). Default: {DEFAULT_FIELDS}.",
        )
        parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
        parser.add_argument("--review-threshold", type=float, default=DEFAULT_REVIEW_THRESHOLD)
        parser.add_argument("--dry-run", action="store_true", help="Propose only (as always).")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *, format: str, **options) -> None:
        started = time.perf_counter()
        try:
            fields = parse_fields(options["fields"])
            frame = load_contacts(fields)
            loaded = time.perf_counter() - started
            result = find_duplicates(
                frame,
                fields,
                threshold=options["threshold"],
                review_threshold=options["review_threshold"],
            )
        except LeadflowError as error:
            raise CommandError(str(error)) from error
        seconds = round(time.perf_counter() - started, 3)
        comparisons = [c for c in result.pairs.columns if c not in PAIR_COLUMNS]
        pairs = [
            {
                "left": {"id": row["id_l"], "external_id": row["external_id_l"]},
                "right": {"id": row["id_r"], "external_id": row["external_id_r"]},
                "probability": round(row["probability"], 4),
                "action": row["action"],
                "levels": {c: row[c] for c in comparisons},
            }
            for row in result.pairs.iter_rows(named=True)
        ]
        if format == "json":
            document = {
                "pairs": pairs,
                "counts": result.counts(),
                "fields": [f.name for f in fields],
                "thresholds": {
                    "merge": options["threshold"],
                    "review": options["review_threshold"],
                },
                "dry_run": options["dry_run"],
                "merged": False,
                "note": NOTE,
                "stages": {"load": round(loaded, 3), **result.seconds},
                "seconds": seconds,
            }
            self.stdout.write(json.dumps(document))
            return
        self.stdout.write(
            f"{'probability':>11}  {'action':<6}  {'left (id, external id)':<32}  "
            "right (id, external id)"
        )
        for pair in pairs:
            left = f"{pair['left']['id']} {pair['left']['external_id'] or '-'}"
            right = f"{pair['right']['id']} {pair['right']['external_id'] or '-'}"
            self.stdout.write(
                f"{pair['probability']:>11.4f}  {pair['action']:<6}  {left:<32}  {right}"
            )
        counts = result.counts()
        self.stdout.write(
            f"{counts['contacts']} contacts, {counts['candidate_pairs']} candidate pairs, "
            f"{counts['merge']} to merge, {counts['review']} to review "
            f"(fields: {', '.join(f.name for f in fields)}; {seconds:.2f} s)."
        )
        self.stdout.write(NOTE)


PAIR_COLUMNS = {"id_l", "id_r", "external_id_l", "external_id_r", "probability", "action"}
