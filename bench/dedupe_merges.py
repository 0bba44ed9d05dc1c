"""`leadflow dedupe` end to end on a database: find, merge the sure pairs, queue the rest.

bench/dedupe_febrl.py times the matcher on frames; this one loads --contacts synthetic
contacts (the same generator: 10 % second copies with a typo, half without email, a quarter
with swapped names) with two timeline entries each into a database, runs the command without
--dry-run, and reports the time of each stage, merges per second, and the merges' precision and
recall against the known copies.

    .venv/bin/python bench/dedupe_merges.py                       # a fresh SQLite file
    .venv/bin/python bench/dedupe_merges.py --contacts 100000 --format json
    LEADFLOW_DATABASE_URL=postgres://.../empty_db .venv/bin/python bench/dedupe_merges.py

It refuses a database that already holds contacts: it writes and merges.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "LEADFLOW_DATABASE_URL" not in os.environ:
    os.environ["LEADFLOW_DATA_DIR"] = tempfile.mkdtemp(prefix="leadflow-bench-merges-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.dedupe_febrl import quality, synthetic_contacts  # noqa: E402
from leadflow.contacts.models import Activity, ActivityKind, Contact, ContactMerge  # noqa: E402

FIELDS = "email,phone,name,attr.postcode"
BATCH = 5_000


def load(n: int) -> dict[str, int]:
    """The synthetic contacts as rows; returns external id -> contact id."""
    frame = synthetic_contacts(n).with_columns(
        # A copy that kept its email would break the unique index: give it a typo instead.
        email=pl.when(pl.col("external_id").str.starts_with("dup-"))
        .then(pl.col("email").str.replace("@", "x@"))
        .otherwise(pl.col("email"))
    )
    now = timezone.now()
    rows = [
        Contact(
            email=r["email"],
            first_name=r["first_name"],
            last_name=r["last_name"],
            phone=r["phone"],
            external_id=r["external_id"],
            attributes={"postcode": r["attr.postcode"]},
            created_at=now,
        )
        for r in frame.iter_rows(named=True)
    ]
    Contact.objects.bulk_create(rows, batch_size=BATCH)
    ids = dict(Contact.objects.values_list("external_id", "id"))
    Activity.objects.bulk_create(
        (
            Activity(contact_id=pk, kind=ActivityKind.NOTE, occurred_at=now, data={"n": i})
            for pk in ids.values()
            for i in range(2)
        ),
        batch_size=BATCH,
    )
    return ids


def truth(ids: dict[str, int]) -> set[frozenset]:
    frame = synthetic_contacts(len(ids))
    copies = frame.filter(pl.col("external_id").str.starts_with("dup-"))
    originals = frame.filter(pl.col("external_id").str.starts_with("syn-"))
    joined = copies.join(originals, on="phone", suffix="_o")
    return {
        frozenset((ids[a], ids[b])) for a, b in joined.select("external_id", "external_id_o").rows()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if Contact.objects.exists():
        print("The database already holds contacts: use an empty one.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    ids = load(args.contacts)
    loaded = time.perf_counter() - started

    out = StringIO()
    started = time.perf_counter()
    call_command("dedupe", "--fields", FIELDS, "--format", "json", stdout=out)
    seconds = time.perf_counter() - started
    document = json.loads(out.getvalue())
    merged = {
        frozenset((m.survivor_id, m.duplicate_id))
        for m in ContactMerge.objects.only("survivor_id", "duplicate_id")
    }
    merges = document["counts"]["merged"]
    report = {
        "database": connection.vendor,
        "contacts": args.contacts,
        "load_seconds": round(loaded, 1),
        "dedupe_seconds": round(seconds, 1),
        "stages": document["stages"],
        "counts": document["counts"],
        "merges_per_second": round(merges / max(document["stages"].get("merge", 0), 1e-9), 1),
        "merge_quality": quality(merged, truth(ids)),
        "contacts_left": Contact.objects.count(),
    }
    if args.format == "json":
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
