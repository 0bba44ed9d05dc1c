"""Stage 6, load: the only stage that touches the database.

New contacts are built as frames whose columns are the table's (`contact_rows`), then
written in one go per chunk with their IMPORTED activities and first lifecycle stages
(`insert_contacts`): with `COPY` on PostgreSQL, ids taken from the table's sequence first;
with `executemany` of one INSERT on SQLite. Both write the same rows. Each row brings its
`search_text` where all of its parts are ASCII (`search_texts`), so that neither
database's trigger has to compute it; the triggers compute the others, as for any other
insert (contacts migration 0018, which keeps 0017's given texts). Matched contacts get
their empty fields filled (pipeline/update.py). The caller wraps all of it in one transaction, so a
failure leaves nothing half-written.

On PostgreSQL, when the database role may, the COPYs run without PostgreSQL's per-row
foreign-key triggers (`references_checked_once`): the references are checked and locked
once per distinct id instead of once per row, which is what those triggers would do
(a million new contacts queue some 11 million checks otherwise, 35-40 s at commit).
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from leadflow.acquisition.pipeline.batches import chunks
from leadflow.acquisition.pipeline.mapping import ATTR_PREFIX
from leadflow.acquisition.pipeline.match import LEGAL_FORM_WORDS, OTHER_EMAILS, company_key
from leadflow.acquisition.pipeline.read import LINE
from leadflow.contacts.bulk import next_ids
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    ConsentState,
    Contact,
    LifecycleStage,
    Spend,
    StageChange,
    Vendor,
)

BATCH_SIZE = 1000
# A campaign named without a channel needs one: bought lists land here.
DEFAULT_CAMPAIGN_CHANNEL = "Imported lists"

Progress = Callable[[int], None]


def _as_of(frame: pl.DataFrame, naive_now: datetime) -> pl.Expr:
    now = pl.lit(naive_now, dtype=pl.Datetime("us"))
    if "updated_at" not in frame.columns:
        return now
    return pl.min_horizontal(pl.col("updated_at").cast(pl.Datetime("us")), now)


def ensure_channels(names: set[str]) -> tuple[dict[str, Channel], list[str]]:
    """Channels by name, the missing ones created; returns them and the names created."""
    found = {c.name.casefold(): c for c in Channel.objects.filter(name__in=names)}
    # Case-insensitively, so "Webinar" in the file finds the channel "webinar".
    lowered = {n.casefold() for n in names} - set(found)
    for channel in Channel.objects.annotate(u=Upper("name")).filter(
        u__in=[n.upper() for n in lowered]
    ):
        found[channel.name.casefold()] = channel
    created = []
    for name in sorted(names, key=str.casefold):
        if name.casefold() not in found:
            found[name.casefold()] = Channel.objects.create(name=name, kind=ChannelKind.OTHER)
            created.append(name)
    return found, created


def ensure_campaigns(
    pairs: set[tuple[str, str | None]], default_channel: Channel | None
) -> tuple[dict[str, Campaign], list[str], list[str]]:
    """Campaigns by name (created under their row's channel, or the default one).

    Returns the campaigns, the campaign names created and the channel names created.
    """
    names = {name for name, _ in pairs}
    found = {
        c.name.casefold(): c
        for c in Campaign.objects.annotate(u=Upper("name")).filter(u__in=[n.upper() for n in names])
    }
    created, channels_created = [], []
    for name, channel_name in sorted(pairs, key=lambda p: (p[0].casefold(), p[1] or "")):
        if name.casefold() in found:
            continue
        channel = default_channel
        if channel_name:
            by_name, made = ensure_channels({channel_name})
            channel, channels_created = by_name[channel_name.casefold()], channels_created + made
        if channel is None:
            channel, made = Channel.objects.get_or_create(
                name=DEFAULT_CAMPAIGN_CHANNEL, defaults={"kind": ChannelKind.BOUGHT_LIST}
            )
            if made:
                channels_created.append(DEFAULT_CAMPAIGN_CHANNEL)
        found[name.casefold()] = Campaign.objects.create(name=name, channel=channel)
        created.append(name)
    return found, created, channels_created


def _words(name: str) -> list[str]:
    """Casefolded words; dots dropped first, so that "S.A." is the form SA."""
    return re.sub(r"[^\w]+", " ", name.casefold().replace(".", "")).split()


def without_legal_form(name: str) -> str:
    """A company name upper-cased, without punctuation and legal form: "Acme, Inc." is
    "ACME" (accents kept, to find a stored name by its upper-cased spelling)."""
    words = _words(name)
    kept = [w for w in words if w not in LEGAL_FORM_WORDS]
    return " ".join(kept or words).upper()


def legal_form(name: str) -> str:
    """The legal-form words of a company name, normalised: "ACME, INC." gives "INC" ("The"
    is dropped with the forms, but is not one)."""
    words = _words(name)
    return " ".join(w for w in words if w in LEGAL_FORM_WORDS and w != "the").upper()


def _company_keys(names: list[str]) -> dict[str, str]:
    """match.company_key of each name (the name itself where nothing is left of it)."""
    keys = pl.DataFrame({"name": names}, schema={"name": pl.String}).select(
        pl.coalesce(company_key(pl.col("name")), pl.col("name"))
    )
    return dict(zip(names, keys.to_series(), strict=True))


def _one_company_each(uppers: list[str]) -> list[list[str]]:
    """The spellings of one company key grouped by legal form: "ACME INC" and "ACME INC."
    are one company, "ACME LTD" another. A name without a form joins the one form there
    is; beside two forms it cannot tell which, and stays a company of its own."""
    by_form: dict[str, list[str]] = {}
    for upper in uppers:
        by_form.setdefault(legal_form(upper), []).append(upper)
    plain = by_form.pop("", [])
    if len(by_form) == 1:
        return [plain + next(iter(by_form.values()))]
    return [group for group in (plain, *by_form.values()) if group]


def _by_upper_name(uppers: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(uppers):
        found = Company.objects.annotate(u=Upper("name")).filter(u__in=chunk)
        for pk, upper in found.order_by("pk").values_list("pk", "u"):
            ids.setdefault(upper, pk)
    return ids


# Stored companies read whole to find a name by its key; above this many, only the exact
# and the without-the-form look-ups run (a key column would be needed).
STORED_COMPANIES_AT_ONCE = 200_000


class StoredCompanyKeys:
    """The stored companies by `match.company_key`, (id, legal form) each, oldest first:
    read once for an import (at most STORED_COMPANIES_AT_ONCE of them), then kept up to date
    with the companies it creates, so a chunk does not read them all again."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[tuple[int, str]]] | None = None
        self._too_many = False

    def of(self, keys: set[str]) -> dict[str, list[tuple[int, str]]] | None:
        """The stored companies of these keys; None when there are too many to read."""
        if self._too_many or not keys:
            return None if self._too_many else {}
        if self._by_key is None:
            if Company.objects.count() > STORED_COMPANIES_AT_ONCE:
                self._too_many = True
                return None
            self._by_key = {}
            stored = list(Company.objects.order_by("pk").values_list("pk", "name"))
            names = [name for _, name in stored]
            for (pk, name), key in zip(stored, _company_keys(names).values(), strict=True):
                self._by_key.setdefault(key, []).append((pk, legal_form(name)))
        return {key: self._by_key[key] for key in keys if key in self._by_key}

    def add(self, companies: list[Company]) -> None:
        """Companies just created (keyed in one pass: a frame per name costs more than
        the whole list)."""
        if self._by_key is None or not companies:
            return
        keys = _company_keys([company.name for company in companies])
        for company in companies:
            entry = (company.pk, legal_form(company.name))
            self._by_key.setdefault(keys[company.name], []).append(entry)


def _stored_company(form: str, stored: list[tuple[int, str]]) -> int | None:
    """The stored company a name of that legal form is, among those of its key: the one of
    the same form; else, for a name without a form, the one company form there is; else,
    for a name with a form, the stored one without. Two forms and none the same: none."""
    same = [pk for pk, f in stored if f == form]
    if same:
        return same[0]
    forms = {f for _, f in stored}
    if not form and len(forms) == 1:
        return stored[0][0]
    plain = [pk for pk, f in stored if not f]
    return plain[0] if form and plain else None


def find_companies(uppers: list[str], stored: StoredCompanyKeys | None = None) -> dict[str, int]:
    """The stored company of each upper-cased name that has one (see ensure_companies):
    by name in any case, else by key and legal form (`_stored_company`), else, with too
    many companies to read, by the name without its form. `stored` keeps the companies'
    keys from one call to the next."""
    ids = _by_upper_name(uppers)
    missing = sorted(u for u in uppers if u not in ids)
    keys = _company_keys(missing)
    stored = (stored or StoredCompanyKeys()).of(set(keys.values()))
    if stored is None:  # too many to read: the stored name without its form, at least
        plain_names = {u: without_legal_form(u) for u in missing}
        plain = _by_upper_name(sorted({p for u, p in plain_names.items() if p != u}))
        ids.update({u: plain[p] for u, p in plain_names.items() if p in plain})
        return ids
    for upper, key in keys.items():
        pk = _stored_company(legal_form(upper), stored[key]) if key in stored else None
        if pk is not None:
            ids[upper] = pk
    return ids


def ensure_companies(
    names: set[str], stored: StoredCompanyKeys | None = None
) -> tuple[dict[str, int], int]:
    """Company ids by upper-cased name, the missing companies created; and how many were.

    A name is the company of that name (any case); failing that, the company named without
    its legal form ("Acme Inc." is the "Acme" we have); failing that, the names of the list
    that differ only by legal form become one new company ("Acme" and "ACME Inc" are
    "Acme"; "Société Acme" and "Societe Acme" too, by `match.company_key`), one company per
    legal form ("Acme Inc" and "ACME Inc." are one, "Acme Ltd" another). The stored
    companies are compared by that key too (`_stored_company`), so "Acme Inc" finds "Acme
    Inc.", "Acme" finds the one "Acme Inc." we have, "Societe Acme" finds "Société Acme";
    up to STORED_COMPANIES_AT_ONCE stored companies, beyond which only the look-ups by name
    and without the form run. `stored` (one per import) keeps the keys between calls.
    """
    wanted = {n.upper(): n for n in names}
    ids = find_companies(list(wanted), stored)
    by_key: dict[str, list[str]] = {}
    for upper, key in _company_keys(sorted(u for u in wanted if u not in ids)).items():
        by_key.setdefault(key, []).append(upper)
    new: list[tuple[list[str], Company]] = []
    for uppers in by_key.values():
        for group in _one_company_each(uppers):
            # named without the form when the list has that spelling, so that a later
            # "Acme Ltd." finds it too
            named = min(group, key=lambda u: (legal_form(u) != "", len(u), u))
            new.append((group, Company(name=wanted[named])))
    Company.objects.bulk_create([company for _, company in new], batch_size=BATCH_SIZE)
    for uppers, company in new:
        ids.update(dict.fromkeys(uppers, company.pk))
    if stored is not None:
        stored.add([company for _, company in new])
    return ids, len(new)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# Columns written for a new contact, in the order of `contact_rows`. Everything without a
# database default is given, so PostgreSQL's COPY and SQLite's INSERT write the same row
# that Contact(...).save() would.
CONTACT_COLUMNS = (
    "id", "email", "other_emails", "first_name", "last_name", "phone", "job_title",
    "country", "lifecycle_stage", "score", "consent", "attributes", "external_id",
    "created_at", "updated_at", "company_id", "first_touch_campaign_id",
    "first_touch_channel_id", "last_touch_campaign_id", "last_touch_channel_id",
    "source_vendor_id", "source_import_id", "search_text",
)  # fmt: skip
# Set by the email-flag stage when it ran; otherwise the database default (false) holds.
OPTIONAL_CONTACT_COLUMNS = ("email_is_role", "email_is_disposable", "owner_id")
ACTIVITY_COLUMNS = ("contact_id", "kind", "occurred_at", "channel_id", "campaign_id", "data")
STAGE_CHANGE_COLUMNS = ("contact_id", "from_stage", "to_stage", "changed_at", "source", "reason")
TEXT_DEFAULTS = ("first_name", "last_name", "phone", "job_title", "country")
# Both databases keep timestamps as UTC; SQLite as text the way Django writes it.
PG_TIMESTAMP = "%Y-%m-%d %H:%M:%S%.6f+00"
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S%.6f"
SQLITE_SECONDS = "%Y-%m-%d %H:%M:%S"


# For the length of a COPY, PostgreSQL's search trigger keeps the non-empty texts the rows
# bring (contacts migrations 0017 and 0018); SET LOCAL: the setting ends with the
# transaction at most.
SEARCH_TEXT_GIVEN = "SET LOCAL leadflow.search_text_given = on"
SEARCH_TEXT_COMPUTED = "SET LOCAL leadflow.search_text_given = off"
NON_ASCII = r"[^\x00-\x7f]"


def search_texts(rows: pl.DataFrame, company_names: dict[int, str]) -> pl.Series:
    """Each new contact's `search_text` as the database's triggers write it: "email first
    last company", lower-cased (contacts migration 0007's search_text_sql). Empty where
    any part is not ASCII: Python's lower-casing and the database's agree on ASCII only,
    and the trigger computes those rows itself."""
    company = rows["company_id"].replace_strict(company_names, default=None, return_dtype=pl.String)
    parts = [pl.col(c).fill_null("") for c in ("email", "first_name", "last_name")]
    text = pl.concat_str([*parts, company.fill_null("")], separator=" ")
    text = pl.when(text.str.contains(NON_ASCII)).then(pl.lit("")).otherwise(text.str.to_lowercase())
    return rows.select(text.alias("search_text")).to_series()


def company_names(ids: list[int]) -> dict[int, str]:
    """The stored names of these companies, as the search trigger reads them."""
    names: dict[int, str] = {}
    for chunk in chunks(sorted(ids)):
        names.update(Company.objects.filter(pk__in=chunk).values_list("pk", "name"))
    return names


def _ids_for(values: pl.Series, ids: dict[str, int | None], key) -> pl.Series:
    """An id per row from a name -> id dict, looked up once per distinct value with `key`
    (str.casefold, str.upper: exactly as the dict was built, in Python)."""
    distinct = values.drop_nulls().unique().to_list()
    found = {value: ids.get(key(value)) for value in distinct}
    return values.replace_strict(found, default=None, return_dtype=pl.Int64)


def _attributes_json(frame: pl.DataFrame) -> pl.Expr:
    """The row's `attr.*` cells as a JSON object without the empty ones (`row_attributes`)."""
    members = []
    for column in frame.columns:
        if not column.startswith(ATTR_PREFIX):
            continue
        key = column.removeprefix(ATTR_PREFIX)
        # A one-field struct encodes as {"key":"value"}; its inside is the JSON member.
        member = pl.struct(pl.col(column).alias(key)).struct.json_encode().str.slice(1)
        member = member.str.slice(0, member.str.len_chars() - 1)
        members.append(pl.when(pl.col(column).fill_null("") != "").then(member))
    if not members:
        return pl.lit("{}")
    inside = pl.concat_list(members).list.drop_nulls().list.join(",")
    return pl.concat_str(pl.lit("{"), inside, pl.lit("}"))


def _other_emails_json(frame: pl.DataFrame) -> pl.Expr:
    """The emails of the in-file duplicates folded into a row (match.OTHER_EMAILS), as JSON."""
    if OTHER_EMAILS not in frame.columns:
        return pl.lit("[]")
    emails = pl.col(OTHER_EMAILS).fill_null(pl.lit([], dtype=pl.List(pl.String)))
    return pl.struct(emails.alias("e")).struct.json_encode().str.slice(5).str.head(-1)


def _stage(frame: pl.DataFrame) -> pl.Expr:
    """The row's stage (pipeline/funnel.py), else lead."""
    lead = pl.lit(LifecycleStage.LEAD.value)
    if "lifecycle_stage" not in frame.columns:
        return lead
    return pl.coalesce(pl.col("lifecycle_stage").cast(pl.String), lead)


def contact_rows(
    frame: pl.DataFrame,
    *,
    job_id: int,
    vendor: Vendor | None,
    channels: dict[str, Channel],
    campaigns: dict[str, Campaign],
    default_channel: Channel | None,
    default_campaign: Campaign | None,
    company_ids: dict[str, int],
    now: datetime,
) -> pl.DataFrame:
    """New contacts as the table's columns (without ids) plus LINE, one row per file row.

    A row's channel is the one it names, else the default one, else its campaign's; its
    campaign the one it names, else the default one (first and last touch alike).
    """
    channel_ids = {name: c.pk for name, c in channels.items()}
    campaign_ids = {name: c.pk for name, c in campaigns.items()}
    campaign_channels = {c.pk: c.channel_id for c in campaigns.values()}
    if default_campaign is not None:
        campaign_channels[default_campaign.pk] = default_campaign.channel_id
    campaign = pl.coalesce(
        _ids_for(frame["campaign"], campaign_ids, str.casefold),
        pl.lit(default_campaign.pk if default_campaign else None, dtype=pl.Int64),
    )
    channel = pl.coalesce(
        _ids_for(frame["channel"], channel_ids, str.casefold),
        pl.lit(default_channel.pk if default_channel else None, dtype=pl.Int64),
        campaign.replace_strict(campaign_channels, default=None, return_dtype=pl.Int64),
    )
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    columns = [
        pl.col("email"),
        _other_emails_json(frame).alias("other_emails"),
        *[pl.col(c).fill_null("") for c in TEXT_DEFAULTS[:4]],
        pl.col("country").fill_null(""),
        _stage(frame).alias("lifecycle_stage"),
        pl.lit(0).alias("score"),
        pl.lit(ConsentState.UNKNOWN.value).alias("consent"),
        _attributes_json(frame).alias("attributes"),
        pl.col("external_id"),
        # A date from the old system is kept; a row without one was created now.
        pl.col("created_at").cast(pl.Datetime("us")).fill_null(naive_now).alias("created_at"),
        # As of the old system's last change, when the row says (never later than now), so
        # a later list dated after it wins a merge (match.plan_changes); else now.
        _as_of(frame, naive_now).alias("updated_at"),
        _ids_for(frame["company"], company_ids, str.upper).alias("company_id"),
        campaign.alias("first_touch_campaign_id"),
        channel.alias("first_touch_channel_id"),
        campaign.alias("last_touch_campaign_id"),
        channel.alias("last_touch_channel_id"),
        pl.lit(vendor.pk if vendor else None, dtype=pl.Int64).alias("source_vendor_id"),
        pl.lit(job_id, dtype=pl.Int64).alias("source_import_id"),
        *[pl.col(c) for c in OPTIONAL_CONTACT_COLUMNS if c in frame.columns],
        pl.col(LINE),
    ]
    return frame.select(columns)


def insert_contacts(
    frame: pl.DataFrame,
    *,
    job_id: int,
    file_name: str,
    vendor: Vendor | None,
    channels: dict[str, Channel],
    campaigns: dict[str, Campaign],
    default_channel: Channel | None,
    default_campaign: Campaign | None,
    company_ids: dict[str, int],
    progress: Progress | None = None,
) -> int:
    """New contacts, each with its IMPORTED activity and first stage; returns how many."""
    if frame.is_empty():
        return 0
    now = timezone.now()
    rows = contact_rows(
        frame,
        job_id=job_id,
        vendor=vendor,
        channels=channels,
        campaigns=campaigns,
        default_channel=default_channel,
        default_campaign=default_campaign,
        company_ids=company_ids,
        now=now,
    )
    names = company_names(rows["company_id"].drop_nulls().unique().to_list())
    rows = rows.with_columns(search_texts(rows, names))
    occurred_at = pl.lit(now.astimezone(UTC).replace(tzinfo=None), dtype=pl.Datetime("us"))
    # The same document Activity.data held when each activity was saved one by one.
    data = pl.concat_str(
        pl.lit(f'{{"import_job": {job_id}, "file": {json.dumps(file_name)}, "line": '),
        pl.col(LINE).cast(pl.String),
        pl.lit(f', "vendor": {json.dumps(vendor.name if vendor else None)}}}'),
    )
    reason = f"Imported from {file_name} (import #{job_id})"
    with connection.cursor() as cursor, references_checked_once(cursor, rows):
        written = _contacts_written(cursor, rows)
        if written is not None:
            _write_history(cursor, written, occurred_at, data, reason)
    if written is None:  # raised out of the block, which puts the per-row checks back
        raise KeysTaken
    rows = written
    if progress:
        progress(rows.height)
    return rows.height


class KeysTaken(Exception):  # noqa: N818 (a state, not a failure: the chunk is asked again)
    """The new contacts' write met an email or external id the table has, which the
    chunk's look-up did not find (lookup.KnownKeys: another writer added it meanwhile).
    Nothing of the write is left; the caller looks the chunk up in full and loads again."""


# The unique indexes a new contact's keys meet (contacts models).
KEY_CONSTRAINTS = ("contacts_contact_email_key", "contact_external_id_unique")
SQLITE_KEY_CONFLICTS = (
    "UNIQUE constraint failed: contacts_contact.email",
    "UNIQUE constraint failed: contacts_contact.external_id",
)


def _key_taken(error: Exception) -> bool:
    """Whether an insert failed on one of KEY_CONSTRAINTS (the error is Django's or, from
    a COPY, the driver's own)."""
    for cause in (error, error.__cause__):
        constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
        if constraint in KEY_CONSTRAINTS or str(cause) in SQLITE_KEY_CONFLICTS:
            return True
    return False


def _contacts_written(cursor, rows: pl.DataFrame) -> pl.DataFrame | None:
    """The contacts written (with their ids), in a savepoint; None, with nothing written,
    when one of their emails or external ids is taken."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                return _insert_postgresql(cursor, rows)
            return _insert_sqlite(cursor, rows)
    except (IntegrityError, connection.Database.IntegrityError) as error:
        if _key_taken(error):
            return None
        raise


def _write_history(
    cursor, rows: pl.DataFrame, occurred_at: pl.Expr, data: pl.Expr, reason: str
) -> None:
    """Each new contact's IMPORTED activity and first stage change."""
    activities = rows.select(
        pl.col("id").alias("contact_id"),
        pl.lit(ActivityKind.IMPORTED.value).alias("kind"),
        occurred_at.alias("occurred_at"),
        pl.col("first_touch_channel_id").alias("channel_id"),
        pl.col("first_touch_campaign_id").alias("campaign_id"),
        data.alias("data"),
    )
    stages = rows.select(
        pl.col("id").alias("contact_id"),
        pl.lit("").alias("from_stage"),
        pl.col("lifecycle_stage").alias("to_stage"),
        pl.col("created_at").alias("changed_at"),
        pl.lit("import").alias("source"),
        pl.lit(reason).alias("reason"),
    )
    for model, table in ((Activity, activities), (StageChange, stages)):
        if connection.vendor == "postgresql":
            _copy(cursor, model._meta.db_table, table)
        else:
            _executemany(cursor, model._meta.db_table, table)


# What a new contact, its IMPORTED activity and its first stage change point at, besides
# each other: (column of the contact rows, table). The activity's channel and campaign are
# the contact's first touch; a contact's owner is set when the list names one.
CONTACT_REFERENCES = (
    ("company_id", "contacts_company"),
    ("first_touch_channel_id", "contacts_channel"),
    ("last_touch_channel_id", "contacts_channel"),
    ("first_touch_campaign_id", "contacts_campaign"),
    ("last_touch_campaign_id", "contacts_campaign"),
    ("source_vendor_id", "contacts_vendor"),
    ("owner_id", "accounts_user"),  # only when the list names owners
)
# Locks the rows a reference points at, as a foreign-key check does (FOR KEY SHARE: they
# cannot be deleted, nor their id changed, until this transaction ends), and counts them.
LOCK_REFERENCED_SQL = {
    table: f"SELECT count(*) FROM (SELECT id FROM {table} WHERE id = ANY(%s) FOR KEY SHARE) AS r"  # noqa: S608 (table names are this module's constants)
    for table in {table for _, table in CONTACT_REFERENCES}
}
ROW_TRIGGERS_OFF = "SET LOCAL session_replication_role = replica"
ROW_TRIGGERS_ON = "SET LOCAL session_replication_role = origin"


@contextmanager
def references_checked_once(cursor, rows: pl.DataFrame) -> Iterator[bool]:
    """Inside: on PostgreSQL, if this role may, no per-row foreign-key checks; yields
    whether they are off.

    Every row the new contacts point at (CONTACT_REFERENCES) is first locked and counted
    once per distinct id; a missing one raises IntegrityError, as the check would have
    at commit. The contacts' own activities and stage changes point at contacts this
    transaction is writing, which no one else can see, let alone delete. Turning the
    triggers off (`session_replication_role = replica`) needs a superuser or, from
    PostgreSQL 15, `GRANT SET ON PARAMETER session_replication_role`; without it the
    usual checks run. Triggers marked ENABLE ALWAYS (the search_text ones) still fire.
    An error inside leaves the setting on until the transaction ends, which it must: the
    import rolls back whole.
    """
    if connection.vendor != "postgresql":
        yield False
        return
    for column, table in CONTACT_REFERENCES:
        if column not in rows.columns:
            continue
        ids = rows[column].drop_nulls().unique().to_list()
        if not ids:
            continue
        cursor.execute(LOCK_REFERENCED_SQL[table], [ids])
        (found,) = cursor.fetchone()
        if found != len(ids):
            raise IntegrityError(
                f"{column}: {len(ids) - found} of the rows it points at in {table} "
                "no longer exist (deleted while the import ran?)"
            )
    if not _row_triggers_turned_off(cursor):
        yield False
        return
    yield True
    cursor.execute(ROW_TRIGGERS_ON)


def _row_triggers_turned_off(cursor) -> bool:
    try:
        with transaction.atomic():  # a savepoint: a refusal must not abort the import
            cursor.execute(ROW_TRIGGERS_OFF)
    except DatabaseError:  # permission denied to set parameter
        return False
    return True


def _insert_postgresql(cursor, rows: pl.DataFrame) -> pl.DataFrame:
    """COPY the contacts, with ids drawn from the table's sequence beforehand.

    Rows go in sorted by email, so the email indexes fill page by page instead of at
    random; the ids still follow the file's order.
    """
    meta = Contact._meta
    ids = next_ids(cursor, meta.db_table, meta.pk.column, rows.height)
    ids = pl.Series("id", ids, dtype=pl.Int64).sort()
    rows = rows.with_columns(ids)
    columns = [c for c in (*CONTACT_COLUMNS, *OPTIONAL_CONTACT_COLUMNS) if c in rows.columns]
    cursor.execute(SEARCH_TEXT_GIVEN)
    _copy(cursor, Contact._meta.db_table, rows.select(columns).sort("email", nulls_last=True))
    cursor.execute(SEARCH_TEXT_COMPUTED)
    return rows


def _copy(cursor, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame whose columns are the table's. In CSV, an empty string is written
    quoted ("") and a null as nothing, which is how COPY tells them apart."""
    columns = ", ".join(frame.columns)
    text = frame.write_csv(include_header=False, datetime_format=PG_TIMESTAMP)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(text)


def _insert_sqlite(cursor, rows: pl.DataFrame) -> pl.DataFrame:
    """INSERT the contacts with executemany and read back the ids they were given.

    The first insert takes SQLite's write lock, which this transaction keeps until it ends,
    and AUTOINCREMENT hands out ids one above the highest: the rows get consecutive ids,
    in the order they were inserted, ending at last_insert_rowid().
    """
    columns = [c for c in (*CONTACT_COLUMNS, *OPTIONAL_CONTACT_COLUMNS) if c in rows.columns]
    _executemany(cursor, Contact._meta.db_table, rows.select(columns))
    cursor.execute("SELECT last_insert_rowid()")
    (last,) = cursor.fetchone()
    first = last - rows.height + 1
    cursor.execute(
        "SELECT count(*) FROM contacts_contact WHERE id BETWEEN %s AND %s "
        "AND source_import_id = %s",
        [first, last, rows["source_import_id"][0]],
    )
    if cursor.fetchone()[0] != rows.height:  # another writer got in between: never expected
        raise RuntimeError("The new contacts did not get consecutive ids; run the import again.")
    return rows.with_columns(pl.int_range(first, last + 1, dtype=pl.Int64).alias("id"))


def _executemany(cursor, table: str, frame: pl.DataFrame) -> None:
    frame = frame.with_columns(
        # As Django writes them (str() of a naive UTC datetime): no fraction when it is zero.
        pl.when(pl.col(c).dt.microsecond() == 0)
        .then(pl.col(c).dt.strftime(SQLITE_SECONDS))
        .otherwise(pl.col(c).dt.strftime(SQLITE_TIMESTAMP))
        for c, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )
    marks = ", ".join(["%s"] * frame.width)
    # Table and column names come from this module's constants; every value is bound.
    sql = f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({marks})"  # noqa: S608
    cursor.executemany(sql, frame.iter_rows(buffer_size=1000))  # no list of 100k tuples


def record_list_cost(
    *,
    amount: Decimal,
    currency: str,
    vendor: Vendor | None,
    campaign: Campaign | None,
    note: str,
) -> Spend:
    return Spend.objects.create(
        spent_on=date.today(),
        amount=amount,
        currency=currency,
        vendor=vendor,
        campaign=campaign,
        note=note[:200],
    )
