"""Contact.search_text without the company's name: "email first_name last_name", lower-cased.

Why: a bulk import of a million contacts on PostgreSQL spent about a quarter of its COPY
into contacts keeping the trigram index contact_search_text_trgm, and the company's name
was a third of each contact's trigrams (51.4 a contact with it, 32.8 without). The name is
stored once, in contacts_company; the search (selectors.search_contacts) now matches it
there and asks for `company_id IN (ids)` beside the text. So:

- The contacts triggers compute the text from the contact's own columns, on both databases,
  and no longer fire on a change of company_id. The company rename triggers are dropped: a
  rename writes one company row, not every contact of the company.
- Every stored text is computed again, in one statement (every row changes: even a contact
  without a company loses the separator its empty company name left at the end).
- PostgreSQL: a trigram index on lower(contacts_company.name), company_name_lower_trgm, so
  that a search word's companies are an index search too (outside Django's state, as
  contact_search_text_trgm is, SQLite having no GIN). Companies are few and seldom written.
- PostgreSQL: the text is lower-cased under the database's default collation, as the
  search word is. Since 0016, email is COLLATE "C", which a concatenation with it inherits,
  and under "C" lower() folds ASCII letters only: the text held "Élodie" while the search
  looked for "élodie", and an accented capital made a contact unfindable by that word.
- 0017 holds: during an import's COPY (`SET LOCAL leadflow.search_text_given = on`) an
  INSERT's non-empty text is kept as given. That test is now the WHEN of the INSERT
  trigger, so the trigger function is not even called for those rows; a separate UPDATE
  trigger computes every update. COPYing 300,000 contacts with their texts into a table
  without indexes took 1.10 s with no trigger, 1.21 s with this one, 1.62 s with one
  whose function returns early, 1.87 s with 0017's (whose `SET enable_seqscan = off`, for
  its company look-up, cost a configuration change per call): medians of five.

On PostgreSQL the migration holds the contacts table in an ACCESS EXCLUSIVE lock (DROP
TRIGGER and the table's rewrite take one) while it runs: 23 s at 1,000,000 contacts on the
2-CPU development machine, ANALYZE included.

SQLite caveat (as in 0007): a later migration that remakes contacts_contact on SQLite drops
these triggers with the old table and must run create_triggers() from this module again
(not 0007's, whose triggers read the company); test_search.py fails if it does not. On
PostgreSQL, a migration that changes the type of email, first_name or last_name must drop
and make again the UPDATE trigger, which names them (as 0016 did).
"""

import importlib

from django.db import migrations

search_text = importlib.import_module("leadflow.contacts.migrations.0007_contact_search_text")
given_by_imports = importlib.import_module(
    "leadflow.contacts.migrations.0017_search_text_given_by_imports"
)

GIVEN_SETTING = given_by_imports.GIVEN_SETTING
WATCHED_COLUMNS = "email, first_name, last_name, search_text"


def search_text_sql(email: str, first_name: str, last_name: str, *, vendor: str) -> str:
    """The text, as SQL over its three parts, each coalesced (`||` with a NULL is NULL). On
    PostgreSQL under the default collation, whatever the parts' own (email's is "C")."""
    text = " || ' ' || ".join(f"coalesce({part}, '')" for part in (email, first_name, last_name))
    if vendor == "postgresql":
        text = f'({text}) COLLATE "default"'
    return f"lower({text})"


def of_row(row: str, *, vendor: str) -> str:
    """The text of contact row `row` (NEW, or a table name)."""
    return search_text_sql(f"{row}.email", f"{row}.first_name", f"{row}.last_name", vendor=vendor)


PG_TEXT = of_row("NEW", vendor="postgresql")
POSTGRESQL_CREATE = [
    f"""
    CREATE FUNCTION contacts_contact_search_text() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_text := {PG_TEXT};
        RETURN NEW;
    END
    $$
    """,
    # `IS NOT TRUE`: a row bringing a NULL text (which NOT NULL would refuse) or a session
    # without the setting (NULL) gets its text computed, like any other row.
    f"""
    CREATE TRIGGER contacts_contact_search_text_insert
    BEFORE INSERT ON contacts_contact
    FOR EACH ROW
    WHEN ((NEW.search_text <> '' AND current_setting('{GIVEN_SETTING}', true) = 'on') IS NOT TRUE)
    EXECUTE FUNCTION contacts_contact_search_text()
    """,
    f"""
    CREATE TRIGGER contacts_contact_search_text_update
    BEFORE UPDATE OF {WATCHED_COLUMNS} ON contacts_contact
    FOR EACH ROW EXECUTE FUNCTION contacts_contact_search_text()
    """,
    # They fire under `session_replication_role = replica` too, which imports use (0007).
    "ALTER TABLE contacts_contact ENABLE ALWAYS TRIGGER contacts_contact_search_text_insert",
    "ALTER TABLE contacts_contact ENABLE ALWAYS TRIGGER contacts_contact_search_text_update",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS contacts_contact_search_text_insert ON contacts_contact",
    "DROP TRIGGER IF EXISTS contacts_contact_search_text_update ON contacts_contact",
    "DROP FUNCTION IF EXISTS contacts_contact_search_text()",
]

# SQLite triggers cannot assign NEW: they UPDATE the row after the write, guarded by WHEN so
# they stop once the text is right (an import's rows bring the right one).
SQLITE_TEXT = of_row("NEW", vendor="sqlite")
SQLITE_CREATE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS contacts_contact_search_text_insert
    AFTER INSERT ON contacts_contact
    WHEN NEW.search_text IS NOT {SQLITE_TEXT}
    BEGIN
        UPDATE contacts_contact SET search_text = {SQLITE_TEXT} WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS contacts_contact_search_text_update
    AFTER UPDATE OF {WATCHED_COLUMNS} ON contacts_contact
    WHEN NEW.search_text IS NOT {SQLITE_TEXT}
    BEGIN
        UPDATE contacts_contact SET search_text = {SQLITE_TEXT} WHERE id = NEW.id;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS contacts_contact_search_text_update",
    "DROP TRIGGER IF EXISTS contacts_contact_search_text_insert",
]


# Every contact's text, in one statement, run while no search trigger exists (so none fires
# per row, and PostgreSQL may change the column, which no trigger's UPDATE OF names then).
# PostgreSQL: ALTER COLUMN ... TYPE text USING rewrites the table once and builds its
# indexes afresh. At 1,000,000 contacts (812 MB with their indexes) on the 2-CPU development
# machine it took 26-29 s and left them 605 MB; an UPDATE of every row took 64-77 s and left
# them 1,176 MB: a second version of each row, with an entry in each of the table's 17
# indexes, which a vacuum frees but does not give back. The table is locked either way.
POSTGRESQL_RECOMPUTE = (
    "ALTER TABLE contacts_contact ALTER COLUMN search_text TYPE text USING "
    + search_text_sql("email", "first_name", "last_name", vendor="postgresql")
)
SQLITE_RECOMPUTE = "UPDATE contacts_contact SET search_text = " + search_text_sql(
    "email", "first_name", "last_name", vendor="sqlite"
)

# 0017's texts, for the way back: 0007's expression over the table, company name and all,
# valid on both databases (on PostgreSQL it lower-cases as 0017's trigger did, under email's
# "C"). An UPDATE: a rewrite's USING may not hold the company's sub-select.
PREVIOUS_RECOMPUTE = search_text.SQLITE_BACKFILL

COMPANY_INDEX_CREATE = (
    "CREATE INDEX IF NOT EXISTS company_name_lower_trgm ON contacts_company "
    "USING gin (lower(name) gin_trgm_ops)"
)
COMPANY_INDEX_DROP = "DROP INDEX IF EXISTS company_name_lower_trgm"


def create_triggers(schema_editor) -> None:
    """The search_text triggers (and on PostgreSQL their function); safe to run again."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in POSTGRESQL_DROP + POSTGRESQL_CREATE:
            schema_editor.execute(sql)
    elif vendor == "sqlite":
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql)
    else:
        raise NotImplementedError(f"search_text triggers for {vendor}")


def drop_triggers(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in POSTGRESQL_DROP if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    # 0007's triggers, the company rename ones among them, and on PostgreSQL their
    # functions (0017's trigger function, 0007's contacts_contact_search_text_of).
    search_text.drop_triggers(schema_editor)
    recompute = POSTGRESQL_RECOMPUTE if vendor == "postgresql" else SQLITE_RECOMPUTE
    schema_editor.execute(recompute)
    create_triggers(schema_editor)
    if vendor == "postgresql":
        schema_editor.execute(COMPANY_INDEX_CREATE)
        # The texts' words changed: the planner's estimates for a search word come from
        # the column's statistics (0007), so gather them now, not when autovacuum does.
        schema_editor.execute("ANALYZE contacts_contact")
        schema_editor.execute("ANALYZE contacts_company")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    drop_triggers(schema_editor)
    if vendor == "postgresql":
        schema_editor.execute(COMPANY_INDEX_DROP)
    schema_editor.execute(PREVIOUS_RECOMPUTE)
    search_text.create_triggers(schema_editor)
    if vendor == "postgresql":
        schema_editor.execute(given_by_imports.TRIGGER_FUNCTION)
        schema_editor.execute("ANALYZE contacts_contact")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0017_search_text_given_by_imports")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
