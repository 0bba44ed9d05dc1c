"""Contacts 0016: on PostgreSQL the keys imports look up compare byte by byte, and the
look-ups still use their indexes (a collation the query does not share would not)."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL collations"),
]


def test_email_phone_and_external_id_are_bytewise():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'contacts_contact' "
            "AND column_name IN ('email', 'phone', 'external_id')"
        )
        assert dict(cursor.fetchall()) == {"email": "C", "phone": "C", "external_id": "C"}


@pytest.mark.parametrize(
    ("column", "index"),
    [
        ("email", "contacts_contact_email_key"),
        ("external_id", "contact_external_id_unique"),
        ("phone", "contact_phone"),
    ],
)
def test_a_lookup_by_key_uses_its_index(column, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT id FROM contacts_contact WHERE {column} = ANY(%s)",  # noqa: S608
            ["{a,b}"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
