"""The contact page as sales sees it: the deals column. Lives with sales because contacts,
the core, knows nothing of deals (the page reads them through the reverse relation)."""

import pytest
from django.urls import reverse

from leadflow.contacts.tests.factories import ActivityFactory, CompanyFactory, ContactFactory
from leadflow.sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_the_contact_page_shows_profile_timeline_deals_and_history(admin_client_, rep):
    contact = ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        owner=rep,
        phone="+441234",
        company=CompanyFactory(name="Analytical Engines"),
    )
    ActivityFactory(contact=contact, data={"text": "Asked for a demo"})
    DealFactory(contact=contact, name="Engine licence")

    response = admin_client_.get(reverse("contacts:detail", args=[contact.pk]))

    html = response.content.decode()
    assert "Ada Lovelace" in html
    assert "Analytical Engines" in html
    assert "Asked for a demo" in html
    assert "Engine licence" in html
    assert "Stage history" in html


def test_the_contact_page_costs_the_same_queries_however_full(
    admin_client_, django_assert_max_num_queries
):
    contact = ContactFactory(company=CompanyFactory())
    url = reverse("contacts:detail", args=[contact.pk])
    with django_assert_max_num_queries(12) as few:
        admin_client_.get(url)
    for _ in range(15):
        ActivityFactory(contact=contact)
        DealFactory(contact=contact)
    with django_assert_max_num_queries(12) as many:
        admin_client_.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
