from decimal import Decimal

import pytest
from django.urls import reverse

from leadflow.contacts.models import ActivityKind
from leadflow.contacts.tests.factories import ContactFactory
from leadflow.sales.models import Deal, DealStage
from leadflow.sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db

DEALS = reverse("sales:deals")


def test_the_deal_list_filters_by_stage_and_totals_the_amounts(admin_client_):
    DealFactory(name="Open one", amount=Decimal("1000"), stage=DealStage.PROPOSAL)
    DealFactory(name="Open two", amount=Decimal("2500.50"), stage=DealStage.QUALIFICATION)
    DealFactory(
        name="Lost one", amount=Decimal("99"), stage=DealStage.LOST, lost_at="2025-01-01T00:00:00Z"
    )

    response = admin_client_.get(DEALS)

    html = response.content.decode()
    assert "Open one" in html and "Open two" in html and "Lost one" not in html
    assert "3,500.5" in html  # the open pipeline's total, with a thousands separator
    lost = admin_client_.get(DEALS, {"stage": "lost"}).content.decode()
    assert "Lost one" in lost and "Open one" not in lost


def test_a_rep_sees_only_deals_of_contacts_they_may_see(rep_client, rep, other_rep):
    DealFactory(name="Mine", contact=ContactFactory(owner=rep))
    theirs = DealFactory(name="Theirs", contact=ContactFactory(owner=other_rep))

    html = rep_client.get(DEALS).content.decode()

    assert "Mine" in html and "Theirs" not in html
    assert rep_client.get(reverse("sales:deal_edit", args=[theirs.pk])).status_code == 404


def test_bad_parameters_do_not_break_the_deal_list(admin_client_):
    for params in ({"stage": "<x>"}, {"page": "-3"}, {"page": "abc"}, {"q": "a\x00b"}):
        assert admin_client_.get(DEALS, params).status_code == 200


def test_the_deal_list_costs_the_same_queries_for_1_or_20_deals(
    admin_client_, django_assert_max_num_queries
):
    DealFactory()
    with django_assert_max_num_queries(7) as one:
        admin_client_.get(DEALS)
    DealFactory.create_batch(20)
    with django_assert_max_num_queries(7) as many:
        admin_client_.get(DEALS)
    assert len(one.captured_queries) == len(many.captured_queries)


def test_creating_a_deal_from_the_contact_page(admin_client_):
    contact = ContactFactory()
    url = reverse("sales:deal_create") + f"?contact={contact.pk}"
    assert admin_client_.get(url).status_code == 200

    response = admin_client_.post(
        url,
        {
            "name": "Annual plan",
            "amount": "12000",
            "currency": "eur",
            "stage": "qualification",
        },
    )

    assert response.status_code == 302
    deal = Deal.objects.get(name="Annual plan")
    assert (deal.contact, deal.amount, deal.currency) == (contact, Decimal("12000"), "EUR")
    assert contact.activities.filter(kind=ActivityKind.DEAL_CREATED).exists()


def test_creating_a_deal_by_the_contacts_email(rep_client, rep, other_rep):
    ContactFactory(email="mine@example.com", owner=rep)
    ContactFactory(email="theirs@example.com", owner=other_rep)
    url = reverse("sales:deal_create")

    refused = rep_client.post(
        url,
        {
            "contact_email": "theirs@example.com",
            "name": "X",
            "amount": "1",
            "currency": "USD",
            "stage": "qualification",
        },
    )
    assert refused.status_code == 200
    assert refused.context["form"].errors["contact_email"]

    rep_client.post(
        url,
        {
            "contact_email": "Mine@Example.com",
            "name": "Y",
            "amount": "1",
            "currency": "USD",
            "stage": "qualification",
        },
    )
    assert Deal.objects.get(name="Y").owner == rep


def test_a_rep_cannot_open_a_deal_on_someone_elses_contact(rep_client, other_rep):
    theirs = ContactFactory(owner=other_rep)
    url = reverse("sales:deal_create") + f"?contact={theirs.pk}"
    assert rep_client.get(url).status_code == 404
    assert rep_client.get(reverse("sales:deal_create") + "?contact=abc").status_code == 404


def test_losing_a_deal_needs_a_reason(admin_client_):
    deal = DealFactory(name="Big one")
    url = reverse("sales:deal_edit", args=[deal.pk])
    form = {"name": "Big one", "amount": "1200", "currency": "USD", "stage": "lost"}

    refused = admin_client_.post(url, form)
    assert refused.status_code == 200
    assert refused.context["form"].errors["lost_reason"]
    assert b'value="Big one"' in refused.content

    admin_client_.post(url, {**form, "lost_reason": "Chose a competitor"})
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (DealStage.LOST, "Chose a competitor")
    assert deal.lost_at is not None


def test_winning_a_deal_is_on_the_contacts_timeline(admin_client_):
    deal = DealFactory()
    admin_client_.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        {
            "name": deal.name,
            "amount": "1200",
            "currency": "USD",
            "stage": "won",
        },
    )
    deal.refresh_from_db()
    assert deal.stage == DealStage.WON
    assert deal.contact.activities.filter(kind=ActivityKind.DEAL_WON).exists()


def test_a_negative_amount_is_refused_beside_the_field(admin_client_):
    contact = ContactFactory()
    response = admin_client_.post(
        reverse("sales:deal_create") + f"?contact={contact.pk}",
        {"name": "Neg", "amount": "-5", "currency": "USD", "stage": "qualification"},
    )
    assert response.context["form"].errors["amount"]
    assert not Deal.objects.exists()


def test_out_of_range_ids_answer_404(admin_client_):
    huge = "9" * 25
    assert admin_client_.get(f"/deals/{huge}/edit/").status_code == 404
    assert admin_client_.get(reverse("sales:deal_create"), {"contact": huge}).status_code == 404


def test_the_companies_and_deals_lists_page_through_one_shared_pager(admin_client_):
    from leadflow.contacts.tests.factories import CompanyFactory

    CompanyFactory.create_batch(120)
    DealFactory.create_batch(120)
    for url in ("/companies/", "/deals/"):
        first = admin_client_.get(url).content.decode()
        assert 'rel="next"' in first and "Page 1 of" in first, url
        assert 'rel="prev"' in admin_client_.get(url + "?page=2").content.decode(), url


def test_a_deals_custom_attributes_are_shown_and_edited_on_its_form(admin_client_):
    deal = DealFactory(name="Pro", attributes={"crm_stage": "Engaging", "product": "<GTX>"})
    url = reverse("sales:deal_edit", args=[deal.pk])
    html = admin_client_.get(url).content.decode()
    assert "Custom attributes" in html
    assert "crm_stage: Engaging" in html and "product: &lt;GTX&gt;" in html

    admin_client_.post(
        url,
        {
            "name": "Pro",
            "amount": "10",
            "currency": "USD",
            "stage": deal.stage,
            "attributes": "crm_stage: Prospecting\nproduct: <GTX>",
        },
    )

    deal.refresh_from_db()
    assert deal.attributes == {"crm_stage": "Prospecting", "product": "<GTX>"}
