# Contact.search_text: what the contacts list's search matches (issue 3, docs/benchmarks.md).
#
# One lower-cased column, "email first_name last_name company name", instead of four
# columns ORed together: a search word is then one `search_text LIKE '%word%'`, which one
# trigram GIN index serves on PostgreSQL (contact_search_text_trgm, made here).
#
# The database keeps it right, not Django, so every write path does: services, the admin,
# bulk_create, raw SQL and COPY imports.
# - PostgreSQL: a BEFORE INSERT OR UPDATE trigger on contacts sets it; an AFTER UPDATE OF
#   name trigger on companies rewrites the text of the company's contacts. Both are ENABLE
#   ALWAYS, so they also fire under `session_replication_role = replica`, which bulk loads
#   use to skip foreign-key checks (bench/contacts_list.py does).
# - SQLite: AFTER INSERT / AFTER UPDATE triggers that UPDATE the row (SQLite triggers cannot
#   assign NEW), guarded by WHEN so they stop once the text is right.
# The contacts trigger fires on updates of email, the names, company_id and search_text
# itself (so a stale value Django writes back with save() is replaced), not on other
# columns: a score or stage update does not pay for it. The column's database default ''
# lets an INSERT that does not name it (a COPY import) pass NOT NULL on SQLite, where the
# trigger runs after the insert.
#
# Migration 0004's four per-column trigram indexes (UPPER(email), UPPER(first_name),
# UPPER(last_name), UPPER(company name)) served the old search (and the admin's contact
# search, which should go through search_contacts); they are dropped here, before the
# backfill, so it does not rebuild them; the reverse builds them again.
#
# Existing rows are filled set-based before the triggers exist (see POSTGRESQL_BACKFILL).
# On PostgreSQL the whole migration is one transaction holding the contacts table (ADD
# COLUMN takes an ACCESS EXCLUSIVE lock): at 1,000,000 contacts it took 81 s on the loaded
# 2-CPU benchmark machine, plus about 15 s for ANALYZE at the statistics target set here,
# during which the contacts pages wait. Run it when that is acceptable.
#
# SQLite caveat: a later migration that remakes contacts_contact or contacts_company on
# SQLite (most AlterField/RemoveField do: Django copies the table and drops the old one)
# drops these triggers with the old table. Such a migration must run create_triggers()
# from this module again; leadflow/contacts/tests/test_search.py fails if it does not.

from django.db import migrations, models


# The text, as SQL over the four parts. Every part is coalesced: `||` with a NULL is NULL
# on both databases. lower() is the database's own on both sides of a search
# (search_contacts lowers the word with the same function).
def search_text_sql(email: str, first_name: str, last_name: str, company_name: str) -> str:
    return (
        f"lower(coalesce({email}, '') || ' ' || coalesce({first_name}, '') || ' ' "
        f"|| coalesce({last_name}, '') || ' ' || coalesce({company_name}, ''))"
    )


def company_name_of(company_id: str) -> str:
    return f"(SELECT co.name FROM contacts_company AS co WHERE co.id = {company_id})"


def of_row(row: str, company_name: str | None = None) -> str:
    """The text of contact row `row` (NEW, or a table name), with its company's name
    looked up unless given."""
    return search_text_sql(
        f"{row}.email",
        f"{row}.first_name",
        f"{row}.last_name",
        company_name or company_name_of(f"{row}.company_id"),
    )


WATCHED_COLUMNS = "email, first_name, last_name, company_id, search_text"

POSTGRESQL_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # The one definition on PostgreSQL: the contacts trigger and the backfill call it.
    f"""
    CREATE OR REPLACE FUNCTION contacts_contact_search_text_of(
        p_email text, p_first_name text, p_last_name text, p_company_id bigint
    ) RETURNS text LANGUAGE sql STABLE AS $$
        SELECT {
        search_text_sql("p_email", "p_first_name", "p_last_name", company_name_of("p_company_id"))
    }
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION contacts_contact_search_text() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_text := contacts_contact_search_text_of(
            NEW.email, NEW.first_name, NEW.last_name, NEW.company_id);
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE TRIGGER contacts_contact_search_text
    BEFORE INSERT OR UPDATE OF {WATCHED_COLUMNS} ON contacts_contact
    FOR EACH ROW EXECUTE FUNCTION contacts_contact_search_text()
    """,
    "ALTER TABLE contacts_contact ENABLE ALWAYS TRIGGER contacts_contact_search_text",
    # Writing search_text fires the contacts trigger too, which reads the new name.
    f"""
    CREATE OR REPLACE FUNCTION contacts_company_search_text() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE contacts_contact AS c SET search_text = {of_row("c", "NEW.name")}
        WHERE c.company_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER contacts_company_search_text
    AFTER UPDATE OF name ON contacts_company
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION contacts_company_search_text()
    """,
    "ALTER TABLE contacts_company ENABLE ALWAYS TRIGGER contacts_company_search_text",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS contacts_company_search_text ON contacts_company",
    "DROP FUNCTION IF EXISTS contacts_company_search_text()",
    "DROP TRIGGER IF EXISTS contacts_contact_search_text ON contacts_contact",
    "DROP FUNCTION IF EXISTS contacts_contact_search_text()",
    "DROP FUNCTION IF EXISTS contacts_contact_search_text_of(text, text, text, bigint)",
]

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS contacts_contact_search_text_insert
    AFTER INSERT ON contacts_contact
    WHEN NEW.search_text IS NOT {of_row("NEW")}
    BEGIN
        UPDATE contacts_contact
        SET search_text = {of_row("NEW")}
        WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS contacts_contact_search_text_update
    AFTER UPDATE OF {WATCHED_COLUMNS} ON contacts_contact
    WHEN NEW.search_text IS NOT {of_row("NEW")}
    BEGIN
        UPDATE contacts_contact
        SET search_text = {of_row("NEW")}
        WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS contacts_company_search_text
    AFTER UPDATE OF name ON contacts_company
    WHEN OLD.name IS NOT NEW.name
    BEGIN
        UPDATE contacts_contact
        SET search_text = {of_row("contacts_contact", "NEW.name")}
        WHERE company_id = NEW.id;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS contacts_company_search_text",
    "DROP TRIGGER IF EXISTS contacts_contact_search_text_update",
    "DROP TRIGGER IF EXISTS contacts_contact_search_text_insert",
]

# Existing rows, set-based, before the triggers exist (so no trigger runs per row).
# PostgreSQL: ALTER COLUMN ... TYPE text USING rewrites the table once and rebuilds its
# indexes in bulk. An UPDATE of every row instead writes a second version of each row and
# inserts it into each of the table's indexes one by one: at 1,000,000 contacts on the
# benchmark machine it had not finished after 8.5 minutes (this rewrite: about a minute).
POSTGRESQL_BACKFILL = (
    "ALTER TABLE contacts_contact ALTER COLUMN search_text TYPE text USING "
    "contacts_contact_search_text_of(email, first_name, last_name, company_id)"
)
# SQLite: one UPDATE; the company name by a correlated subquery (contacts without a
# company keep their row, as a LEFT JOIN would; UPDATE ... FROM needs SQLite 3.33).
SQLITE_BACKFILL = f"UPDATE contacts_contact SET search_text = {of_row('contacts_contact')}"

INDEX_CREATE = (
    "CREATE INDEX IF NOT EXISTS contact_search_text_trgm ON contacts_contact "
    "USING gin (search_text gin_trgm_ops)"
)
INDEX_DROP = "DROP INDEX IF EXISTS contact_search_text_trgm"


# Migration 0004's per-column trigram indexes, which the old search ORed together. They go
# first, so the rewrite does not rebuild them (a minute at 1,000,000 contacts); the reverse
# makes them again.
OLD_TRIGRAM_INDEXES = {
    "contact_email_trgm": ("contacts_contact", "email"),
    "contact_first_name_trgm": ("contacts_contact", "first_name"),
    "contact_last_name_trgm": ("contacts_contact", "last_name"),
    "company_name_trgm": ("contacts_company", "name"),
}


def drop_old_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in OLD_TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_old_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in OLD_TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def create_triggers(schema_editor) -> None:
    """The triggers (and on PostgreSQL their functions); safe to run again."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in POSTGRESQL_DROP:
            schema_editor.execute(sql)
        for sql in POSTGRESQL_CREATE:
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
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(SQLITE_BACKFILL)
        create_triggers(schema_editor)
        return
    # No company rename between the backfill and its trigger (contacts are already locked
    # by ADD COLUMN); reads of companies go on.
    schema_editor.execute("LOCK TABLE contacts_company IN SHARE ROW EXCLUSIVE MODE")
    # The function the backfill calls; then the rewrite, before the triggers (PostgreSQL
    # refuses to change the type of a column a trigger's UPDATE OF names).
    for sql in POSTGRESQL_CREATE[:2]:
        schema_editor.execute(sql)
    schema_editor.execute(POSTGRESQL_BACKFILL)
    create_triggers(schema_editor)
    schema_editor.execute(INDEX_CREATE)
    # The planner chooses between walking the list's sort index and filtering (a common
    # word) and the trigram index then a sort (a rare one) from how many rows it expects,
    # which for LIKE '%word%' it reads off the column's histogram. The default 100 buckets
    # cannot tell 0.4% from 1% or 0.01% (a 3,682-contact word was expected at 100 rows and
    # its page took 36 ms in PostgreSQL instead of 12); 1,000 can. ANALYZE now, not when
    # autovacuum gets to it.
    schema_editor.execute(
        "ALTER TABLE contacts_contact ALTER COLUMN search_text SET STATISTICS 1000"
    )
    schema_editor.execute("ANALYZE contacts_contact")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX_DROP)
    drop_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_contact_name_index_matches_sort"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.TextField(db_default="", default="", editable=False),
        ),
        migrations.RunPython(drop_old_trigram_indexes, create_old_trigram_indexes, elidable=False),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
