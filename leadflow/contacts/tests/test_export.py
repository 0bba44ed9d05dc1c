import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts import csv_export
from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.contacts.tests.factories import (
    CampaignFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
)

pytestmark = pytest.mark.django_db

EXPORT = reverse("contacts:export")
LIST = reverse("contacts:list")
BOM = b"\xef\xbb\xbf"


def _download(client: Client, **params) -> bytes:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


def _rows(body: bytes) -> list[dict]:
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body[len(BOM) :].decode("utf-8"), newline="")))


def _emails(client: Client, **params) -> set[str]:
    return {row["email"] for row in _rows(_download(client, **params))}


# ---------------------------------------------------------------- access


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_rep_may_not_export(rep_client, rep):
    ContactFactory(owner=rep)
    assert rep_client.get(EXPORT).status_code == 403


@pytest.mark.parametrize("role", ["admin_user", "marketer", "manager"])
def test_admins_managers_and_marketing_may_export(request, role):
    client = Client()
    client.force_login(request.getfixturevalue(role))
    ContactFactory(email="ann@example.com")
    assert _emails(client) == {"ann@example.com"}


def test_the_button_shows_for_those_who_may_export_only(admin_client_, rep_client):
    assert 'id="contact-export"' in admin_client_.get(LIST).content.decode()
    assert 'id="contact-export"' not in rep_client.get(LIST).content.decode()


def test_the_button_carries_the_list_filters_but_not_its_page(admin_client_):
    html = admin_client_.get(LIST, {"stage": "mql", "q": "ann", "cursor": "abc"}).content.decode()
    start = html.index('id="contact-export" href="') + len('id="contact-export" href="')
    href = html[start : html.index('"', start)].replace("&amp;", "&")
    assert href.startswith(EXPORT + "?")
    assert "stage=mql" in href and "q=ann" in href
    assert "cursor" not in href


# ---------------------------------------------------------------- what is exported


def test_the_file_is_named_by_date_and_not_cached(admin_client_):
    response = admin_client_.get(EXPORT)
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="contacts-{today}.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]


def test_the_file_starts_with_a_bom_and_the_header(admin_client_):
    body = _download(admin_client_)
    assert body.startswith(BOM + b"id,email,first_name,last_name,phone,")
    assert body.splitlines()[0].decode("utf-8-sig").split(",") == csv_export.HEADER


def test_filters_search_and_saved_views_are_respected(admin_client_, admin_user, rep):
    channel = ChannelFactory(name="Webinar")
    ContactFactory(email="mql@example.com", lifecycle_stage=LifecycleStage.MQL, score=80)
    ContactFactory(email="lead@example.com", lifecycle_stage=LifecycleStage.LEAD, score=10)
    ContactFactory(email="repowned@example.com", owner=rep, first_touch_channel=channel)
    ContactFactory(email="mine@example.com", owner=admin_user, last_name="Quirkson")

    assert _emails(admin_client_) == {
        "mql@example.com",
        "lead@example.com",
        "repowned@example.com",
        "mine@example.com",
    }
    assert _emails(admin_client_, stage="mql") == {"mql@example.com"}
    assert _emails(admin_client_, score_min=50) == {"mql@example.com"}
    assert _emails(admin_client_, owner=rep.pk) == {"repowned@example.com"}
    assert _emails(admin_client_, owner="me") == {"mine@example.com"}
    assert _emails(admin_client_, owner="unassigned") == {"mql@example.com", "lead@example.com"}
    assert _emails(admin_client_, channel=channel.pk) == {"repowned@example.com"}
    assert _emails(admin_client_, q="quirk") == {"mine@example.com"}
    # The list's page and sort do not cut the file down: it has every match.
    assert _emails(admin_client_, stage="lead", sort="score", cursor="bogus") == {
        "lead@example.com",
        "repowned@example.com",
        "mine@example.com",
    }


def test_a_row_holds_the_contact_and_its_related_names(admin_client_, manager):
    company = CompanyFactory(name="Acme")
    campaign = CampaignFactory(name="Spring launch")
    contact = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        company=company,
        owner=manager,
        score=-5,
        first_touch_channel=campaign.channel,
        first_touch_campaign=campaign,
        other_emails=["ann@old.example"],
        attributes={"tier": "gold", "seats": 12},
        email_is_role=True,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    (row,) = _rows(_download(admin_client_))
    assert row["id"] == str(contact.pk)
    assert row["company"] == "Acme"
    assert row["owner"] == "manager@example.com"
    assert row["score"] == "-5"  # a number stays a number
    assert row["first_touch_channel"] == campaign.channel.name
    assert row["first_touch_campaign"] == "Spring launch"
    assert row["last_touch_channel"] == ""
    assert row["other_emails"] == "ann@old.example"
    assert json.loads(row["attributes"]) == {"tier": "gold", "seats": 12}
    assert row["email_is_role"] == "true" and row["email_is_disposable"] == "false"
    assert row["created_at"] == "2026-01-02T03:04:05+00:00"


def test_an_owner_without_an_email_is_named_by_username(admin_client_, manager):
    manager.email = ""
    manager.save(update_fields=["email"])
    ContactFactory(owner=manager)
    (row,) = _rows(_download(admin_client_))
    assert row["owner"] == "manager"


def test_commas_quotes_and_newlines_round_trip(admin_client_):
    awkward = 'Smith, "Jr."\nsecond line'
    ContactFactory(email="ann@example.com", last_name=awkward, job_title="Ünïcode 東京")
    (row,) = _rows(_download(admin_client_))
    assert row["last_name"] == awkward
    assert row["job_title"] == "Ünïcode 東京"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcalc", "'\tcalc"),
        ("\rcalc", "'\rcalc"),
        ("Plain = fine", "Plain = fine"),
    ],
)
def test_formula_cells_are_neutralised(admin_client_, value, written):
    ContactFactory(email="ann@example.com", job_title=value)
    (row,) = _rows(_download(admin_client_))
    assert row["job_title"] == written


def test_every_text_column_is_neutralised(admin_client_):
    evil = "=cmd|' /C calc'!A0"
    company = CompanyFactory(name=evil)
    channel = ChannelFactory(name="@channel")
    ContactFactory(
        email="=x@example.com",
        first_name="+Ann",
        company=company,
        first_touch_channel=channel,
        external_id="-42",
        other_emails=["=y@example.com"],
        attributes={"a": "=1"},
    )
    (row,) = _rows(_download(admin_client_))
    assert row["email"] == "'=x@example.com"
    assert row["first_name"] == "'+Ann"
    assert row["company"] == "'" + evil
    assert row["first_touch_channel"] == "'@channel"
    assert row["external_id"] == "'-42"
    assert row["other_emails"] == "'=y@example.com"
    # The JSON of the attributes starts with "{": nothing to run.
    assert row["attributes"] == '{"a": "=1"}'


# ---------------------------------------------------------------- streaming and cost


def test_rows_are_read_in_id_chunks(admin_user):
    contacts = [ContactFactory() for _ in range(5)]

    with CaptureQueriesContext(connection) as queries:
        chunks = list(csv_export.iter_contact_chunks(Contact.objects.all(), chunk_size=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [row[0] for chunk in chunks for row in chunk] == sorted(c.pk for c in contacts)
    assert len(queries) == 3


def test_queries_do_not_grow_with_the_number_of_contacts(admin_client_, manager):
    def export_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            _download(admin_client_)
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            campaign = CampaignFactory()
            ContactFactory(
                company=CompanyFactory(),
                owner=manager,
                first_touch_channel=campaign.channel,
                first_touch_campaign=campaign,
                last_touch_channel=ChannelFactory(),
            )

    add(2)
    few = export_queries()
    add(25)
    assert export_queries() == few
