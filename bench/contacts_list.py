"""Contacts list and timeline at a million contacts and ten million activities (issue 3).

Builds a dedicated PostgreSQL database (default `leadflow_bench`) with set-based SQL
(INSERT ... SELECT FROM generate_series), then times the queries the contacts list page and
the contact page run, through the real selectors, beside the goal of 50 ms per page.

    .venv/bin/python bench/contacts_list.py                     # 1M contacts, 10M activities
    .venv/bin/python bench/contacts_list.py --contacts 20000 --activities 200000   # smoke run
    .venv/bin/python bench/contacts_list.py --format json       # one JSON document
    .venv/bin/python bench/contacts_list.py --rebuild           # drop and build again

The database is reused when it already holds the requested number of rows (building ten
million activities takes minutes); `--rebuild` forces a new one, `--drop` removes it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadflow_bench"
GOAL_MS = 50.0
MAX_SECONDS_PER_QUERY = 20
REPO = Path(__file__).resolve().parent.parent


def words(text: str) -> list[str]:
    return text.split()


# Data shape. Pools are small on purpose: names repeat as they do in a real CRM, and the
# earlier entries of each pool are drawn more often (random()^2), so some names are common.
FIRST_NAMES = words("""
James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William
Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna
Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas
Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon
Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick
Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie
Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina
Ingrid Lars Sven Anouk Pieter Joaquim Ines Matteo Giulia Hiroshi Yuki Amara Kofi Zainab Xiomara
""")
LAST_NAMES = words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner
Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz
Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales
Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace
Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez Mcdonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman
Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills
Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn
Kowalski Nakamura Okafor Lindqvist Van-der-Berg Dubois Rossi Haddad Ivanova Mbeki
""")
COMPANY_NOUNS = words("""
Logistics Analytics Foods Robotics Media Health Energy Capital Labs Systems
Partners Studio Ventures Dynamics Networks Solutions Holdings Industries Consulting Software
Textiles Motors Pharma Security Legal Travel Apparel Farms Brewing Design Marine Aerospace
Insurance Realty Education Games Telecom Optics Materials Chemicals""")
COMPANY_SUFFIXES = ["Inc", "LLC", "Ltd", "GmbH", "SA", "BV", "AB", "Co", "Group", "PLC"]
INDUSTRIES = ["software", "retail", "manufacturing", "finance", "health", "education", "media"]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "CA", "AU", "IN", "BR"]
PERSONAL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"]
# Lifecycle stages as 100 weighted slots: mostly subscribers and leads, few customers.
STAGE_WEIGHTS = {
    "subscriber": 35,
    "lead": 35,
    "mql": 10,
    "sql": 6,
    "opportunity": 4,
    "customer": 5,
    "advocate": 1,
    "disqualified": 4,
}
ACTIVITY_WEIGHTS = {
    "page_view": 38,
    "email_sent": 20,
    "email_opened": 12,
    "email_clicked": 5,
    "form_submitted": 4,
    "call": 4,
    "note": 3,
    "meeting": 1,
    "stage_changed": 3,
    "score_changed": 5,
    "owner_assigned": 1,
    "imported": 2,
    "deal_created": 1,
    "custom": 1,
}
CHANNELS = [
    ("Organic search", "organic_search"),
    ("Paid search", "paid_search"),
    ("LinkedIn", "social"),
    ("LinkedIn ads", "paid_social"),
    ("Newsletter", "email"),
    ("Partner referrals", "referral"),
    ("Direct", "direct"),
    ("Trade shows", "events"),
    ("Bought lists", "bought_list"),
    ("Outbound", "outbound"),
]
CAMPAIGNS_PER_CHANNEL = 3
ACTIVITY_CHUNK = 1_000_000
BIG_TABLES = [
    "contacts_company",
    "contacts_contact",
    "contacts_activity",
    "contacts_stagechange",
    "sales_deal",
]

# The database as the benchmark left it: requested sizes, build time, chosen contacts.
META_TABLE_SQL = "CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb)"
META_READ_SQL = "SELECT key, value FROM bench_meta"
META_WRITE_SQL = (
    "INSERT INTO bench_meta (key, value) VALUES (%s, %s::jsonb) "
    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
)

# Indexes that back no constraint are dropped while loading and built again afterwards:
# one sort per index instead of ten million random index insertions.
SECONDARY_INDEXES_SQL = """
SELECT i.indexname, i.indexdef
FROM pg_indexes i
JOIN pg_class c ON c.relname = i.indexname
WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
ORDER BY i.tablename, i.indexname
"""

COMPANIES_SQL = """
INSERT INTO contacts_company (id, name, domain, industry, size, country, attributes,
                              created_at, updated_at)
SELECT g,
       (%(last_names)s::text[])[1 + floor(random() * cardinality(%(last_names)s::text[]))::int]
       || ' ' || (%(nouns)s::text[])[1 + floor(random() * cardinality(%(nouns)s::text[]))::int]
       || ' ' || (%(suffixes)s::text[])[1 + floor(random()
                                          * cardinality(%(suffixes)s::text[]))::int],
       'company' || g || '.example',
       (%(industries)s::text[])[1 + floor(random() * cardinality(%(industries)s::text[]))::int],
       (10 + floor(random() ^ 3 * 20000))::int,
       (%(countries)s::text[])[1 + floor(random() * cardinality(%(countries)s::text[]))::int],
       '{}'::jsonb,
       %(now)s - interval '1100 days' * random(),
       %(now)s
FROM generate_series(1, %(companies)s) AS g
"""

# Contacts: 85% created in id order over two years (sign-ups), 15% at any time in those two
# years (imports that keep their old dates). Owners follow the stage: most subscribers and
# half the leads are unassigned, qualified contacts belong to a rep (some reps own more).
CONTACTS_SQL = """
INSERT INTO contacts_contact (
    id, email, other_emails, first_name, last_name, phone, job_title, country, company_id,
    owner_id, lifecycle_stage, score, consent, consent_at, attributes, external_id,
    first_touch_channel_id, first_touch_campaign_id, last_touch_channel_id,
    last_touch_campaign_id, source_vendor_id, created_at, updated_at)
SELECT d.g,
       lower(d.first_name || '.' || d.last_name || d.g::text) || '@' ||
           CASE WHEN d.company_id IS NOT NULL AND d.r_domain < 0.6
                THEN 'company' || d.company_id || '.example'
                ELSE (%(domains)s::text[])[1 + mod(floor(d.r_domain * 50)::int, 5)] END,
       '[]'::jsonb, d.first_name, d.last_name, '', '', d.country, d.company_id,
       CASE WHEN d.stage = 'subscriber' AND d.r_owner < 0.8 THEN NULL
            WHEN d.stage = 'lead' AND d.r_owner < 0.5 THEN NULL
            ELSE (%(reps)s::bigint[])[1 + floor(random() ^ 1.5
                                               * cardinality(%(reps)s::bigint[]))::int] END,
       d.stage, d.score,
       CASE WHEN d.r_owner < 0.3 THEN 'granted' ELSE 'unknown' END,
       CASE WHEN d.r_owner < 0.3 THEN d.created_at END,
       '{}'::jsonb, NULL,
       d.channel_id,
       CASE WHEN d.channel_id IS NOT NULL AND d.r_campaign < 0.6
            THEN (%(campaigns)s::bigint[])[(d.channel_idx - 1) * %(per_channel)s + 1
                                           + floor(d.r_campaign / 0.6 * %(per_channel)s)::int]
       END,
       d.channel_id, NULL,
       CASE WHEN d.channel_kind = 'bought_list'
            THEN (%(vendors)s::bigint[])[1 + floor(d.r_campaign
                                         * cardinality(%(vendors)s::bigint[]))::int] END,
       d.created_at,
       d.created_at + (%(now)s - d.created_at) * random()
FROM (
    SELECT s.*,
           CASE WHEN s.r_channel < 0.05 THEN NULL
                ELSE (%(channels)s::bigint[])[s.channel_idx] END AS channel_id,
           CASE WHEN s.r_channel < 0.05 THEN NULL
                ELSE (%(channel_kinds)s::text[])[s.channel_idx] END AS channel_kind
    FROM (
        SELECT g,
               (%(first_names)s::text[])[1 + floor(random() ^ 2
                                           * cardinality(%(first_names)s::text[]))::int]
                   AS first_name,
               (%(last_names)s::text[])[1 + floor(random() ^ 2
                                          * cardinality(%(last_names)s::text[]))::int]
                   AS last_name,
               (%(countries)s::text[])[1 + floor(random() ^ 2
                                         * cardinality(%(countries)s::text[]))::int]
                   AS country,
               CASE WHEN random() < 0.7
                    THEN 1 + floor(random() ^ 1.5 * %(companies)s)::bigint END AS company_id,
               (%(stages)s::text[])[1 + floor(random() * 100)::int] AS stage,
               floor(random() ^ 2 * 101)::int AS score,
               1 + floor(random() ^ 1.7 * cardinality(%(channels)s::bigint[]))::int
                   AS channel_idx,
               random() AS r_channel,
               random() AS r_campaign,
               random() AS r_owner,
               random() AS r_domain,
               CASE WHEN random() < 0.85
                    THEN %(now)s - interval '730 days' * (1 - g::float8 / %(contacts)s)
                         - interval '3 hours' * random()
                    ELSE %(now)s - interval '730 days' * random() END AS created_at
        FROM generate_series(1, %(contacts)s) AS g
    ) AS s
) AS d
"""

# Activities: 70% spread evenly over the contacts, 30% piled on the oldest (random()^2),
# so a few contacts have thousands of rows. Each happens between the contact's creation
# and now, which puts more of them in recent months.
ACTIVITIES_SQL = """
INSERT INTO contacts_activity (contact_id, kind, occurred_at, actor_id, channel_id,
                               campaign_id, data)
SELECT s.contact_id, s.kind,
       c.created_at + (%(now)s - c.created_at) * s.r_time,
       CASE WHEN s.kind IN ('call', 'note', 'meeting', 'owner_assigned')
            THEN (%(reps)s::bigint[])[1 + floor(s.r_ref * cardinality(%(reps)s::bigint[]))::int]
       END,
       CASE WHEN s.kind IN ('page_view', 'form_submitted')
            THEN (%(channels)s::bigint[])[1 + floor(s.r_ref
                                          * cardinality(%(channels)s::bigint[]))::int] END,
       CASE WHEN s.kind LIKE 'email%%'
            THEN (%(campaigns)s::bigint[])[1 + floor(s.r_ref
                                           * cardinality(%(campaigns)s::bigint[]))::int] END,
       CASE s.kind
            WHEN 'page_view' THEN jsonb_build_object('url', '/blog/post-'
                                                     || floor(s.r_ref * 500)::int)
            WHEN 'note' THEN jsonb_build_object('text', 'Called, left a voicemail.')
            WHEN 'score_changed' THEN jsonb_build_object('from', floor(s.r_ref * 50)::int,
                                                         'to', floor(s.r_ref * 50)::int + 5)
            ELSE '{}'::jsonb END
FROM (
    SELECT CASE WHEN random() < 0.7 THEN 1 + floor(random() * %(contacts)s)
                ELSE 1 + floor(random() ^ 2 * %(contacts)s) END::bigint AS contact_id,
           (%(kinds)s::text[])[1 + floor(random() * 100)::int] AS kind,
           random() AS r_time,
           random() AS r_ref
    FROM generate_series(1, %(chunk)s)
) AS s
JOIN contacts_contact c ON c.id = s.contact_id
"""

# The lifecycle history: how each contact entered, and the step to its stage for those
# past lead.
STAGE_CHANGES_SQL = """
INSERT INTO contacts_stagechange (contact_id, from_stage, to_stage, changed_at, actor_id,
                                  source, reason)
SELECT id, '', CASE WHEN lifecycle_stage = 'subscriber' THEN 'subscriber' ELSE 'lead' END,
       created_at, NULL, 'import', ''
FROM contacts_contact
UNION ALL
SELECT id, 'lead', lifecycle_stage, created_at + (updated_at - created_at) / 2, owner_id,
       '', 'Qualified by a rep'
FROM contacts_contact
WHERE lifecycle_stage NOT IN ('subscriber', 'lead')
"""

DEALS_SQL = """
INSERT INTO sales_deal (name, contact_id, company_id, owner_id, amount, currency, stage,
                        expected_close_on, won_at, lost_at, lost_reason, attributes,
                        created_at, updated_at)
SELECT 'Deal for contact ' || id, id, company_id, owner_id,
       round((500 + random() * 50000)::numeric, 2), 'USD',
       CASE WHEN lifecycle_stage = 'opportunity' THEN 'proposal' ELSE 'won' END,
       (updated_at + interval '45 days')::date,
       CASE WHEN lifecycle_stage = 'opportunity' THEN NULL ELSE updated_at END,
       NULL, '', '{}'::jsonb, created_at + (updated_at - created_at) / 2, updated_at
FROM contacts_contact
WHERE lifecycle_stage IN ('opportunity', 'customer', 'advocate')
"""

SET_SEQUENCE_SQL = (
    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
    "(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
)

# The busiest contact (for the heavy timeline) and one with a typical number of activities.
HEAVY_CONTACT_SQL = """
SELECT contact_id, count(*) FROM contacts_activity
GROUP BY contact_id ORDER BY count(*) DESC, contact_id LIMIT 1
"""
TYPICAL_CONTACT_SQL = """
SELECT contact_id, count(*) FROM contacts_activity
WHERE contact_id BETWEEN %s AND %s GROUP BY contact_id ORDER BY contact_id
"""
# Tables with over 10% dead rows (autovacuum starts at 20%; a run may begin before it has).
DEAD_TABLES_SQL = """
SELECT relname FROM pg_stat_user_tables
WHERE relname = ANY(%s) AND n_dead_tup > 0.1 * greatest(n_live_tup, 1)
ORDER BY relname
"""
NTH_NEWEST_SQL = """
SELECT id FROM contacts_contact ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1
"""


def weighted_slots(weights: dict[str, int]) -> list[str]:
    slots = [name for name, weight in weights.items() for _ in range(weight)]
    assert len(slots) == 100, weights
    return slots


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--companies", type=int, default=None, help="default: contacts / 20")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per query")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="drop and build the database")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--only", default="", help="time only the queries whose name has this")
    args = parser.parse_args(argv)
    if args.companies is None:
        args.companies = max(args.contacts // 20, 10)
    if urlparse(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("the benchmark needs PostgreSQL (--database-url postgres://...)")
    return args


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def admin_execute(url: str, sql: str, params: list | None = None) -> list[tuple]:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def create_database(url: str, *, rebuild: bool) -> None:
    from psycopg import sql

    name = database_name(url)
    ident = sql.Identifier(name).as_string(None)
    if rebuild:
        log(f"dropping database {name}")
        admin_execute(url, f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")
    exists = admin_execute(url, "SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if not exists:
        log(f"creating database {name}")
        admin_execute(url, f"CREATE DATABASE {ident}")


def setup_django(url: str) -> None:
    os.environ["LEADFLOW_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    os.environ.setdefault("LEADFLOW_DATA_DIR", tempfile.mkdtemp(prefix="leadflow-bench-"))
    os.environ.setdefault("LEADFLOW_SECRET_KEY", "benchmark-only")
    import django

    django.setup()


def read_meta() -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(META_TABLE_SQL)
        cur.execute(META_READ_SQL)
        # Django reads jsonb as text and leaves decoding to JSONField.
        return {
            key: json.loads(value) if isinstance(value, str) else value
            for key, value in cur.fetchall()
        }


def write_meta(values: dict) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for key, value in values.items():
            cur.execute(META_WRITE_SQL, [key, json.dumps(value)])


# --- building -----------------------------------------------------------------------------


def create_reference_rows() -> dict[str, list]:
    """Users, channels, campaigns and vendors: a few dozen rows, through the ORM."""
    from leadflow.accounts.models import Role, User, Workspace
    from leadflow.contacts.models import Campaign, Channel, Vendor

    Workspace.objects.update_or_create(pk=1, defaults={"reps_see_unassigned": True})
    people = [("admin", Role.ADMIN)]
    people += [(f"marketer{i}", Role.MARKETING) for i in (1, 2)]
    people += [(f"manager{i}", Role.SALES_MANAGER) for i in (1, 2)]
    people += [(f"rep{i}", Role.SALES_REP) for i in range(1, 16)]
    for username, role in people:
        user = User(username=username, role=role, first_name=username.title())
        user.set_unusable_password()
        user.save()
    reps = User.objects.filter(role=Role.SALES_REP).order_by("id")
    reps = list(reps.values_list("id", flat=True))
    channels, kinds, campaigns = [], [], []
    for name, kind in CHANNELS:
        channel = Channel.objects.create(name=name, kind=kind)
        channels.append(channel.pk)
        kinds.append(kind)
        for n in range(1, CAMPAIGNS_PER_CHANNEL + 1):
            campaigns.append(Campaign.objects.create(name=f"{name} {n}", channel=channel).pk)
    vendors = [Vendor.objects.create(name=f"List vendor {n}").pk for n in (1, 2, 3)]
    return {
        "reps": reps,
        "channels": channels,
        "channel_kinds": kinds,
        "campaigns": campaigns,
        "vendors": vendors,
    }


def timed(label: str, cur, sql: str, params=None) -> float:
    started = time.perf_counter()
    cur.execute(sql, params)
    seconds = time.perf_counter() - started
    log(f"{label}: {cur.rowcount if cur.rowcount >= 0 else ''} in {seconds:.1f} s")
    return seconds


def build(args: argparse.Namespace) -> dict:
    from django.db import connection, transaction

    started = time.perf_counter()
    steps: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    with transaction.atomic(), connection.cursor() as cur:
        refs = create_reference_rows()
        params = {
            **refs,
            "now": now,
            "contacts": args.contacts,
            "companies": args.companies,
            "per_channel": CAMPAIGNS_PER_CHANNEL,
            "first_names": FIRST_NAMES,
            "last_names": LAST_NAMES,
            "nouns": COMPANY_NOUNS,
            "suffixes": COMPANY_SUFFIXES,
            "industries": INDUSTRIES,
            "countries": COUNTRIES,
            "domains": PERSONAL_DOMAINS,
            "stages": weighted_slots(STAGE_WEIGHTS),
            "kinds": weighted_slots(ACTIVITY_WEIGHTS),
        }
        # A bulk load: no synchronous flush per commit, room to sort in memory, and no
        # per-row foreign-key triggers (the generator only draws ids that exist).
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(SECONDARY_INDEXES_SQL, [BIG_TABLES])
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        log(f"dropped {len(indexes)} secondary indexes for the load")
        steps["companies"] = timed("companies", cur, COMPANIES_SQL, params)
        steps["contacts"] = timed("contacts", cur, CONTACTS_SQL, params)
        steps["activities"] = 0.0
        remaining = args.activities
        while remaining > 0:
            chunk = min(ACTIVITY_CHUNK, remaining)
            steps["activities"] += timed(
                f"activities ({args.activities - remaining + chunk:,} of {args.activities:,})",
                cur,
                ACTIVITIES_SQL,
                {**params, "chunk": chunk},
            )
            remaining -= chunk
        steps["stage_changes"] = timed("stage changes", cur, STAGE_CHANGES_SQL)
        steps["deals"] = timed("deals", cur, DEALS_SQL)
        for table in BIG_TABLES:
            cur.execute(SET_SEQUENCE_SQL.format(table=table), [table])
        index_started = time.perf_counter()
        for name, definition in indexes:
            timed(f"index {name}", cur, definition)
        steps["indexes"] = time.perf_counter() - index_started
    # VACUUM cannot run inside a transaction; it also sets the visibility map that lets
    # counts use index-only scans, as autovacuum would on a live database.
    with connection.cursor() as cur:
        steps["vacuum_analyze"] = timed("vacuum analyze", cur, "VACUUM (ANALYZE)")
        cur.execute(HEAVY_CONTACT_SQL)
        heavy_id, heavy_count = cur.fetchone()
        middle = args.contacts // 2
        cur.execute(TYPICAL_CONTACT_SQL, [middle, middle + 200])
        counts = cur.fetchall()
        median = statistics.median_low(n for _, n in counts)
        typical_id = next(cid for cid, n in counts if n == median)
    total = time.perf_counter() - started
    log(f"built in {total:.0f} s")
    return {
        "contacts": args.contacts,
        "activities": args.activities,
        "companies": args.companies,
        "built_at": now.isoformat(),
        "build_seconds": round(total, 1),
        "build_steps": {k: round(v, 1) for k, v in steps.items()},
        "heavy_contact": heavy_id,
        "typical_contact": typical_id,
    }


def prepare_database(args: argparse.Namespace) -> dict:
    """Create and migrate the database, and fill it unless it already has the right size."""
    from django.core.management import call_command
    from django.db import connection

    create_database(args.database_url, rebuild=args.rebuild)
    setup_django(args.database_url)
    log("migrating")
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    meta = read_meta()
    wanted = {"contacts": args.contacts, "activities": args.activities}
    if meta and all(meta.get(k) == v for k, v in wanted.items()) and meta.get("complete"):
        log(f"reusing {database_name(args.database_url)} (built {meta['built_at']})")
        vacuum_after_migrations()
        return meta
    if meta or connection.introspection.table_names() and _has_rows():
        # Another size or a half-finished build: start from an empty database.
        connection.close()
        create_database(args.database_url, rebuild=True)
        call_command("migrate", verbosity=0, interactive=False)
        read_meta()
    meta = build(args)
    meta["complete"] = True
    write_meta(meta)
    return meta


def vacuum_after_migrations() -> None:
    """A migration that rewrote rows (0007 fills Contact.search_text) leaves dead rows and
    a cleared visibility map; autovacuum would clean them within minutes on a live
    database, so do what it would before timing, instead of timing the aftermath."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(DEAD_TABLES_SQL, [BIG_TABLES])
        for (table,) in cur.fetchall():
            timed(
                f"vacuum analyze {table} (rows rewritten since the last vacuum)",
                cur,
                f'VACUUM (ANALYZE) "{table}"',
            )


def _has_rows() -> bool:
    from leadflow.contacts.models import Contact

    return Contact.objects.exists()


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    queries: int
    rows: int
    count: str
    parts: dict[str, float]  # median ms of each step
    median_ms: float
    p95_ms: float
    runs: int
    goal_ms: float = GOAL_MS
    passed: bool = False
    sql: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)


class Stopwatch:
    """Times the named steps of one page render."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.parts[name] = self.parts.get(name, 0.0) + (now - self._last) * 1000
        self._last = now


def list_page(user, filters=None, *, sort="newest", cursor="", backwards=False):
    """What the contacts list page runs: the visible contacts, filtered, one keyset page
    with the columns the table shows, and the capped count above it."""
    from leadflow.contacts import selectors

    def run(watch: Stopwatch):
        contacts = (filters or selectors.ContactFilter()).apply(
            selectors.list_visible_contacts(user=user)
        )
        watch.lap("visible")
        page = selectors.paginate_contacts(
            contacts.select_related("company", "owner", "first_touch_channel"),
            sort=sort,
            cursor=cursor,
            backwards=backwards,
        )
        for contact in page.items:  # what the template touches
            _ = (contact.company, contact.owner, contact.first_touch_channel)
        watch.lap("page")
        # As the list view: a search counts up to SEARCH_COUNT_CAP ("1,000+"), else COUNT_CAP.
        searching = filters is not None and bool(filters.search)
        cap = selectors.SEARCH_COUNT_CAP if searching else selectors.COUNT_CAP
        count, more = selectors.count_contacts_capped(contacts, cap=cap)
        watch.lap("count")
        return len(page.items), f"{count:,}{'+' if more else ''}"

    return run


def contact_page(user, contact_id: int):
    """What the contact page runs above its timeline: the contact with the records it
    shows, its lifecycle history and its deals."""
    from leadflow.contacts import selectors
    from leadflow.sales.selectors import list_contact_deals

    def run(watch: Stopwatch):
        contact = (
            selectors.list_visible_contacts(user=user)
            .select_related(
                "company",
                "owner",
                "first_touch_channel",
                "first_touch_campaign",
                "last_touch_channel",
                "last_touch_campaign",
                "source_vendor",
            )
            .get(pk=contact_id)
        )
        watch.lap("contact")
        history = list(selectors.list_stage_history(contact=contact))
        watch.lap("history")
        deals = list(list_contact_deals(contact_id=contact.pk))
        watch.lap("deals")
        return 1 + len(history) + len(deals), ""

    return run


def timeline(contact_id: int, kinds: list[str] | None = None):
    from leadflow.contacts import selectors
    from leadflow.contacts.models import Contact

    contact = Contact.objects.get(pk=contact_id)

    def run(watch: Stopwatch):
        rows = list(selectors.list_timeline(contact=contact, kinds=kinds))
        watch.lap("timeline")
        return len(rows), ""

    return run


def scenarios(meta: dict) -> list[tuple[str, Callable]]:
    from django.db import connection

    from leadflow.accounts.models import Role, User
    from leadflow.contacts.models import Channel, Contact
    from leadflow.contacts.selectors import ContactFilter, encode_cursor

    admin = User.objects.get(username="admin")
    manager = User.objects.get(username="manager1")
    rep = User.objects.filter(role=Role.SALES_REP).order_by("id").first()
    channel = Channel.objects.get(name="LinkedIn")
    with connection.cursor() as cur:
        cur.execute(NTH_NEWEST_SQL, [meta["contacts"] // 2])
        (deep_id,) = cur.fetchone()
    deep = Contact.objects.get(pk=deep_id)
    deep_newest = encode_cursor([deep.created_at, deep.pk])
    deep_name = encode_cursor([deep.last_name, deep.pk])
    sample = Contact.objects.get(pk=meta["contacts"] // 3)
    email_prefix = sample.email.split("@")[0] + "@"
    common_last = LAST_NAMES[0]
    rare_first = FIRST_NAMES[-1]
    company_word = COMPANY_NOUNS[7].lower()
    company_suffix = COMPANY_SUFFIXES[2]
    f = ContactFilter
    return [
        ("list: first page, newest", list_page(admin)),
        ("list: deep page (middle of the list)", list_page(admin, cursor=deep_newest)),
        (
            "list: previous page from the middle",
            list_page(admin, cursor=deep_newest, backwards=True),
        ),
        ("list: oldest first", list_page(admin, sort="oldest")),
        ("list: stage = mql", list_page(admin, f(stage="mql"))),
        ("list: stage = advocate (rare)", list_page(admin, f(stage="advocate"))),
        ("list: rep's own + unassigned", list_page(rep)),
        ("list: rep, owner = self", list_page(rep, f(owner=rep.pk))),
        ("list: manager, owner = a rep", list_page(manager, f(owner=rep.pk))),
        ("list: unassigned", list_page(manager, f(unassigned=True))),
        ("list: channel = LinkedIn", list_page(admin, f(channel=channel.pk))),
        (
            "list: score 60-80, by score",
            list_page(admin, f(score_min=60, score_max=80), sort="score"),
        ),
        ("list: by name", list_page(admin, sort="name")),
        ("list: by name, deep page", list_page(admin, sort="name", cursor=deep_name)),
        ("list: recently updated", list_page(admin, sort="updated")),
        (
            "list: stage = mql + channel, by score",
            list_page(admin, f(stage="mql", channel=channel.pk), sort="score"),
        ),
        (f"search: email '{email_prefix}'", list_page(admin, f(search=email_prefix))),
        (f"search: common name '{common_last}'", list_page(admin, f(search=common_last))),
        (f"search: rarer name '{rare_first}'", list_page(admin, f(search=rare_first))),
        (f"search: company '{company_word}'", list_page(admin, f(search=company_word))),
        (
            f"search: '{FIRST_NAMES[0]} {common_last}'",
            list_page(admin, f(search=f"{FIRST_NAMES[0]} {common_last}")),
        ),
        # A person's word beside a company's: one trigram scan intersects both words in the
        # one search text; a search that looked the company up apart failed these (2026-12-07).
        (
            f"search: '{common_last} {company_word}'",
            list_page(admin, f(search=f"{common_last} {company_word}")),
        ),
        (
            f"search: '{rare_first} {company_word}'",
            list_page(admin, f(search=f"{rare_first} {company_word}")),
        ),
        (
            f"search: '{rare_first} {company_suffix}'",
            list_page(admin, f(search=f"{rare_first} {company_suffix}")),
        ),
        ("search: no match 'qzxv'", list_page(admin, f(search="qzxv"))),
        (f"search: rep, '{common_last}'", list_page(rep, f(search=common_last))),
        ("contact page: contact, history, deals", contact_page(manager, meta["heavy_contact"])),
        (f"timeline: heavy contact ({meta['heavy_contact']})", timeline(meta["heavy_contact"])),
        (
            f"timeline: typical contact ({meta['typical_contact']})",
            timeline(meta["typical_contact"]),
        ),
        (
            "timeline: heavy contact, calls/notes/meetings",
            timeline(meta["heavy_contact"], ["call", "note", "meeting"]),
        ),
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def measure(name: str, run: Callable, *, runs: int, warmup: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        rows, count = run(Stopwatch())
    for _ in range(warmup):
        run(Stopwatch())
    totals, parts = [], []
    # A query far over the goal gets fewer runs (at least three), or the report takes hours.
    deadline = time.perf_counter() + MAX_SECONDS_PER_QUERY
    while len(totals) < runs and (len(totals) < 3 or time.perf_counter() < deadline):
        watch = Stopwatch()
        started = time.perf_counter()
        run(watch)
        totals.append((time.perf_counter() - started) * 1000)
        parts.append(watch.parts)
    median = statistics.median(totals)
    result = Result(
        name=name,
        queries=len(captured.captured_queries),
        rows=rows,
        count=count,
        parts={k: round(statistics.median(p[k] for p in parts), 2) for k in parts[0]},
        median_ms=round(median, 2),
        p95_ms=round(percentile(totals, 95), 2),
        runs=len(totals),
        sql=[q["sql"] for q in captured.captured_queries],
    )
    result.passed = result.median_ms < GOAL_MS
    if not result.passed:
        result.explain = [explain(sql) for sql in result.sql if sql.lstrip().startswith("SELECT")]
    return result


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cur.fetchall())


def environment(meta: dict) -> dict:
    from django.db import connection

    def sh(*cmd: str) -> str:
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)  # noqa: S603
            return run.stdout.strip()
        except OSError:
            return ""

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        memory_gb = round(int(memory) / 1024 / 1024, 1)
    except OSError:
        memory_gb = None
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        (pg_version,) = cur.fetchone()
        settings = {}
        for knob in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "random_page_cost",
            "max_parallel_workers_per_gather",
            "jit",
        ):
            cur.execute(f"SHOW {knob}")
            settings[knob] = cur.fetchone()[0]
        sizes = {}
        for table in (*BIG_TABLES, "accounts_user"):
            cur.execute(
                "SELECT (SELECT reltuples::bigint FROM pg_class WHERE relname = %s), "
                "pg_size_pretty(pg_total_relation_size(%s::regclass))",
                [table, table],
            )
            rows, size = cur.fetchone()
            sizes[table] = {"rows": rows, "size": size}
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        # The machine is shared: other work's load is part of every figure.
        "load_average": [round(n, 2) for n in os.getloadavg()],
        "commit": sh("git", "rev-parse", "--short", "HEAD"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": cpu,
            "memory_gb": memory_gb,
            "python": platform.python_version(),
        },
        "postgresql": pg_version,
        "postgresql_settings": settings,
        "tables": sizes,
        "database": meta,
    }


def print_table(env: dict, results: list[Result], runs: int) -> None:
    db = env["database"]
    print(
        f"Contacts list and timeline: {db['contacts']:,} contacts, {db['activities']:,} "
        f"activities (built in {db['build_seconds']:.0f} s), PostgreSQL {env['postgresql']}, "
        f"{env['machine']['cpus']} CPUs, load average {env['load_average']}, "
        f"commit {env['commit']}"
    )
    print(
        f"median and p95 of up to {runs} runs after warm-up, ms; PASS when the median of "
        f"all the queries a page runs is under {GOAL_MS:.0f} ms\n"
    )
    width = max(len(r.name) for r in results)
    print(
        f"{'query':<{width}}  {'q':>2}  {'rows':>4}  {'count':>7}  {'runs':>4}  "
        f"{'median':>7}  {'p95':>7}  result  parts (median ms)"
    )
    for r in results:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in r.parts.items())
        print(
            f"{r.name:<{width}}  {r.queries:>2}  {r.rows:>4}  {r.count:>7}  {r.runs:>4}  "
            f"{r.median_ms:>7.1f}  {r.p95_ms:>7.1f}  {'PASS' if r.passed else 'FAIL':<6}  "
            f"{parts}"
        )
    failed = [r for r in results if r.explain]
    for r in failed:
        print(f"\n--- {r.name}: median {r.median_ms} ms, p95 {r.p95_ms} ms")
        for sql, plan in zip(
            (s for s in r.sql if s.lstrip().startswith("SELECT")), r.explain, strict=True
        ):
            print(sql)
            print(plan)
            print()
    print(f"\n{sum(r.passed for r in results)} of {len(results)} under {GOAL_MS:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    meta = prepare_database(args)
    results = [
        measure(name, run, runs=args.runs, warmup=args.warmup)
        for name, run in scenarios(meta)
        if args.only in name
    ]
    env = environment(meta)
    if args.format == "json":
        json.dump(
            {**env, "goal_ms": GOAL_MS, "runs": args.runs, "results": [asdict(r) for r in results]},
            sys.stdout,
            indent=2,
        )
        print()
    else:
        print_table(env, results, args.runs)
    if args.drop:
        from django.db import connection

        connection.close()
        admin_execute(args.database_url, f'DROP DATABASE "{database_name(args.database_url)}"')
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
