"""Importing companies, spend, deals and activities, on PostgreSQL and on SQLite.

Fills a database with `--contacts` people (50,000) by `leadflow import --kind contacts` of a
generated list, each contact working at a company of the companies file, then generates
with a fixed seed and imports, in this order, each twice (a first run, then the same file
again: every row a duplicate, the default `--on-duplicate skip`):

- companies (30,000 rows): Company Name, Website, Industry, Employees, Country and two
  columns kept as custom attributes (City, Founded); the companies the contacts named are
  already in the database (found by name, counted as already there), the others are new;
- spend (10,000 rows) in the Google Ads layout: Day, Campaign, Cost, Currency code, Clicks,
  Impressions;
- deals (30,000 rows) of those contacts: Opportunity ID, Contact Email, Deal Name, Amount,
  Currency, Stage (open, Salesforce and plain won/lost spellings), Created Date, Won Date,
  Lost Date, Loss Reason, Region;
- activities (100,000 rows) of those contacts: Contact Email, Activity Type (nine
  spellings), Date, Source, Campaign, Subject, Page, Device.

Every import is the real `leadflow import FILE --kind K --format json` in a child process:
its wall time, rows per second and peak resident memory (os.wait4), and its JSON report,
checked against what the generator wrote (created, already in the database, rejected,
warnings, the deals' won/lost/open and contacts moved, the activities per kind, the spend
per currency to the cent, then the table counts). Any difference stops the run (exit 1).

    .venv/bin/python bench/import_kinds.py                          # full size, both databases
    .venv/bin/python bench/import_kinds.py --contacts 2000 --scale 0.05   # a smoke run
    .venv/bin/python bench/import_kinds.py --only sqlite --format json

PostgreSQL: the contacts are imported once into `<database>_seed_<contacts>_<seed>` (kept,
with `--rebuild` to build it again), and every run imports into a copy of it (CREATE
DATABASE ... TEMPLATE), dropped at the end unless `--keep`; `--drop` also drops the seed.
SQLite: the same, as files under `--workdir`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.import_list import (  # noqa: E402
    COMPANY_NOUNS,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    environment,
    leadflow,
    log,
    people,
    pg_admin,
    pg_exists,
    with_database,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadflow_import_kinds"
KINDS = ("companies", "spend", "deals", "activities")  # in the order they are imported
ROWS = {"companies": 30_000, "spend": 10_000, "deals": 30_000, "activities": 100_000}
NAMED_SHARE = 10  # one contact in ten names a company of its own: contacts // 10 companies

COUNTRIES = ["US", "United States", "DE", "Germany", "FR", "France", "GB", "United Kingdom",
             "NL", "ES", "Italy", "CA", "Australia", "IN", "BR"]  # fmt: skip
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Logistics",
              "Education", "Media", "Energy", "Consulting"]  # fmt: skip
CITIES = ["Berlin", "Paris", "London", "New York", "Austin", "Toronto", "Madrid", "Milan",
          "Amsterdam", "Sydney", "Mumbai", "São Paulo"]  # fmt: skip
# Stage as the file spells it -> what the deal becomes.
STAGES = [("open", "open"), ("Prospecting", "open"), ("Qualification", "open"),
          ("Proposal/Price Quote", "open"), ("Negotiation/Review", "open"),
          ("Closed Won", "won"), ("won", "won"),
          ("Closed Lost", "lost"), ("lost", "lost")]  # fmt: skip
LOST_REASONS = ["Price", "Went with a competitor", "No budget", "No decision", "Timing"]
REGIONS = ["EMEA", "NA", "APAC", "LATAM"]
CURRENCIES = ["USD", "EUR", "GBP"]
# Activity Type as the file spells it -> the kind it is recorded as.
ACTIVITY_KINDS = [("Email Opened", "email_opened"), ("Page Visited", "page_view"),
                  ("call", "call"), ("Form submission", "form_submitted"),
                  ("Meeting booked", "meeting"), ("Webinar attended", "event_attended"),
                  ("Download", "asset_downloaded"), ("Email Sent", "email_sent"),
                  ("Clicked link", "email_clicked")]  # fmt: skip
SOURCES = ["Email", "Organic Search", "Paid Search", "Social", ""]
DEVICES = ["desktop", "mobile", "tablet"]


class Mismatch(Exception):
    """An import's report or the database is not what the generated files make it."""


# --- the files ----------------------------------------------------------------------------


def _pick(rng: np.random.Generator, pool: list, n: int) -> np.ndarray:
    return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]


def company_names(n: int) -> pl.Series:
    """n distinct company names; the i-th is the same whatever n is (contacts name them)."""
    ids = np.arange(n)
    w = np.array(COMPANY_WORDS, dtype=object)[ids % len(COMPANY_WORDS)]
    noun = np.array(COMPANY_NOUNS, dtype=object)[(ids // len(COMPANY_WORDS)) % len(COMPANY_NOUNS)]
    suffix = np.array(COMPANY_SUFFIXES, dtype=object)[ids % len(COMPANY_SUFFIXES)]
    names = [f"{a} {b} {i + 1} {c}".strip() for a, b, i, c in zip(w, noun, ids, suffix)]  # noqa: B905
    return pl.Series("name", names, dtype=pl.String)


def contact_people(n: int) -> pl.DataFrame:
    """The seeded contacts: import_list's people, each at one of the first n // 10 companies."""
    frame = people(np.arange(n))
    named = max(1, n // NAMED_SHARE)
    names = company_names(named)
    return frame.with_columns(names[np.arange(n) % named].alias("company"))


def write_contacts(path: Path, n: int) -> dict:
    frame = contact_people(n)
    frame.select(
        pl.col("email").alias("Email"),
        pl.col("first").alias("First Name"),
        pl.col("last").alias("Last Name"),
        pl.col("company").alias("Company"),
        pl.col("title").alias("Job Title"),
        pl.lit("US").alias("Country"),
    ).write_csv(path)
    return {"rows": n, "companies": frame["company"].n_unique()}


def write_companies(path: Path, rows: int, contacts: int, rng: np.random.Generator) -> dict:
    names = company_names(rows)
    slug = names.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "")
    style = rng.integers(0, 3, rows)
    website = (
        pl.DataFrame({"slug": slug, "style": style})
        .select(
            pl.when(pl.col("style") == 0)
            .then(pl.concat_str(pl.lit("https://www."), "slug", pl.lit(".com/about")))
            .when(pl.col("style") == 1)
            .then(pl.concat_str(pl.lit("www."), "slug", pl.lit(".com")))
            .otherwise(pl.concat_str("slug", pl.lit(".com")))
        )
        .to_series()
    )
    size_pick = rng.integers(0, 3, rows)
    heads = rng.integers(1, 5000, rows)
    size = np.where(
        size_pick == 0,
        heads.astype(str),
        np.where(size_pick == 1, np.char.add(np.char.mod("%d", heads // 1000 * 1000 + 1000), "+"),
                 np.char.add(np.char.add(np.char.mod("%d", heads), "-"),
                             np.char.mod("%d", heads * 2))),
    )  # fmt: skip
    size = [f"{int(s[:-1]):,}+" if s.endswith("+") else s for s in size]
    pl.DataFrame(
        {
            "Company Name": names,
            "Website": website,
            "Industry": _pick(rng, INDUSTRIES, rows),
            "Employees": size,
            "Country": _pick(rng, COUNTRIES, rows),
            "City": _pick(rng, CITIES, rows),
            "Founded": rng.integers(1950, 2024, rows).astype(str),
        },
        schema_overrides={"Industry": pl.String, "Country": pl.String, "City": pl.String},
    ).write_csv(path)
    known = min(rows, max(1, contacts // NAMED_SHARE))  # made by the contacts import
    return {"rows": rows, "created": rows - known, "in_database": known}


def write_spend(path: Path, rows: int, rng: np.random.Generator) -> dict:
    days = 730
    campaigns = max(1, -(-rows // 500))
    cells = np.sort(rng.choice(days * campaigns, rows, replace=False))
    campaign_ix, day_ix = cells // days, cells % days
    names = np.array([f"GA - Search {c + 1:03d}" for c in range(campaigns)], dtype=object)
    currency = np.array(CURRENCIES, dtype=object)[np.arange(campaigns) % len(CURRENCIES)]
    cents = rng.integers(100, 500_000, rows)
    cost = [f"{c / 100:,.2f}" for c in cents.tolist()]  # Google Ads writes 1,234.56
    day = np.datetime64("2024-01-01") + day_ix.astype("timedelta64[D]")
    clicks = rng.integers(0, 2000, rows)
    pl.DataFrame(
        {
            "Day": day.astype(str),
            "Campaign": names[campaign_ix],
            "Cost": cost,
            "Currency code": currency[campaign_ix],
            "Clicks": clicks.astype(str),
            "Impressions": (clicks * rng.integers(5, 60, rows)).astype(str),
        },
        schema_overrides={"Campaign": pl.String, "Currency code": pl.String},
    ).write_csv(path)
    by_currency = (
        pl.DataFrame(
            {"currency": currency[campaign_ix], "cents": cents},
            schema_overrides={"currency": pl.String},
        )
        .group_by("currency")
        .agg(pl.col("cents").sum())
    )
    amounts = {c: str(Decimal(int(s)) / 100) for c, s in by_currency.iter_rows()}
    return {"rows": rows, "created": rows, "in_database": 0, "campaigns": campaigns,
            "amount_by_currency": dict(sorted(amounts.items()))}  # fmt: skip


DEAL_STRINGS = ("Currency", "Stage", "Won Date", "Lost Date", "Loss Reason", "Region")


def write_deals(path: Path, rows: int, contacts: int, rng: np.random.Generator) -> dict:
    emails = people(np.arange(contacts))["email"]
    who = rng.integers(0, contacts, rows)
    stage_ix = rng.integers(0, len(STAGES), rows)
    spelled = np.array([s for s, _ in STAGES], dtype=object)[stage_ix]
    outcome = np.array([o for _, o in STAGES], dtype=object)[stage_ix]
    created = np.datetime64("2024-01-01") + rng.integers(0, 540, rows).astype("timedelta64[D]")
    closed = created + rng.integers(1, 120, rows).astype("timedelta64[D]")
    won = np.where(outcome == "won", closed.astype(str), "")
    lost = np.where(outcome == "lost", closed.astype(str), "")
    reason = np.where(outcome == "lost", _pick(rng, LOST_REASONS, rows), "")
    amount = rng.integers(500, 250_000, rows)
    frame = pl.DataFrame(
        {
            "Opportunity ID": [f"OPP-{i + 1:07d}" for i in range(rows)],
            "Contact Email": emails[who],
            "Deal Name": [f"Deal {i + 1} - {a:,} seats" for i, a in enumerate(amount // 100)],
            "Amount": [f"{a:,}.00" if i % 2 else str(a) for i, a in enumerate(amount.tolist())],
            "Currency": _pick(rng, CURRENCIES, rows),
            "Stage": spelled,
            "Created Date": created.astype(str),
            "Won Date": won,
            "Lost Date": lost,
            "Loss Reason": reason,
            "Region": _pick(rng, REGIONS, rows),
        },
        schema_overrides=dict.fromkeys(DEAL_STRINGS, pl.String),
    )
    frame.write_csv(path)
    return {
        "rows": rows,
        "created": rows,
        "in_database": 0,
        "won": int((outcome == "won").sum()),
        "lost": int((outcome == "lost").sum()),
        "open": int((outcome == "open").sum()),
        # Every seeded contact is a lead: each with a deal becomes an opportunity (and goes
        # back to lead if all its deals were lost), each with a won deal a customer.
        "contacts made opportunities": len(np.unique(who)),
        "contacts made customers": len(np.unique(who[outcome == "won"])),
    }


def write_activities(path: Path, rows: int, contacts: int, rng: np.random.Generator) -> dict:
    emails = people(np.arange(contacts))["email"]
    who = rng.integers(0, contacts, rows)
    kind_ix = rng.integers(0, len(ACTIVITY_KINDS), rows)
    spelled = np.array([s for s, _ in ACTIVITY_KINDS], dtype=object)[kind_ix]
    kinds = np.array([k for _, k in ACTIVITY_KINDS], dtype=object)[kind_ix]
    # Every row at its own time (5 minutes apart, shuffled): no two rows are duplicates.
    at = np.datetime64("2024-01-01T00:00:00") + (rng.permutation(rows) * 300).astype(
        "timedelta64[s]"
    )
    style = rng.integers(0, 3, rows)
    iso = np.datetime_as_string(at, unit="s")
    date = np.where(
        style == 0,
        np.char.replace(iso.astype(str), "T", " "),
        np.where(style == 1, np.char.add(iso.astype(str), "Z"), iso.astype(str)),
    )
    is_email = np.isin(kinds, ["email_opened", "email_sent", "email_clicked"])
    source = np.where(is_email, "Email", _pick(rng, SOURCES, rows))
    nurture = [f"Nurture {q}" for q in ("Q1", "Q2", "Q3", "Q4")]
    campaign = np.where(rng.random(rows) < 0.4, _pick(rng, nurture, rows), "")
    subject = np.where(is_email, _pick(rng, ["Your trial", "Webinar invite", "Case study",
                                             "Pricing update"], rows), "")  # fmt: skip
    page = np.where(kinds == "page_view", _pick(rng, ["https://leadflow.example/pricing",
                                                      "https://leadflow.example/blog/crm",
                                                      "https://leadflow.example/demo"], rows),
                    "")  # fmt: skip
    strings = ("Activity Type", "Source", "Campaign", "Subject", "Page", "Device")
    pl.DataFrame(
        {
            "Contact Email": emails[who],
            "Activity Type": spelled,
            "Date": date,
            "Source": source,
            "Campaign": campaign,
            "Subject": subject,
            "Page": page,
            "Device": _pick(rng, DEVICES, rows),
        },
        schema_overrides=dict.fromkeys(strings, pl.String),
    ).write_csv(path)
    kinds_s = pl.Series(kinds, dtype=pl.String).value_counts()
    return {"rows": rows, "created": rows, "in_database": 0,
            "by_kind": dict(sorted((k, int(c)) for k, c in kinds_s.iter_rows()))}  # fmt: skip


def generate(workdir: Path, contacts: int, scale: float, seed: int) -> dict[str, dict]:
    """Writes the four files (if not there yet); returns what each holds."""
    files = workdir / f"files-{contacts}-{scale:g}-{seed}"
    truth_path = files / "truth.json"
    if truth_path.exists():
        return json.loads(truth_path.read_text())
    files.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i, kind in enumerate(KINDS):
        rows = max(1, round(ROWS[kind] * scale))
        rng = np.random.default_rng([seed, i])
        path = files / f"{kind}.csv"
        log(f"writing {path} ({rows:,} rows)")
        if kind == "companies":
            truth[kind] = write_companies(path, rows, contacts, rng)
        elif kind == "spend":
            truth[kind] = write_spend(path, rows, rng)
        elif kind == "deals":
            truth[kind] = write_deals(path, rows, contacts, rng)
        else:
            truth[kind] = write_activities(path, rows, contacts, rng)
        truth[kind]["path"] = str(path)
        truth[kind]["bytes"] = path.stat().st_size
    truth_path.write_text(json.dumps(truth, indent=1))
    return truth


# --- the databases ------------------------------------------------------------------------


@dataclass
class Run:
    kind: str
    database: str
    rows: int
    seconds: float
    peak_rss_mb: float
    report: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_import(kind: str, database: str, url: str, path: Path, rows: int, data_dir: Path) -> Run:
    """`leadflow import FILE --kind KIND` in a child process: wall time, peak RSS, report."""
    env = {**os.environ, "LEADFLOW_DATABASE_URL": url, "LEADFLOW_DATA_DIR": str(data_dir)}
    env.setdefault("LEADFLOW_SECRET_KEY", "benchmark-only")
    command = [str(REPO / ".venv" / "bin" / "leadflow"), "import", str(path), "--kind", kind,
               "--format", "json"]  # fmt: skip
    with tempfile.TemporaryFile(mode="w+") as errors:
        started = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603 (our own console script)
            command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        out = child.stdout.read()
        # wait4 gives this child's own peak resident memory (ru_maxrss, in KB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            errors.seek(0)
            failed = f"leadflow import --kind {kind} failed on {database}"
            raise SystemExit(f"{failed}:\n{errors.read()}")
    return Run(kind, database, rows, seconds, usage.ru_maxrss / 1024, json.loads(out))


def prepare_postgres(url: str, contacts: int, seed: int, workdir: Path, rebuild: bool) -> str:
    """The seed database (contacts imported once), and a fresh copy of it to import into."""
    base = urlparse(url).path.lstrip("/")
    if not base.startswith("leadflow_import_kinds"):
        raise SystemExit(f"the database must be named leadflow_import_kinds...: {base}")
    seed_name = f"{base}_seed_{contacts}_{seed}"
    seed_url = with_database(url, seed_name)
    data_dir = workdir / "data"
    if rebuild or not pg_exists(url, seed_name):
        pg_admin(url, f'DROP DATABASE IF EXISTS "{seed_name}"', f'CREATE DATABASE "{seed_name}"')
        seed_contacts(seed_url, contacts, workdir, data_dir)
        import psycopg

        with psycopg.connect(seed_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:  # a seed kept from an earlier run gets the migrations made since
        leadflow(["migrate", "-v0"], seed_url, data_dir)
    log(f"copying {seed_name} to {base}")
    pg_admin(
        url,
        f'DROP DATABASE IF EXISTS "{base}" WITH (FORCE)',
        f'CREATE DATABASE "{base}" TEMPLATE "{seed_name}"',
    )
    return url


def prepare_sqlite(workdir: Path, contacts: int, seed: int, rebuild: bool) -> str:
    path = workdir / f"seed-{contacts}-{seed}.sqlite3"
    data_dir = workdir / "data"
    if rebuild or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        seed_contacts(f"sqlite:///{path}", contacts, workdir, data_dir)
    else:
        leadflow(["migrate", "-v0"], f"sqlite:///{path}", data_dir)
    # WAL mode: the backup API copies what the -wal file holds too.
    target = workdir / "import.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return f"sqlite:///{target}"


def seed_contacts(url: str, contacts: int, workdir: Path, data_dir: Path) -> None:
    """Migrates, then `leadflow import --kind contacts` of the generated people."""
    log(f"migrating {url}")
    leadflow(["migrate", "-v0"], url, data_dir)
    path = workdir / f"contacts-{contacts}.csv"
    truth = write_contacts(path, contacts)
    log(f"importing {contacts:,} contacts into {url}")
    done = run_import("contacts", url, url, path, contacts, data_dir)
    rep = done.report
    expect(f"contacts seed on {url}", rep, created=contacts, rejected=0, skipped_in_file=0,
           skipped_in_database=0, companies_created=truth["companies"])  # fmt: skip
    log(f"seeded {contacts:,} contacts at {truth['companies']:,} companies "
        f"in {done.seconds:.1f} s")  # fmt: skip


def table_counts(url: str) -> dict[str, int]:
    queries = {
        "companies": "SELECT count(*) FROM contacts_company",
        "spend": "SELECT count(*) FROM contacts_spend",
        "deals": "SELECT count(*) FROM sales_deal",
        "activities": "SELECT count(*) FROM contacts_activity WHERE kind IN ("
        + ", ".join(f"'{k}'" for _, k in ACTIVITY_KINDS)
        + ")",
        "contacts": "SELECT count(*) FROM contacts_contact",
    }
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return {k: conn.execute(q).fetchone()[0] for k, q in queries.items()}
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as conn:
        return {k: conn.execute(q).fetchone()[0] for k, q in queries.items()}


# --- the checks ---------------------------------------------------------------------------


def _size(value) -> int:
    """A count, a list's length, or a dict's entries that are not zero (a report lists
    every warning of the kind, most at 0)."""
    if isinstance(value, dict):
        return sum(1 for v in value.values() if v)
    return len(value) if isinstance(value, list) else int(value or 0)


def expect(what: str, report: dict, **wanted) -> None:
    wrong = {k: (_size(report.get(k)), v) for k, v in wanted.items() if _size(report.get(k)) != v}
    if wrong:
        lines = "\n".join(f"  {k}: report says {got:,}, expected {want:,}"
                          for k, (got, want) in wrong.items())  # fmt: skip
        examples = report.get("reject_examples") or report.get("rejected_by_reason")
        raise Mismatch(f"{what}:\n{lines}\n  rejects: {examples}\n  warnings: "
                       f"{report.get('warnings')}")  # fmt: skip


def check(run: Run, truth: dict, first: bool) -> None:
    rep, what = run.report, f"{run.kind} on {run.database}, {'first run' if first else 're-run'}"
    rows = truth["rows"]
    expect(
        what,
        rep,
        rows_read=rows,
        created=truth["created"] if first else 0,
        skipped_in_database=truth["in_database"] if first else rows,
        skipped_in_file=0,
        updated=0,
        merged=0,
        rejected=0,
        warnings=0,
    )
    details = rep.get("details", {})
    if run.kind == "spend":
        expect(what, rep, campaigns_created=truth["campaigns"] if first else 0)
        got = {c: Decimal(a) for c, a in details.get("amount_by_currency", {}).items()}
        want = {c: Decimal(a) for c, a in truth["amount_by_currency"].items()} if first else {}
        if {c: a for c, a in got.items() if a} != want:
            raise Mismatch(f"{what}: amount_by_currency {got}, expected {want}")
    if run.kind == "deals":
        keys = ("won", "lost", "open", "contacts made opportunities", "contacts made customers")
        want = {k: truth[k] if first else 0 for k in keys}
        got = {k: details.get(k) for k in keys}
        if got != want:
            raise Mismatch(f"{what}: details {got}, expected {want}")
    if run.kind == "activities":
        got = {k: v for k, v in details.get("by_kind", {}).items() if v}
        want = truth["by_kind"] if first else {}
        if got != want:
            raise Mismatch(f"{what}: by_kind {got}, expected {want}")


# --- the runs -----------------------------------------------------------------------------


@dataclass
class Pair:
    kind: str
    database: str
    first: Run
    again: Run
    counts: dict = field(default_factory=dict)


def bench_database(database: str, url: str, truth: dict, contacts: int, data_dir: Path):
    pairs = []
    for kind in KINDS:
        path, rows = Path(truth[kind]["path"]), truth[kind]["rows"]
        log(f"{database}: importing {rows:,} {kind}")
        first = run_import(kind, database, url, path, rows, data_dir)
        check(first, truth[kind], first=True)
        log(f"{database}: {kind} again (all duplicates)")
        again = run_import(kind, database, url, path, rows, data_dir)
        check(again, truth[kind], first=False)
        pairs.append(Pair(kind, database, first, again))
    counts = table_counts(url)
    companies = truth["companies"]["created"] + truth["companies"]["in_database"]
    want = {"companies": max(companies, contacts // NAMED_SHARE),
            "spend": truth["spend"]["rows"], "deals": truth["deals"]["rows"],
            "activities": truth["activities"]["rows"], "contacts": contacts}  # fmt: skip
    if counts != want:
        raise Mismatch(f"{database}: tables hold {counts}, expected {want}")
    for pair in pairs:
        pair.counts = counts
    return pairs


def print_table(env: dict, contacts: int, pairs: list[Pair]) -> None:
    print(
        f"Imports of the other kinds into {contacts:,} contacts, each file twice (the re-run: "
        f"all duplicates, --on-duplicate skip); {env['cpus']} CPUs, load average "
        f"{env['load_average_at_start']} at the start, {env['load_average']} at the end, "
        f"{env['date']}, commit {env['commit']}\n"
    )
    head = (f"{'kind':<11} {'rows':>8} {'database':<10} {'first s':>12} {'rows/s':>7} "
            f"{'re-run s':>11} {'rows/s':>7} {'peak RSS':>8} {'created':>8} {'in db':>7} "
            f"{'rejected':>8}  contacts moved")  # fmt: skip
    print(head)

    def seconds(run: Run) -> str:  # wall (the report's elapsed_seconds: without start-up)
        return f"{run.seconds:.1f} ({run.report.get('elapsed_seconds') or 0:.1f})"

    for p in pairs:
        rep = p.first.report
        moved = ""
        if p.kind == "deals":
            d = rep["details"]
            moved = (f"{d['contacts made opportunities']:,} opportunities, "
                     f"{d['contacts made customers']:,} customers")  # fmt: skip
        rss = max(p.first.peak_rss_mb, p.again.peak_rss_mb)
        print(
            f"{p.kind:<11} {p.first.rows:>8,} {p.database:<10} {seconds(p.first):>12} "
            f"{p.first.rows_per_second:>7,.0f} {seconds(p.again):>11} "
            f"{p.again.rows_per_second:>7,.0f} {f'{rss:,.0f} MB':>8} {rep['created']:>8,} "
            f"{rep['skipped_in_database']:>7,} {rep['rejected']:>8,}  {moved}"
        )
    print("\nSeconds: wall time of the child process (in brackets, the report's "
          "elapsed_seconds: the import without Django's start-up); rows/s by wall "
          "time.")  # fmt: skip
    print("'in db': rows found already in the database on the first run (companies the "
          "contacts named); a re-run finds every row there. Updated, merged, in-file "
          "duplicates and warnings: 0 everywhere.")  # fmt: skip
    print("Every report matched the files (re-runs: 0 created, every row already in the "
          "database, 0 rejected) and the tables hold what the files make them.")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000, help="contacts in the db")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every file's rows")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL server and the name of the database to import into",
    )
    parser.add_argument("--only", choices=["postgres", "sqlite"], help="one database only")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench-kinds")
    parser.add_argument("--rebuild", action="store_true", help="seed the databases again")
    parser.add_argument("--keep", action="store_true", help="keep the imported-into copies")
    parser.add_argument("--drop", action="store_true", help="drop the seeds too at the end")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = args.workdir / "data"
    started_load = [round(n, 2) for n in os.getloadavg()]
    truth = generate(args.workdir, args.contacts, args.scale, args.seed)
    pairs: list[Pair] = []
    base = urlparse(args.database_url).path.lstrip("/")
    try:
        if args.only in (None, "postgres"):
            url = prepare_postgres(args.database_url, args.contacts, args.seed, args.workdir,
                                   args.rebuild)  # fmt: skip
            pairs += bench_database("PostgreSQL", url, truth, args.contacts, data_dir)
        if args.only in (None, "sqlite"):
            url = prepare_sqlite(args.workdir, args.contacts, args.seed, args.rebuild)
            pairs += bench_database("SQLite", url, truth, args.contacts, data_dir)
    except Mismatch as error:
        log(f"FAILED: {error}")
        return 1
    finally:
        if not args.keep and args.only in (None, "postgres"):
            pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{base}" WITH (FORCE)')
        if args.drop and args.only in (None, "postgres"):
            seed_name = f"{base}_seed_{args.contacts}_{args.seed}"
            pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{seed_name}" WITH (FORCE)')
    env = {**environment(), "load_average_at_start": started_load}
    if args.format == "json":
        payload = {**env, "contacts": args.contacts, "scale": args.scale, "files": truth,
                   "imports": [asdict(p) for p in pairs]}  # fmt: skip
        json.dump(payload, sys.stdout, indent=2, default=str)
        print()
    else:
        print_table(env, args.contacts, pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
