"""`leadflow dedupe [--fields F,F,...] [--threshold P] [--review-threshold P] [--dry-run]
[--format json]`: find the duplicate contacts in the whole database and act on them.

Pairs at or above --threshold are merged (groups into one survivor, see
`acquisition/dedupe/queue.py`); pairs between the thresholds go to the review queue
(/duplicates/). A pair a person dismissed is not proposed again. --dry-run writes nothing and
says what a run would do.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from leadflow.acquisition.dedupe import find_duplicates, parse_fields
from leadflow.acquisition.dedupe.engine import DEFAULT_REVIEW_THRESHOLD, DEFAULT_THRESHOLD
from leadflow.acquisition.dedupe.fields import DEFAULT_FIELDS
from leadflow.acquisition.dedupe.frame import load_contacts
from leadflow.acquisition.dedupe.queue import (
    DISMISSED_BEFORE,
    PAIR_COLUMNS,
    QUEUED,
    SKIPPED,
    WOULD,
    plan_proposals,
    proposals_from,
    record_proposals,
)
from leadflow.errors import LeadflowError

DRY_RUN_NOTE = "Dry run: nothing was merged or queued."
NOTE = "Merged pairs can be undone, and queued pairs decided, at /duplicates/."


class Command(BaseCommand):
    help = "Find duplicate contacts: merge the sure pairs, queue the uncertain ones for review."

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
        parser.add_argument(
            "--dry-run", action="store_true", help="Write nothing; print what a run would do."
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *, format: str, **options) -> None:
        started = time.perf_counter()
        dry_run = options["dry_run"]
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
            acted = time.perf_counter()
            names = [f.name for f in fields]
            if dry_run:
                plan = plan_proposals(proposals_from(result))
            else:
                with _ProgressBar(self.stderr) as bar:
                    plan = record_proposals(result, fields=names, progress=bar.update)
        except LeadflowError as error:
            raise CommandError(str(error)) from error
        stages = {"load": round(loaded, 3), **result.seconds}
        stages["merge" if not dry_run else "plan"] = round(time.perf_counter() - acted, 3)
        seconds = round(time.perf_counter() - started, 3)
        outcomes = {(p.a, p.b): p for p in plan.proposals}
        pairs = []
        comparisons = [c for c in result.pairs.columns if c not in PAIR_COLUMNS]
        for row in result.pairs.iter_rows(named=True):
            proposal = outcomes[tuple(sorted((row["id_l"], row["id_r"])))]
            outcome = proposal.outcome
            if dry_run:
                outcome = WOULD.get(outcome, outcome)
            pairs.append(
                {
                    "left": {"id": row["id_l"], "external_id": row["external_id_l"]},
                    "right": {"id": row["id_r"], "external_id": row["external_id_r"]},
                    "probability": round(row["probability"], 4),
                    "action": row["action"],
                    "levels": {c: row[c] for c in comparisons},
                    "outcome": outcome,
                    "survivor_id": proposal.survivor,
                    "merge_id": proposal.merge_id,
                    "candidate_id": proposal.candidate_id,
                }
            )
        counts = result.counts()
        done = plan.counts()
        counts["merged"] = 0 if dry_run else len({p.merge_id for p in plan.proposals if p.merge_id})
        counts["queued"] = 0 if dry_run else done[QUEUED]
        counts["dismissed_before"] = done[DISMISSED_BEFORE]
        counts["skipped"] = done[SKIPPED]
        if dry_run:
            counts["would_merge"] = sum(len(xs) for xs in plan.groups.values())
            counts["would_queue"] = done[QUEUED]
        if format == "json":
            document = {
                "pairs": pairs,
                "counts": counts,
                "fields": names,
                "thresholds": {
                    "merge": options["threshold"],
                    "review": options["review_threshold"],
                },
                "dry_run": dry_run,
                "merged": not dry_run,
                "note": DRY_RUN_NOTE if dry_run else NOTE,
                "stages": stages,
                "seconds": seconds,
            }
            self.stdout.write(json.dumps(document))
            return
        self.stdout.write(
            f"{'probability':>11}  {'outcome':<16}  {'left (id, external id)':<32}  "
            "right (id, external id)"
        )
        for pair in pairs:
            left = f"{pair['left']['id']} {pair['left']['external_id'] or '-'}"
            right = f"{pair['right']['id']} {pair['right']['external_id'] or '-'}"
            self.stdout.write(
                f"{pair['probability']:>11.4f}  {pair['outcome']:<16}  {left:<32}  {right}"
            )
        if dry_run:
            summary = (
                f"would merge {counts['would_merge']} contacts away, "
                f"would queue {counts['would_queue']} pairs"
            )
        else:
            summary = f"merged {counts['merged']} contacts away, queued {counts['queued']} pairs"
        self.stdout.write(
            f"{counts['contacts']} contacts, {counts['candidate_pairs']} candidate pairs, "
            f"{counts['merge']} sure and {counts['review']} uncertain; {summary}; "
            f"{counts['dismissed_before']} dismissed before "
            f"(fields: {', '.join(names)}; {seconds:.2f} s)."
        )
        self.stdout.write(DRY_RUN_NOTE if dry_run else NOTE)


class _ProgressBar:
    """Merging many pairs takes a while: a bar on stderr when it is a terminal."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.bar = None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            isatty = getattr(self.stream, "isatty", lambda: False)()
            self.bar = tqdm(total=total, unit="merge", file=self.stream, disable=not isatty)
        self.bar.update(done)

    def __enter__(self) -> "_ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
