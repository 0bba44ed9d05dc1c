"""The contacts list and the timeline read through indexes, on PostgreSQL and on SQLite.

What these tests prove: each query the list page and the timeline run (captured from the
real selectors, so a change of query shape is caught) has an index that serves both its
filter and its order, so the database walks the index and stops after one page instead of
reading and sorting the table. On PostgreSQL the planner is asked with `enable_seqscan` and
the sorts off: a disabled path is still taken when nothing else exists, so a plan without
"Seq Scan" on our tables and without a "Sort" means an index can do the work.
They do not prove the planner picks that index for a million rows (with a few thousand it
may rightly prefer reading the table); `bench/contacts_list.py` shows that, at full size,
with timings in docs/benchmarks.md. No test here measures time: the machines are shared.

SQLite has no such switches; its EXPLAIN QUERY PLAN must name an index for the table and
need no temporary B-tree for the ORDER BY.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.contacts import selectors
from leadflow.contacts.models import Activity, ActivityKind, Channel, Contact, LifecycleStage

pytestmark = pytest.mark.django_db

STAGES = [LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD, LifecycleStage.MQL]
TABLES = ("contacts_contact", "contacts_activity")


@pytest.fixture
def crowd(rep, other_rep):
    """A few thousand contacts and activities, analysed, so plans reflect real statistics."""
    channels = [Channel.objects.create(name=f"Channel {n}") for n in range(5)]
    now = timezone.now()
    owners = [rep, other_rep, None, None]
    Contact.objects.bulk_create(
        Contact(
            email=f"person{n}@example.com",
            first_name=f"First{n % 97}",
            last_name=f"Last{n % 89}",
            lifecycle_stage=STAGES[n % 3],
            owner=owners[n % 4],
            first_touch_channel=channels[n % 5],
            score=n % 101,
            created_at=now - timedelta(minutes=n),
        )
        for n in range(3000)
    )
    contacts = list(Contact.objects.order_by("id").values_list("id", flat=True))
    heavy = contacts[0]
    Activity.objects.bulk_create(
        Activity(
            contact_id=heavy if n % 2 else contacts[n % len(contacts)],
            kind=ActivityKind.PAGE_VIEW if n % 3 else ActivityKind.CALL,
            occurred_at=now - timedelta(minutes=n),
        )
        for n in range(6000)
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"rep": rep, "channel": channels[1], "heavy": Contact.objects.get(pk=heavy)}


def selects(run) -> list[str]:
    """The SELECTs that `run` sends, as executed (parameters inlined)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]


def plan_of(sql: str) -> str:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("SET LOCAL enable_sort = off")
            cur.execute("SET LOCAL enable_incremental_sort = off")
            cur.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cur.fetchall())
        cur.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(row[-1] for row in cur.fetchall())


def assert_served_by_an_index(sql: str, table: str) -> None:
    plan = plan_of(sql)
    if connection.vendor == "postgresql":
        assert "Index" in plan, plan
        for name in TABLES:
            assert f"Seq Scan on {name}" not in plan, plan
        # No Sort node (nor an Incremental Sort): rows leave the index in the page's order.
        assert "Sort" not in plan, plan
    else:
        assert any(f"{table} USING" in line and "INDEX" in line for line in plan.splitlines()), plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


def list_queries(user, filters=None, **page) -> list[str]:
    contacts = (filters or selectors.ContactFilter()).apply(
        selectors.list_visible_contacts(user=user)
    )
    sql = selects(
        lambda: selectors.paginate_contacts(
            contacts.select_related("company", "owner", "first_touch_channel"), **page
        )
    )
    return [s for s in sql if "contacts_contact" in s]


LIST_PAGES = [
    # label, who looks, filters (names of `crowd` entries stand for their ids), sort
    ("default sort", "manager", {}, "newest"),
    ("oldest first", "manager", {}, "oldest"),
    ("stage filter", "manager", {"stage": "mql"}, "newest"),
    ("owner filter", "manager", {"owner": "rep"}, "newest"),
    ("channel filter", "manager", {"channel": "channel"}, "newest"),
    ("score range, by score", "manager", {"score_min": 40, "score_max": 60}, "score"),
    ("by name", "manager", {}, "name"),
    ("by name, descending", "manager", {}, "name_desc"),
    ("recently updated", "manager", {}, "updated"),
    ("a rep's own and unassigned", "rep", {}, "newest"),
]


def test_list_pages_walk_an_index(crowd, manager):
    people = {"manager": manager, "rep": crowd["rep"]}
    for label, who, filters, sort in LIST_PAGES:
        values = {k: crowd[v].pk if v in crowd else v for k, v in filters.items()}
        contact_filter = selectors.ContactFilter(**values)
        user = people[who]
        first = list_queries(user, contact_filter, sort=sort)
        # A cursor from the middle of the list: the seek must use the index too.
        visible = contact_filter.apply(selectors.list_visible_contacts(user=user))
        middle = selectors.paginate_contacts(visible, sort=sort, limit=300).next_cursor
        assert middle, label
        deep = list_queries(user, contact_filter, sort=sort, cursor=middle)
        assert len(first) == 1 and len(deep) == 1, label
        for sql in first + deep:
            assert_served_by_an_index(sql, "contacts_contact")


def test_the_timeline_walks_its_index(crowd):
    for kinds in (None, [ActivityKind.CALL]):
        sql = selects(
            lambda k=kinds: list(selectors.list_timeline(contact=crowd["heavy"], kinds=k))
        )
        assert len(sql) == 1
        assert_served_by_an_index(sql[0], "contacts_activity")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram index: PostgreSQL")
def test_search_is_served_by_its_trigram_index(crowd):
    """A search word is one `search_text LIKE '%word%'` on the plain column (no UPPER(), no
    OR across columns), which the trigram index of migration 0007 serves; the words of a
    search are one scan of that index."""
    for text in ("first1", "First1 LAST2"):
        contacts = selectors.search_contacts(Contact.objects.all(), text)
        sql = selects(
            lambda c=contacts: selectors.count_contacts_capped(c, cap=selectors.SEARCH_COUNT_CAP)
        )
        assert len(sql) == 1
        assert '"contacts_contact"."search_text"::text LIKE' in sql[0], sql[0]
        assert "UPPER" not in sql[0], sql[0]
        plan = plan_of(sql[0])
        assert "Bitmap Index Scan on contact_search_text_trgm" in plan, plan
        assert plan.count("Bitmap Index Scan") == 1, plan
        assert "Seq Scan on contacts_contact" not in plan, plan
