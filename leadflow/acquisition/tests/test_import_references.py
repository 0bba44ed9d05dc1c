"""On PostgreSQL an import checks what its new contacts point at once per distinct row,
with PostgreSQL's per-row foreign-key triggers off while it COPYs, when the role may
(`load.references_checked_once`); these tests hold it to the guarantees of those triggers."""

import polars as pl
import pytest
from django.db import IntegrityError, connection, transaction

from leadflow.acquisition.pipeline import load
from leadflow.contacts.models import Activity, ActivityKind, Contact, StageChange
from leadflow.contacts.tests.factories import ChannelFactory, CompanyFactory

pytestmark = pytest.mark.django_db

LIST = (
    "E-mail,First Name,Last Name,Company,Lead Source\n"
    "ann@example.com,Ann,Smith,Acme,Webinar\n"
    "bob@example.com,Bob,Jones,Initech,Webinar\n"
    "cy@example.com,Cy,Young,,\n"
)
PLAIN_ROLE = "leadflow_test_plain_role"


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's foreign-key triggers and roles")


def _replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return cursor.fetchone()[0]


def _references(**columns) -> pl.DataFrame:
    frame = {column: [None] for column, _ in load.CONTACT_REFERENCES}
    frame.update({k: [v] for k, v in columns.items()})
    return pl.DataFrame(frame, schema=dict.fromkeys(frame, pl.Int64))


def _fk_checks_run() -> bool:
    """Whether an activity pointing at no contact is refused in this transaction now."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "INSERT INTO contacts_activity (contact_id, kind, occurred_at, data) "
                "VALUES (-1, 'note', now(), '{}')"
            )
    except IntegrityError:
        return True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return False


def test_an_import_turns_row_checks_off_only_for_its_copies(write_list, run_import):
    report = run_import(write_list(LIST))

    assert report["created"] == 3
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.company.name == "Acme" and ann.first_touch_channel.name == "Webinar"
    # The search trigger is ENABLE ALWAYS: it kept search_text while the others were off.
    assert Contact.objects.get(pk=ann.pk).search_text == "ann@example.com ann smith acme"
    assert Activity.objects.filter(contact=ann, kind=ActivityKind.IMPORTED).count() == 1
    assert StageChange.objects.filter(contact=ann, source="import").count() == 1
    # Still inside the test's transaction: the setting is back and checks run again.
    assert _replication_role() == "origin"
    assert _fk_checks_run()


def test_inside_the_checks_are_off_and_afterwards_on():
    company = CompanyFactory()
    with connection.cursor() as cursor:
        with load.references_checked_once(cursor, _references(company_id=company.pk)) as off:
            assert off is True
            assert _replication_role() == "replica"
        assert _replication_role() == "origin"


def test_a_reference_to_a_row_that_is_gone_is_refused():
    channel = ChannelFactory()
    frame = _references(first_touch_channel_id=channel.pk, company_id=999_999_999)
    with (
        connection.cursor() as cursor,
        pytest.raises(IntegrityError, match="company_id"),
        load.references_checked_once(cursor, frame),
    ):
        pytest.fail("the block must not run")
    assert _replication_role() == "origin"


def test_the_referenced_rows_are_locked_until_the_import_ends():
    company, other = CompanyFactory(), CompanyFactory()
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgrowlocks")  # contrib, for the test
        with load.references_checked_once(cursor, _references(company_id=company.pk)):
            pass
        # The company is locked FOR KEY SHARE, as a foreign-key check would lock it: no
        # other transaction may delete it, or change its id, until the import ends.
        cursor.execute(
            "SELECT c.id, l.modes FROM pgrowlocks('contacts_company') l "
            "JOIN contacts_company c ON c.ctid = l.locked_row"
        )
        assert cursor.fetchall() == [(company.pk, ["For Key Share"])]
    assert other.pk != company.pk


def test_a_role_that_may_not_gets_the_usual_checks(write_list, run_import):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {PLAIN_ROLE} NOLOGIN NOSUPERUSER")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {PLAIN_ROLE}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {PLAIN_ROLE}")
        cursor.execute(f"SET LOCAL ROLE {PLAIN_ROLE}")
        with load.references_checked_once(cursor, _references()) as off:
            assert off is False
            assert _replication_role() == "origin"

    report = run_import(write_list(LIST))

    assert report["created"] == 3
    assert _fk_checks_run()
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
