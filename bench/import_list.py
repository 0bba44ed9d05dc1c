"""Importing a messy list of a million contacts (issue 5), on PostgreSQL and on SQLite.

Generates a list the way vendors sell them: mixed-format names, emails, phones, companies
and countries; 10 % of its rows are people already in a database of a million contacts,
3 % are second copies of earlier rows with spelling variants (case, whitespace, typos in
the names, the same email), 1 % cannot be used (bad or missing email, ragged rows). Then it
runs `leadflow import` (the real command, in a child process) on PostgreSQL and on SQLite,
each on a fresh copy of the seeded database, and, in the same run, a raw `COPY` of the same
file into an unindexed PostgreSQL table: the physical limit the import is compared with.

    .venv/bin/python bench/import_list.py                   # 1M rows, PostgreSQL and SQLite
    .venv/bin/python bench/import_list.py --rows 100000     # a quick run
    .venv/bin/python bench/import_list.py --only postgres --format json

The seeded databases (`leadflow_import_seed` on PostgreSQL, a file under --workdir for
SQLite) are built once and kept; every run imports into a copy (CREATE DATABASE ...
TEMPLATE on PostgreSQL, a file copy on SQLite). `--rebuild` builds them again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadflow_import"
GOAL_SECONDS = 60.0  # a million rows on PostgreSQL, on the 2-core machine
GOAL_COPY_RATIO = 0.25  # at least a quarter of raw COPY's rows per second

SHARE_EXISTING = 0.10
SHARE_DUPLICATES = 0.03
SHARE_INVALID = 0.01


def words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = words("""
James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William
Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna
Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
Ingrid Lars Sven Anouk Pieter Joaquim Inès Matteo Giulia Hiroshi Yuki Amara Kofi Zainab Xiomara
Élodie Jürgen Søren Zoë José François Małgorzata Łukasz Björn Siobhán""")
LAST_NAMES = words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Müller
Schmidt Schneider Fischer Weber Dubois Lefèvre Rossi Bianchi Kowalski Nowak Nakamura Okafor
Lindqvist Van-der-Berg O'Brien McDonald García Sørensen Haddad Ivanova""")
COMPANY_WORDS = words("""Acme Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent
Hooli Vandelay Prestige Oscorp Aperture Gringotts Monarch Nakatomi Pied Massive Dynamic Blue
Northwind Contoso Fabrikam Litware Adventure Tailspin Proseware Wingtip""")
COMPANY_NOUNS = words("""Logistics Analytics Foods Robotics Media Health Energy Capital Labs Systems
Partners Studio Ventures Networks Solutions Holdings Industries Consulting Software""")
COMPANY_SUFFIXES = ["Inc", "LLC", "Ltd", "GmbH", "SA", "BV", "AB", "Co", "PLC", ""]
JOB_TITLES = words("""CEO CTO CFO VP-Sales Head-of-Marketing Marketing-Manager Sales-Manager
Account-Executive Engineer Software-Engineer Product-Manager Founder Director Analyst
Operations-Manager Consultant""")
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "web.de",
           "orange.fr", "example.com", "acme.io", "globex.co.uk"]  # fmt: skip
# (country as the list spells it, country code, phone formats) — the list mixes names,
# codes and casings, as real ones do.
COUNTRIES = [
    (["US", "USA", "United States", "united states", "us"], "US"),
    (["GB", "UK", "United Kingdom", "England"], "GB"),
    (["DE", "Germany", "germany", "Deutschland", "DEU"], "DE"),
    (["FR", "France", "fra"], "FR"),
    (["NL", "Netherlands", "Holland"], "NL"),
    (["ES", "Spain", "España"], "ES"),
    (["IT", "Italy"], "IT"),
    (["CA", "Canada"], "CA"),
    (["AU", "Australia"], "AU"),
    (["IN", "India"], "IN"),
    (["BR", "Brazil"], "BR"),
    (["", "Narnia"], ""),
]
SOURCES = ["Trade show 2026", "Webinar", "Partner list", "Cold outreach", "Referral", ""]
RAGGED = "RAGGED-ROW-MARKER"
HEADER = [
    "E-mail", "First Name", "Last Name", "Phone No.", "Company", "Job Title", "Country",
    "Created", "Lead Source", "Notes",
]  # fmt: skip


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- the list -----------------------------------------------------------------------------


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> pl.Series:
    return pl.Series(np.array(pool, dtype=object)[rng.integers(0, len(pool), n)], dtype=pl.String)


def _by_id(ids: np.ndarray, pool: list[str], salt: int) -> pl.Series:
    """A pool entry chosen by id alone, so a person looks the same in the list and the db."""
    picks = (ids * 2654435761 + salt * 40503) % 4294967291 % len(pool)
    return pl.Series(np.array(pool, dtype=object)[picks], dtype=pl.String)


def people(ids: np.ndarray) -> pl.DataFrame:
    """Clean people for the given ids: the same id always gives the same person."""
    ids = ids.astype(np.int64)
    frame = pl.DataFrame(
        {
            "id": ids,
            "first": _by_id(ids, FIRST_NAMES, 1),
            "last": _by_id(ids, LAST_NAMES, 2),
            "domain": _by_id(ids, DOMAINS, 3),
            "c1": _by_id(ids, COMPANY_WORDS, 4),
            "c2": _by_id(ids, COMPANY_NOUNS, 5),
            "c3": _by_id(ids, COMPANY_SUFFIXES, 6),
            "title": _by_id(ids, JOB_TITLES, 7).str.replace_all("-", " "),
        }
    )
    company = pl.concat_str("c1", "c2", "c3", separator=" ").str.strip_chars()
    frame = frame.with_columns(company.alias("company")).drop("c1", "c2", "c3")
    # Emails are unique by id; the letters come from the name so they look like real ones.
    local = pl.concat_str(
        pl.col("first").str.to_lowercase().str.replace_all(r"[^a-z]", ""),
        pl.lit("."),
        pl.col("last").str.to_lowercase().str.replace_all(r"[^a-z]", ""),
        pl.col("id").cast(pl.String),
    )
    return frame.with_columns(pl.concat_str(local, pl.lit("@"), pl.col("domain")).alias("email"))


# Real North American area codes, and per country the digits after the prefix below, so
# that the numbers fit their numbering plans as a real list's do (an exchange never starts
# with 0 or 1; a Brazilian mobile is 9 and eight digits).
US_AREA_CODES = (
    201,
    202,
    212,
    213,
    214,
    303,
    305,
    312,
    313,
    404,
    408,
    415,
    416,
    503,
    512,
    602,
    617,
    646,
    650,
    702,
    713,
    718,
    720,
    773,
    786,
    801,
    818,
    917,
    919,
    972,
)
SUBSCRIBER_DIGITS = {"GB": 8, "DE": 8, "FR": 8, "NL": 7, "ES": 7, "IT": 8, "AU": 8, "IN": 8,
                     "BR": 8, "CA": 7}  # fmt: skip


def _phones(rng: np.random.Generator, codes: pl.Series) -> pl.Series:
    """Phones in the formats lists carry: E.164, spaced, dashed, national, 00-prefixed."""
    n = len(codes)
    seven = rng.integers(2_000_000, 9_999_999, n)
    eight = rng.integers(20_000_000, 99_999_999, n)
    area = rng.choice(np.array(US_AREA_CODES), n)
    style = rng.integers(0, 8, n)
    frame = pl.DataFrame(
        {"cc": codes, "seven": seven, "eight": eight, "area": area, "style": style}
    )
    s = pl.col("seven").cast(pl.String)
    a = pl.col("area").cast(pl.String)
    us = (
        pl.when(pl.col("style") == 0)
        .then(pl.concat_str(pl.lit("+1"), a, s))
        .when(pl.col("style") == 1)
        .then(
            pl.concat_str(
                pl.lit("("), a, pl.lit(") "), s.str.slice(0, 3), pl.lit("-"), s.str.slice(3)
            )
        )  # fmt: skip
        .when(pl.col("style") == 2)
        .then(pl.concat_str(a, pl.lit("."), s.str.slice(0, 3), pl.lit("."), s.str.slice(3)))
        .when(pl.col("style") == 3)
        .then(
            pl.concat_str(
                pl.lit("+1 "), a, pl.lit("-"), s.str.slice(0, 3), pl.lit("-"), s.str.slice(3)
            )
        )  # fmt: skip
        .when(pl.col("style") == 4)
        .then(pl.concat_str(a, s))
        .when(pl.col("style") == 5)
        .then(pl.concat_str(pl.lit("1-"), a, pl.lit("-"), s))
        .when(pl.col("style") == 6)
        .then(pl.lit(""))
        .otherwise(pl.lit("555-0199 ext. 12"))  # not a number libphonenumber can place
    )
    prefixes = {"GB": "44 20", "DE": "49 30", "FR": "33 1", "NL": "31 20", "ES": "34 91",
                "IT": "39 06", "AU": "61 2", "IN": "91 22", "BR": "55 11 9",
                "CA": "1 416"}  # fmt: skip
    abroad = pl.col("cc").replace_strict(prefixes, default=None)
    digits = pl.col("cc").replace_strict(SUBSCRIBER_DIGITS, default=7, return_dtype=pl.Int64)
    s = pl.when(digits == 8).then(pl.col("eight").cast(pl.String)).otherwise(s)
    world = (
        pl.when(pl.col("style") <= 2)
        .then(
            pl.concat_str(
                pl.lit("+"), abroad, pl.lit(" "), s.str.slice(0, 4), pl.lit(" "), s.str.slice(4)
            )
        )  # fmt: skip
        .when(pl.col("style") <= 4)
        .then(pl.concat_str(pl.lit("+"), abroad.str.replace(" ", ""), s))
        .when(pl.col("style") == 5)
        .then(pl.concat_str(pl.lit("00"), abroad, pl.lit(" "), s))
        .otherwise(pl.lit(""))
    )
    return frame.select(
        pl.when(pl.col("cc").is_in(["US", ""])).then(us).otherwise(world).alias("phone")
    )["phone"].fill_null("")


def _typo(column: str, rng_values: pl.Expr) -> pl.Expr:
    """A spelling variant: upper case, lower case, padded, or one letter doubled/dropped."""
    value = pl.col(column)
    return (
        pl.when(rng_values == 0)
        .then(value.str.to_uppercase())
        .when(rng_values == 1)
        .then(value.str.to_lowercase())
        .when(rng_values == 2)
        .then(pl.concat_str(pl.lit("  "), value, pl.lit(" ")))
        .when(rng_values == 3)
        .then(pl.concat_str(value.str.slice(0, 2), value.str.slice(1)))
        .otherwise(pl.concat_str(value.str.slice(0, 1), value.str.slice(2)))
    )


def generate_list(path: Path, *, rows: int, existing: int, seed: int) -> dict:
    """Writes the list; returns what it holds (the truth the import's report is checked by)."""
    rng = np.random.default_rng(seed)
    n_dupes = int(rows * SHARE_DUPLICATES)
    n_invalid = int(rows * SHARE_INVALID)
    n_base = rows - n_dupes
    n_known = min(int(rows * SHARE_EXISTING), existing)
    # Known people are drawn from the database's ids; the rest get ids past them.
    known_ids = rng.choice(existing, n_known, replace=False) if n_known else np.array([], int)
    new_ids = np.arange(existing, existing + n_base - n_known)
    ids = np.concatenate([known_ids, new_ids])
    rng.shuffle(ids)
    base = people(ids)
    # Database people must look the same whichever run made them: their fields come from
    # their id alone (see seed_people), so a list row of a known person matches by email.
    known = pl.Series(ids < existing)
    base = base.with_columns(known.alias("known"))
    country_pick = rng.integers(0, len(COUNTRIES), n_base)
    codes = np.array([code for _, code in COUNTRIES], dtype=object)
    spelled = np.empty(n_base, dtype=object)
    for c, (names, _) in enumerate(COUNTRIES):  # a few spellings per country, mixed per row
        mask = country_pick == c
        spelled[mask] = np.array(names, dtype=object)[rng.integers(0, len(names), mask.sum())]
    base = base.with_columns(
        pl.Series("country", spelled, dtype=pl.String),
        pl.Series("cc", codes[country_pick], dtype=pl.String),
    )
    base = base.with_columns(_phones(rng, base["cc"]).alias("phone"))
    days = rng.integers(0, 3 * 365, n_base)
    style = rng.integers(0, 3, n_base)
    created = pl.Series(np.datetime64("2023-01-01") + days.astype("timedelta64[D]"))
    base = base.with_columns(
        pl.when(pl.Series(style) == 0)
        .then(created.dt.strftime("%Y-%m-%d"))
        .when(pl.Series(style) == 1)
        .then(created.dt.strftime("%d/%m/%Y"))
        .otherwise(pl.lit(""))
        .alias("created"),
        _pick(rng, SOURCES, n_base).alias("source"),
        pl.when(pl.Series(rng.random(n_base) < 0.02))
        .then(pl.lit('Met at the booth, said: "call me"\nafter Q3, budget ok'))
        .otherwise(pl.lit(""))
        .alias("notes"),
        # Vendors type names in any case.
        pl.when(pl.Series(rng.random(n_base) < 0.1))
        .then(pl.col("first").str.to_uppercase())
        .otherwise(pl.col("first"))
        .alias("first"),
    )
    # Second copies of earlier rows: same email (in another case, maybe padded), name typos.
    picks = np.sort(rng.choice(n_base, n_dupes, replace=False))
    dupes = base[picks].with_columns(
        _typo("first", pl.Series(rng.integers(0, 5, n_dupes))).alias("first"),
        _typo("last", pl.Series(rng.integers(0, 5, n_dupes))).alias("last"),
        pl.when(pl.Series(rng.random(n_dupes) < 0.5))
        .then(pl.col("email").str.to_uppercase())
        .otherwise(pl.concat_str(pl.lit(" "), pl.col("email"), pl.lit(" ")))
        .alias("email"),
    )
    # Each copy goes somewhere after its original.
    frame = pl.concat([base.with_row_index("_order"), dupes.with_row_index("_order")])
    order = np.concatenate(
        [np.arange(n_base), picks + rng.integers(1, max(2, n_base // 10), n_dupes)]
    ).astype(float)
    order[n_base:] += 0.5
    frame = frame.with_columns(pl.Series("_order", order)).sort("_order")
    # Unusable rows: a broken email, no email, or a stray delimiter making the row ragged.
    bad = np.zeros(rows, dtype=bool)
    bad[rng.choice(np.arange(rows), n_invalid, replace=False)] = True
    kind = rng.integers(0, 4, rows)
    frame = frame.with_columns(pl.Series("_bad", bad), pl.Series("_kind", kind))
    broken = pl.col("_bad")
    frame = frame.with_columns(
        pl.when(broken & (pl.col("_kind") == 0))
        .then(pl.col("email").str.replace("@", " at "))
        .when(broken & (pl.col("_kind") == 1))
        .then(pl.lit(""))
        .when(broken & (pl.col("_kind") == 2))
        .then(pl.col("email").str.replace(r"\.[a-z.]+$", ""))
        .otherwise(pl.col("email"))
        .alias("email"),
        pl.when(broken & (pl.col("_kind") == 3))
        .then(pl.lit(RAGGED))
        .otherwise(pl.col("notes"))
        .alias("notes"),
    )
    out = frame.select(
        pl.col("email").alias("E-mail"),
        pl.col("first").alias("First Name"),
        pl.col("last").alias("Last Name"),
        pl.col("phone").alias("Phone No."),
        pl.col("company").alias("Company"),
        pl.col("title").alias("Job Title"),
        pl.col("country").alias("Country"),
        pl.col("created").alias("Created"),
        pl.col("source").alias("Lead Source"),
        pl.col("notes").alias("Notes"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(path)
    # A stray delimiter in the notes: the row has more fields than the header.
    path.write_bytes(path.read_bytes().replace(RAGGED.encode(), b"see notes,extra field"))
    return {
        "rows": rows,
        "known_rows": int(frame.filter(pl.col("known") & ~broken).height),
        "duplicate_rows": n_dupes,
        "invalid_rows": n_invalid,
        "bytes": path.stat().st_size,
    }


# --- the database of known contacts --------------------------------------------------------

SEED_COLUMNS = (
    "email", "other_emails", "first_name", "last_name", "phone", "job_title", "country",
    "lifecycle_stage", "score", "consent", "attributes", "created_at", "updated_at",
)  # fmt: skip
SEED_CHUNK = 200_000


def seed_rows(start: int, stop: int, *, timestamp: str) -> pl.DataFrame:
    """Known contacts start..stop: the list's people with those ids (see people())."""
    person = people(np.arange(start, stop))
    return person.select(
        pl.col("email"),
        pl.lit("[]").alias("other_emails"),
        pl.col("first"),
        pl.col("last"),
        pl.lit("").alias("phone"),
        pl.col("title"),
        pl.lit("US").alias("country"),
        pl.lit("lead").alias("lifecycle_stage"),
        pl.lit(0).alias("score"),
        pl.lit("unknown").alias("consent"),
        pl.lit("{}").alias("attributes"),
        pl.lit(timestamp).alias("created_at"),
        pl.lit(timestamp).alias("updated_at"),
    )


def leadflow(args: list[str], database_url: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEADFLOW_DATABASE_URL": database_url, "LEADFLOW_DATA_DIR": str(data_dir)}
    env.setdefault("LEADFLOW_SECRET_KEY", "benchmark-only")
    return subprocess.run(  # noqa: S603 (our own console script)
        [str(REPO / ".venv" / "bin" / "leadflow"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def pg_admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def pg_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(with_database(url, "postgres")) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return found is not None


def prepare_postgres(url: str, existing: int, data_dir: Path, rebuild: bool) -> str:
    """The seeded template database (built once), and a fresh copy of it to import into."""
    import psycopg

    base = urlparse(url).path.lstrip("/")
    seed_name = f"{base}_seed_{existing}"
    seed_url = with_database(url, seed_name)
    if rebuild or not pg_exists(url, seed_name):
        pg_admin(url, f'DROP DATABASE IF EXISTS "{seed_name}"', f'CREATE DATABASE "{seed_name}"')
        log(f"migrating {seed_name}")
        leadflow(["migrate", "-v0"], seed_url, data_dir)
        columns = ", ".join(SEED_COLUMNS)
        with psycopg.connect(seed_url) as conn, conn.cursor() as cur:
            for start in range(0, existing, SEED_CHUNK):
                rows = seed_rows(start, min(existing, start + SEED_CHUNK),
                                 timestamp="2024-01-01 00:00:00+00")  # fmt: skip
                with cur.copy(f"COPY contacts_contact ({columns}) FROM STDIN (FORMAT csv)") as cp:
                    cp.write(rows.write_csv(include_header=False))
                log(f"seeded {min(existing, start + SEED_CHUNK):,} known contacts")
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


def prepare_sqlite(workdir: Path, existing: int, data_dir: Path, rebuild: bool) -> str:
    import sqlite3

    seed = workdir / f"seed-{existing}.sqlite3"
    if rebuild or not seed.exists():
        seed.unlink(missing_ok=True)
        log(f"migrating {seed}")
        leadflow(["migrate", "-v0"], f"sqlite:///{seed}", data_dir)
        marks = ", ".join(["?"] * len(SEED_COLUMNS))
        sql = f"INSERT INTO contacts_contact ({', '.join(SEED_COLUMNS)}) VALUES ({marks})"
        conn = sqlite3.connect(seed)
        try:
            with conn:
                for start in range(0, existing, SEED_CHUNK):
                    rows = seed_rows(start, min(existing, start + SEED_CHUNK),
                                     timestamp="2024-01-01 00:00:00")  # fmt: skip
                    conn.executemany(sql, rows.rows())
                    log(f"seeded {min(existing, start + SEED_CHUNK):,} known contacts")
                conn.execute("ANALYZE")
        finally:
            conn.close()
    else:  # a seed kept from an earlier run gets the migrations made since
        leadflow(["migrate", "-v0"], f"sqlite:///{seed}", data_dir)
    # The database is in WAL mode: the backup API copies what the -wal file holds too,
    # where a file copy could miss the last rows written.
    target = workdir / "import.sqlite3"
    target.unlink(missing_ok=True)
    source, copy = sqlite3.connect(seed), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return f"sqlite:///{target}"


# --- the measurements ---------------------------------------------------------------------


@dataclass
class Result:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float | None = None
    report: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# COPY reads each physical line of the file into one text column: the file's bytes moved
# into an unindexed table, nothing parsed, checked or indexed. (A COPY into one column per
# header field cannot take the list at all: its ragged rows stop it.)
RAW_TABLE_SQL = "CREATE TABLE raw_list_lines (line text)"
RAW_COPY_SQL = (
    "COPY raw_list_lines (line) FROM STDIN (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')"
)


def raw_copy(url: str, path: Path, rows: int) -> Result:
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS raw_list_lines")
        cur.execute(RAW_TABLE_SQL)
        conn.commit()
        started = time.perf_counter()
        with cur.copy(RAW_COPY_SQL) as copy, path.open("rb") as handle:
            while block := handle.read(1024 * 1024):
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        (lines,) = cur.execute("SELECT count(*) FROM raw_list_lines").fetchone()
        cur.execute("DROP TABLE raw_list_lines")
        conn.commit()
    return Result("raw COPY into an unindexed table", rows, seconds, report={"lines": lines})


def run_import(name: str, url: str, path: Path, rows: int, data_dir: Path) -> Result:
    """`leadflow import` in a child process: its wall time and its peak resident memory."""
    env = {**os.environ, "LEADFLOW_DATABASE_URL": url, "LEADFLOW_DATA_DIR": str(data_dir)}
    env.setdefault("LEADFLOW_SECRET_KEY", "benchmark-only")
    command = [str(REPO / ".venv" / "bin" / "leadflow"), "import", str(path), "--kind",
               "contacts", "--phone-region", "US", "--format", "json"]  # fmt: skip
    log(f"importing into {name}")
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
            raise SystemExit(f"leadflow import failed on {name}:\n{errors.read()}")
    report = json.loads(out)
    return Result(f"leadflow import, {name}", rows, seconds, usage.ru_maxrss / 1024, report)


def environment() -> dict:
    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO).stdout.strip()  # noqa: S603
        except OSError:
            return ""

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average": [round(n, 2) for n in os.getloadavg()],
        "commit": sh("git", "rev-parse", "--short", "HEAD"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": sh("psql", "--version"),
    }


def print_table(env: dict, truth: dict, results: list[Result], copy: Result | None) -> None:
    print(
        f"Import of a messy list: {truth['rows']:,} rows ({truth['bytes'] / 1e6:.0f} MB; "
        f"{truth['known_rows']:,} already in the database, {truth['duplicate_rows']:,} in-file "
        f"duplicates, {truth['invalid_rows']:,} invalid), {env['cpus']} CPUs, load average "
        f"{env['load_average']}, {env['date']}, commit {env['commit']}\n"
    )
    print(f"{'run':<40} {'seconds':>8} {'rows/s':>9} {'vs COPY':>8} {'peak RSS':>9}  goal")
    for r in results:
        ratio = r.rows_per_second / copy.rows_per_second if copy else None
        goal = ""
        if "PostgreSQL" in r.name:
            ok = r.seconds <= GOAL_SECONDS * r.rows / 1_000_000
            ok_ratio = ratio is not None and ratio >= GOAL_COPY_RATIO
            goal = (
                f"<= {GOAL_SECONDS * r.rows / 1_000_000:.1f} s {'PASS' if ok else 'FAIL'}, "
                f">= {GOAL_COPY_RATIO:.2f} of COPY {'PASS' if ok_ratio else 'FAIL'}"
            )
        rss = f"{r.peak_rss_mb:,.0f} MB" if r.peak_rss_mb else ""
        print(
            f"{r.name:<40} {r.seconds:>8.1f} {r.rows_per_second:>9,.0f} "
            f"{(f'{ratio:.3f}' if ratio is not None else ''):>8} {rss:>9}  {goal}"
        )
    if copy:
        print(f"{copy.name:<40} {copy.seconds:>8.1f} {copy.rows_per_second:>9,.0f} {'1.000':>8}")
    for r in results:
        rep = r.report
        stages = rep.get("details", {}).get("seconds_by_stage", {})
        print(
            f"\n{r.name}: created {rep['created']:,}, "
            f"in the database {rep['skipped_in_database']:,}"
            f", in-file duplicates {rep['skipped_in_file']:,}, rejected {rep['rejected']:,}"
            f" {rep['rejected_by_reason']}"
        )
        if stages:
            print("  seconds by stage: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the list")
    parser.add_argument("--existing", type=int, default=1_000_000, help="contacts in the db")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL server and the name of the database to import into",
    )
    parser.add_argument("--only", choices=["postgres", "sqlite"], help="one database only")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench-import")
    parser.add_argument("--rebuild", action="store_true", help="seed the databases again")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = args.workdir / "data"
    path = args.workdir / f"list-{args.rows}-{args.existing}-{args.seed}.csv"
    truth_path = path.with_suffix(".json")
    if args.rebuild or not truth_path.exists():
        log(f"writing {path}")
        truth = generate_list(path, rows=args.rows, existing=args.existing, seed=args.seed)
        truth_path.write_text(json.dumps(truth))
    truth = json.loads(truth_path.read_text())
    results, copy = [], None
    if args.only in (None, "postgres"):
        url = prepare_postgres(args.database_url, args.existing, data_dir, args.rebuild)
        log("raw COPY")
        copy = raw_copy(url, path, args.rows)
        results.append(run_import("PostgreSQL", url, path, args.rows, data_dir))
    if args.only in (None, "sqlite"):
        url = prepare_sqlite(args.workdir, args.existing, data_dir, args.rebuild)
        results.append(run_import("SQLite", url, path, args.rows, data_dir))
    env = environment()
    if args.format == "json":
        payload = {**env, "list": truth, "goal_seconds_per_million": GOAL_SECONDS,
                   "goal_copy_ratio": GOAL_COPY_RATIO,
                   "raw_copy": asdict(copy) if copy else None,
                   "imports": [asdict(r) for r in results]}  # fmt: skip
        json.dump(payload, sys.stdout, indent=2, default=str)
        print()
    else:
        print_table(env, truth, results, copy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
