"""The existing contacts an import's rows may be: read from the database in chunks.

Every read returns a frame in match.CANDIDATE_SCHEMA. A chunk's values are bound as one
parameter, an array on PostgreSQL (`= ANY(%s)`; strings sent as one array literal) or a
JSON list on SQLite (`IN (SELECT value FROM json_each(%s))`), so a statement has one
parameter, not thousands, and a 100,000-row file needs a handful of queries. Reads by
name are in two steps: first only ids and names of the contacts with one of the file's
last names (as written or upper-cased: both have an index), kept when their cleaned last
name and first initial form one of the file's blocks; then the full rows of those ids.

A long import asks for fewer keys (`KnownKeys`): from its first chunk on (read while that
chunk is cleaned, for a file of several chunks) or its second, it holds a hash of every
email, other email and external id the table has, and asks the database only for the keys
whose hash is there. Most of a bought list's addresses are new, and 100,000
index probes per chunk were most of the match stage's time.

An address may also be one of a contact's other emails (an address `leadflow dedupe` or an
import merged into it): `other_email_owners` finds those contacts, for contact imports
(`by_keys`) and for the deals and activities that name a contact (kinds/base.py).
"""

import io
import json
from datetime import UTC, datetime

import polars as pl
from django.db import connection

from leadflow.acquisition.dedupe.normalise import clean_text
from leadflow.acquisition.pipeline.batches import chunks
from leadflow.acquisition.pipeline.match import CANDIDATE_SCHEMA, MAX_NAME_BLOCK, block_initial
from leadflow.contacts.models import Company, Contact

CHUNK = 50_000
LOOKUP_AT_ONCE = 1_000  # names above which fetching all contacts without email may pay

# CANDIDATE_SCHEMA's columns, in its order; the statements are spelled out whole, per
# database, so no SQL is assembled at run time.
_COLUMNS = (
    "SELECT c.id, c.email, c.first_name, c.last_name, c.phone, c.job_title, c.country, "
    "c.external_id, c.company_id, c.attributes, co.name, c.other_emails, c.updated_at, "
    "c.email_is_role, c.email_is_disposable, c.source_import_id, c.lifecycle_stage, c.owner_id "
    "FROM contacts_contact c LEFT JOIN contacts_company co ON co.id = c.company_id "
)
_PG_COLUMNS = _COLUMNS.replace("c.attributes,", "c.attributes::text,").replace(
    "c.other_emails,", "c.other_emails::text,"
)
_SQLITE_IN = " IN (SELECT value FROM json_each(%s))"
SELECT_BY = {
    ("postgresql", "email"): _PG_COLUMNS + "WHERE c.email = ANY(%s)",
    ("postgresql", "external_id"): _PG_COLUMNS + "WHERE c.external_id = ANY(%s)",
    ("postgresql", "phone"): _PG_COLUMNS + "WHERE c.phone = ANY(%s)",
    ("postgresql", "id"): _PG_COLUMNS + "WHERE c.id = ANY(%s)",
    ("postgresql", "phone without email"): _PG_COLUMNS
    + "WHERE c.email IS NULL AND c.phone = ANY(%s)",
    ("postgresql", "every phone without email"): _PG_COLUMNS
    + "WHERE c.email IS NULL AND c.phone <> ''",
    ("sqlite", "email"): _COLUMNS + "WHERE c.email" + _SQLITE_IN,
    ("sqlite", "external_id"): _COLUMNS + "WHERE c.external_id" + _SQLITE_IN,
    ("sqlite", "phone"): _COLUMNS + "WHERE c.phone" + _SQLITE_IN,
    ("sqlite", "id"): _COLUMNS + "WHERE c.id" + _SQLITE_IN,
    ("sqlite", "phone without email"): _COLUMNS + "WHERE c.email IS NULL AND c.phone" + _SQLITE_IN,
    ("sqlite", "every phone without email"): _COLUMNS + "WHERE c.email IS NULL AND c.phone <> ''",
}
# Ids and names of the contacts with a last name as written or upper-cased (two %s).
_NAMES = "SELECT id, first_name, last_name FROM contacts_contact "
NAMES_BY = {
    ("postgresql", False): _NAMES + "WHERE last_name = ANY(%s) OR UPPER(last_name) = ANY(%s)",
    ("postgresql", True): _NAMES
    + "WHERE (last_name = ANY(%s) OR UPPER(last_name) = ANY(%s)) AND email IS NULL",
    ("sqlite", False): _NAMES
    + "WHERE last_name"
    + _SQLITE_IN
    + " OR UPPER(last_name)"
    + _SQLITE_IN,
    ("sqlite", True): _NAMES
    + "WHERE (last_name"
    + _SQLITE_IN
    + " OR UPPER(last_name)"
    + _SQLITE_IN
    + ") AND email IS NULL",
}
# Ids and names of the contacts with no last name and a first name as written or upper-cased.
_FIRST_ONLY = "WHERE last_name = '' AND (first_name = ANY(%s) OR UPPER(first_name) = ANY(%s))"
_SQLITE_FIRST_ONLY = (
    "WHERE last_name = '' AND (first_name" + _SQLITE_IN + " OR UPPER(first_name)" + _SQLITE_IN + ")"
)
FIRST_NAMES_BY = {
    ("postgresql", False): _NAMES + _FIRST_ONLY,
    ("postgresql", True): _NAMES + _FIRST_ONLY + " AND email IS NULL",
    ("sqlite", False): _NAMES + _SQLITE_FIRST_ONLY,
    ("sqlite", True): _NAMES + _SQLITE_FIRST_ONLY + " AND email IS NULL",
}
# Contacts without an email are few in most databases: when they are, fetching all of their
# names beats asking for a million last names.
EMAILLESS_COUNT = "SELECT count(*) FROM contacts_contact WHERE email IS NULL"
EMAILLESS_NAMES = _NAMES + "WHERE email IS NULL"
EMAILLESS_AT_ONCE = 200_000
# The same for phones: a list of people with emails asks by phone only about the contacts
# without one, and 100,000 probes of the phone index found none in most databases (0.15 s
# a chunk at 1,000,000 contacts). The email index holds the NULLs, so the count is cheap.
EMAILLESS_PHONES_COUNT = "SELECT count(*) FROM contacts_contact WHERE email IS NULL AND phone <> ''"
# (address, id) of the contacts that hold one of the addresses among their other emails.
# Most contacts have none and store '[]'; the partial index contact_other_emails lists the
# others, and its condition is written here exactly as Django wrote it, NOT (... = '[]'),
# so both databases use it (without it, each statement scanned the table: 0.15-0.35 s at
# 1,000,000 contacts on PostgreSQL). One statement takes up to OTHER_EMAILS_CHUNK
# addresses, an import chunk's emails at once.
OTHER_EMAILS_BY = {
    "postgresql": "SELECT e.address, c.id FROM contacts_contact c "
    "CROSS JOIN LATERAL jsonb_array_elements_text(c.other_emails) AS e(address) "
    "WHERE NOT (c.other_emails = '[]'::jsonb) AND jsonb_typeof(c.other_emails) = 'array' "
    "AND e.address = ANY(%s)",
    "sqlite": "SELECT e.value, c.id FROM contacts_contact c, json_each(c.other_emails) e "
    "WHERE NOT (c.other_emails = '[]') AND e.value IN (SELECT value FROM json_each(%s))",
}
OTHER_EMAILS_CHUNK = 200_000
assert Contact._meta.db_table == "contacts_contact" and Company._meta.db_table == "contacts_company"


# Every key the table holds, one text column: emails and other emails as they are, external
# ids prefixed so that an id equal to someone's address is still a key of its own.
EXTERNAL_ID_PREFIX = "x:"
KEYS_SQL = {
    "postgresql": "SELECT email FROM contacts_contact WHERE email IS NOT NULL "
    "UNION ALL SELECT 'x:' || external_id FROM contacts_contact WHERE external_id IS NOT NULL "
    "UNION ALL SELECT jsonb_array_elements_text(other_emails) "
    "FROM contacts_contact WHERE NOT (other_emails = '[]'::jsonb) "
    "AND jsonb_typeof(other_emails) = 'array'",
    "sqlite": "SELECT email FROM contacts_contact WHERE email IS NOT NULL "
    "UNION ALL SELECT 'x:' || external_id FROM contacts_contact WHERE external_id IS NOT NULL "
    "UNION ALL SELECT e.value FROM contacts_contact c, "
    "json_each(c.other_emails) e WHERE NOT (c.other_emails = '[]')",
}
COPY_KEYS = f"COPY ({KEYS_SQL['postgresql']}) TO STDOUT (FORMAT csv)"
assert EXTERNAL_ID_PREFIX == "x:"  # as spelled in KEYS_SQL


def _hashes_of(keys: pl.Series) -> pl.Series:
    return keys.hash(seed=HASH_SEED)


# Above this many contacts the hashes are not read (8 bytes each, held for the import):
# every key is asked for, as before.
KNOWN_KEYS_AT_MOST = 20_000_000
HASH_SEED = 20261207


def _hashes(keys: pl.Series) -> pl.Series:
    """The distinct hashes of some keys (a key missing from CSV reads as null: none)."""
    return _hashes_of(keys.drop_nulls()).unique()


class KnownKeys:
    """Hashes of the keys the contacts table may hold, for one import: every email, other
    email and external id, read once, then added to as the import writes (`add`).

    `may_have` keeps the keys whose hash is among them, so a look-up asks the database for
    those only. A hash shared by two keys costs a question, never a match. A key another
    writer adds while the import runs is not among them: the import's own COPY then meets
    it in the unique index, and that chunk is looked up again in full (kinds/contacts.py);
    an address another writer adds to a contact's other emails meanwhile is missed, and
    the row becomes a contact of its own, as it would have a moment earlier.
    """

    def __init__(self) -> None:
        self._hashes: pl.Series | None = None
        self.too_many = False

    @property
    def ready(self) -> bool:
        return self._hashes is not None

    def read(self) -> bool:
        """Read the table's keys; False (and nothing held) above KNOWN_KEYS_AT_MOST."""
        if Contact.objects.count() > KNOWN_KEYS_AT_MOST:
            self.too_many = True
            return False
        parts = []
        with connection.cursor() as cursor:
            if _postgresql():  # streamed: a client cursor would hold every row at once
                text = io.BytesIO()
                with cursor.cursor.copy(COPY_KEYS) as copy:
                    for block in copy:
                        text.write(block)
                if text.tell():
                    keys = pl.read_csv(text.getvalue(), has_header=False, schema={"key": pl.String})
                    parts.append(_hashes(keys.to_series()))
            else:
                cursor.execute(KEYS_SQL["sqlite"])
                while rows := cursor.fetchmany(CHUNK):
                    parts.append(_hashes(pl.Series("key", [row[0] for row in rows], pl.String)))
        self._hashes = pl.concat(parts).unique() if parts else pl.Series("key", [], pl.UInt64)
        return True

    def add(self, emails: list[str], external_ids: list[str]) -> None:
        """Keys the import wrote: emails (its contacts' and those it folded into other
        emails) and external ids. More than it wrote is harmless."""
        if self._hashes is None:
            return
        keys = pl.Series("key", [*emails, *(EXTERNAL_ID_PREFIX + x for x in external_ids)])
        self._hashes = pl.concat([self._hashes, _hashes(keys)]).unique()

    def may_have(self, values: list[str], *, external_ids: bool = False) -> list[str]:
        """The values whose hash is held: all of them when nothing is."""
        if self._hashes is None or not values:
            return values
        series = pl.Series("key", values, pl.String)
        keys = (EXTERNAL_ID_PREFIX + series) if external_ids else series
        return series.filter(_hashes_of(keys).is_in(self._hashes.implode())).to_list()


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _bind(chunk: list) -> object:
    if not _postgresql():
        return json.dumps(chunk)
    if chunk and isinstance(chunk[0], str):
        return text_array(chunk)
    return chunk


def text_array(values: list[str]) -> str:
    """PostgreSQL's literal of a text array, every element quoted, built in one vectorised
    pass: psycopg adapts a list of strings one by one in Python, about 1 s for the 100,000
    addresses of a chunk; the literal takes a few milliseconds. The server reads it as the
    array the statement expects (`= ANY(%s)`)."""
    quoted = pl.Series(values, dtype=pl.String).str.replace_all("\\", "\\\\", literal=True)
    quoted = quoted.str.replace_all('"', '\\"', literal=True)
    return "{" + ('"' + quoted + '"').str.join(",").item() + "}"


def _when(value) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _select(column: str, values: list | None) -> pl.DataFrame:
    """Full candidate rows of the contacts whose `column` is one of `values`; with None,
    of every contact the statement finds (it has no parameter)."""
    sql = SELECT_BY[connection.vendor, column]
    rows: dict[int, tuple] = {}
    with connection.cursor() as cursor:
        for chunk in [None] if values is None else chunks(sorted(set(values)), CHUNK):
            cursor.execute(sql, None if chunk is None else [_bind(chunk)])
            for row in cursor.fetchall():
                rows[row[0]] = (
                    *row[:9],
                    row[9] or "{}",
                    row[10],
                    row[11] or "[]",
                    _when(row[12]),
                    bool(row[13]),
                    bool(row[14]),
                    *row[15:18],  # source_import_id, lifecycle_stage, owner_id
                )
    return pl.DataFrame(list(rows.values()), schema=CANDIDATE_SCHEMA, orient="row")


def other_email_owners(emails: list[str]) -> pl.DataFrame:
    """email, id: the contact that has each of these addresses among its other emails (the
    lowest id when several have it); addresses no contact holds so are left out."""
    pairs: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in chunks(sorted(set(emails)), OTHER_EMAILS_CHUNK):
            cursor.execute(OTHER_EMAILS_BY[connection.vendor], [_bind(chunk)])
            pairs += cursor.fetchall()
    owners = pl.DataFrame(pairs, schema={"email": pl.String, "id": pl.Int64}, orient="row")
    return owners.sort("id").unique("email", keep="first", maintain_order=True)


def by_keys(*, emails: list[str], external_ids: list[str]) -> pl.DataFrame:
    """The contacts with one of these emails or external ids, and those that hold one of
    the emails no contact has as its email among their other emails."""
    by_email = _select("email", emails)
    others = set(emails).difference(by_email["email"].to_list())
    held = other_email_owners(list(others))["id"].unique().to_list()
    found = [by_email, _select("external_id", external_ids), by_ids(held)]
    return pl.concat(found).unique("id", maintain_order=True)


def by_phones(phones: list[str], *, without_email: bool = False) -> pl.DataFrame:
    """The contacts with one of these phones (as stored: E.164 when an import or form set
    it), only those without an email if asked: when they are fewer than the phones, all of
    them are read and the phones picked here."""
    if not without_email:
        return _select("phone", phones)
    if len(phones) > LOOKUP_AT_ONCE:
        with connection.cursor() as cursor:
            cursor.execute(EMAILLESS_PHONES_COUNT)
            emailless = cursor.fetchone()[0]
        if emailless == 0:
            return pl.DataFrame(schema=CANDIDATE_SCHEMA)
        if emailless <= len(phones):
            every = _select("every phone without email", None)
            return every.filter(pl.col("phone").is_in(pl.Series(phones, dtype=pl.String).implode()))
    return _select("phone without email", phones)


def by_ids(ids: list[int]) -> pl.DataFrame:
    return _select("id", ids)


def by_names(
    names: pl.DataFrame, *, without_email: bool = False, cap: int = MAX_NAME_BLOCK
) -> pl.DataFrame:
    """The contacts in the file's name blocks (only those without an email, if asked).

    `names` has last_name (as in the file), _last and _initial (match.block_keys), and may
    have first_name: a row without a last name asks for the contacts with that first name
    and no last name (a one-word name). The database is asked for the names as written and
    upper-cased, so "SMITH" and "Smith" both find a contact; the blocks themselves compare
    cleaned names (accents, case and punctuation dropped).
    """

    def spellings(column: str, rows: pl.DataFrame) -> list[str]:
        written = rows[column].drop_nulls().unique().to_list()
        return sorted({*written, *(n.upper() for n in written)})

    wanted = spellings("last_name", names)
    first_only = []
    if "first_name" in names.columns:
        first_only = spellings("first_name", names.filter(pl.col("last_name").is_null()))
    found: dict[int, tuple] = {}
    with connection.cursor() as cursor:
        if without_email and len(wanted) + len(first_only) > LOOKUP_AT_ONCE:
            cursor.execute(EMAILLESS_COUNT)
            if cursor.fetchone()[0] <= EMAILLESS_AT_ONCE:
                cursor.execute(EMAILLESS_NAMES)
                found = {row[0]: row for row in cursor.fetchall()}
                wanted = first_only = []  # the blocks below pick the file's blocks
        for sql, spelled in (
            (NAMES_BY[connection.vendor, without_email], wanted),
            (FIRST_NAMES_BY[connection.vendor, without_email], first_only),
        ):
            for chunk in chunks(spelled, CHUNK):
                cursor.execute(sql, [_bind(chunk), _bind(chunk)])
                for row in cursor.fetchall():
                    found[row[0]] = row
    if not found:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    light = pl.DataFrame(
        list(found.values()),
        schema={"id": pl.Int64, "first_name": pl.String, "last_name": pl.String},
        orient="row",
    )
    first, last = clean_text(pl.col("first_name")), clean_text(pl.col("last_name"))
    light = light.with_columns(last.alias("_last"), block_initial(first, last).alias("_initial"))
    blocks = names.select("_last", "_initial").unique()
    inside = light.join(blocks, on=["_last", "_initial"], how="semi", nulls_equal=True)
    # A block over the cap is not compared (match.NAME_TOO_COMMON): one row past the cap is
    # enough to tell, so a very common name does not load thousands of contacts.
    inside = inside.sort("id").filter(pl.int_range(pl.len()).over("_last", "_initial") <= cap)
    return by_ids(inside["id"].to_list())


class DatabaseLookup:
    """match.Lookup over the contacts table; with `known`, emails and external ids whose
    hash the table does not have are not asked for."""

    def __init__(self, known: KnownKeys | None = None) -> None:
        self.known = known

    def by_keys(self, *, emails: list[str], external_ids: list[str]) -> pl.DataFrame:
        if self.known is not None:
            emails = self.known.may_have(emails)
            external_ids = self.known.may_have(external_ids, external_ids=True)
        return by_keys(emails=emails, external_ids=external_ids)

    def by_phones(self, phones: list[str], *, without_email: bool = False) -> pl.DataFrame:
        return by_phones(phones, without_email=without_email)

    def by_names(self, names: pl.DataFrame, *, without_email: bool = False) -> pl.DataFrame:
        return by_names(names, without_email=without_email)
