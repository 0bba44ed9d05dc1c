from decimal import Decimal

import pytest

from leadflow.contacts.models import ActivityKind
from leadflow.contacts.tests.factories import CompanyFactory, ContactFactory
from leadflow.sales.models import Deal, DealStage
from leadflow.sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_deals_need_a_key(call):
    assert call("get", "/deals", {}).status_code == 401
    assert call("get", "/deals", {"HTTP_AUTHORIZATION": "Bearer lf_x_y"}).status_code == 401


def test_a_new_deal_takes_the_contacts_company_and_owner(call, api_headers, rep):
    company = CompanyFactory(name="Acme")
    contact = ContactFactory(company=company, owner=rep, first_name="Ann", last_name="Lee")

    response = call(
        "post",
        "/deals",
        api_headers,
        {"name": "Acme pilot", "contact_id": contact.pk, "amount": "1200.5", "currency": "eur"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contact"] == {"id": contact.pk, "email": contact.email, "name": "Ann Lee"}
    assert body["company"] == {"id": company.pk, "name": "Acme"}
    assert body["owner"]["id"] == rep.pk
    assert (body["amount"], body["currency"], body["stage"]) == ("1200.50", "EUR", "qualification")
    assert contact.activities.filter(kind=ActivityKind.DEAL_CREATED).exists()


def test_a_deal_created_as_won_is_won(call, api_headers):
    contact = ContactFactory()
    response = call(
        "post", "/deals", api_headers, {"name": "Quick", "contact_id": contact.pk, "stage": "won"}
    )
    assert response.status_code == 201
    assert response.json()["won_at"] is not None
    assert contact.activities.filter(kind=ActivityKind.DEAL_WON).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "D", "contact_id": "abc"}, "contact_id"),
        ({"name": "", "contact_id": None}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "D", "amount": -1}, "amount"),
        ({"name": "D", "amount": "1.001"}, "amount"),
        ({"name": "D", "amount": 10**13}, "amount"),
        ({"name": "D", "amount": "NaN"}, "amount"),
        ({"name": "D", "currency": "EURO"}, "currency"),
        ({"name": "D", "stage": "closed"}, "stage"),
        ({"name": "D", "stage": "lost"}, "lost_reason"),
        ({"name": "D", "lost_reason": "Too dear"}, "lost_reason"),
        ({"name": "D", "expected_close_on": "soon"}, "expected_close_on"),
        ({"name": "D", "company_id": 999_999}, "company_id"),
        ({"name": "D", "probability": 50}, "probability"),
    ],
)
def test_bad_deals_are_a_422_naming_the_field(call, api_headers, body, field):
    contact = ContactFactory()
    body = {"contact_id": contact.pk, **body}
    response = call("post", "/deals", api_headers, body)
    assert response.status_code == 422, response.content
    assert ["body", "payload", field] in [error["loc"] for error in response.json()["detail"]]
    assert not Deal.objects.exists()


def test_moving_a_deal_to_lost_needs_a_reason(call, api_headers):
    deal = DealFactory()
    path = f"/deals/{deal.pk}"
    assert call("patch", path, api_headers, {"stage": "lost"}).status_code == 422

    response = call("patch", path, api_headers, {"stage": "lost", "lost_reason": "Went quiet"})

    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (DealStage.LOST, "Went quiet")
    assert deal.lost_at is not None
    assert deal.contact.activities.filter(kind=ActivityKind.DEAL_LOST).exists()


def test_the_reason_of_a_lost_deal_can_be_corrected_but_not_blanked(call, api_headers):
    deal = DealFactory(stage=DealStage.LOST, lost_at="2024-05-01T00:00:00Z", lost_reason="Price")
    path = f"/deals/{deal.pk}"
    assert call("patch", path, api_headers, {"lost_reason": ""}).status_code == 422
    # Reopening drops the reason, so sending one with it is a mistake.
    reopen = {"stage": "proposal", "lost_reason": "Budget"}
    assert call("patch", path, api_headers, reopen).status_code == 422

    response = call("patch", path, api_headers, {"lost_reason": "Budget frozen"})

    assert response.status_code == 200
    assert response.json()["lost_reason"] == "Budget frozen"
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (DealStage.LOST, "Budget frozen")


def test_winning_a_deal_records_when(call, api_headers):
    deal = DealFactory(stage=DealStage.NEGOTIATION)
    response = call("patch", f"/deals/{deal.pk}", api_headers, {"stage": "won", "amount": 900})
    assert response.status_code == 200
    assert response.json()["amount"] == "900.00"
    deal.refresh_from_db()
    assert deal.won_at is not None
    assert deal.amount == Decimal("900.00")


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"amount": None},
        {"stage": None},
        {"contact_id": 3},
        {"x": 1},
        {"attributes": None},
        {"attributes": ["not", "an", "object"]},
    ],
)
def test_patch_refuses_nulls_for_required_columns_and_unknown_fields(call, api_headers, body):
    deal = DealFactory(name="Pilot")
    assert call("patch", f"/deals/{deal.pk}", api_headers, body).status_code == 422
    deal.refresh_from_db()
    assert deal.name == "Pilot"


def test_read_update_delete(call, api_headers):
    deal = DealFactory(name="Pilot")
    path = f"/deals/{deal.pk}"
    assert call("get", path, api_headers).json()["name"] == "Pilot"
    response = call("patch", path, api_headers, {"name": "Rollout", "expected_close_on": None})
    assert response.json()["name"] == "Rollout"
    assert call("delete", path, api_headers).status_code == 204
    assert call("get", path, api_headers).status_code == 404


@pytest.mark.parametrize("deal_id", ["0", str(2**63), "x"])
def test_an_impossible_deal_id_is_a_404_or_422(call, api_headers, deal_id):
    assert call("get", f"/deals/{deal_id}", api_headers).status_code in (404, 422)


def test_list_filters_by_contact_and_stage_and_pages_without_repeats(call, api_headers):
    contact = ContactFactory()
    won = DealFactory(contact=contact, stage=DealStage.WON, won_at="2024-05-01T00:00:00Z")
    open_deal = DealFactory(contact=contact)
    DealFactory.create_batch(9)

    assert set(ids(call("get", "/deals", api_headers, contact=contact.pk))) == {
        won.pk,
        open_deal.pk,
    }
    assert ids(call("get", "/deals", api_headers, stage="won")) == [won.pk]

    seen, cursor = [], None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        response = call("get", "/deals", api_headers, **params)
        seen += ids(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen, reverse=True) == seen
    assert len(seen) == len(set(seen)) == 11


@pytest.mark.parametrize("params", [{"limit": 0}, {"stage": "x"}, {"cursor": "abc"}])
def test_bad_list_parameters_are_a_422(call, api_headers, params):
    assert call("get", "/deals", api_headers, **params).status_code == 422


def test_listing_deals_costs_the_same_queries_for_2_or_20(
    call, api_headers, rep, django_assert_max_num_queries
):
    def make(count: int) -> None:
        DealFactory.create_batch(
            count, contact=ContactFactory(company=CompanyFactory()), owner=rep, company=None
        )

    make(2)
    call("get", "/deals", api_headers)
    with django_assert_max_num_queries(3) as few:
        call("get", "/deals", api_headers)
    make(18)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(call("get", "/deals", api_headers))) == 20


# What a rep may see -----------------------------------------------------------------------


def test_a_rep_sees_only_deals_of_contacts_they_may_see(call, rep_api_headers, rep, other_rep):
    mine = DealFactory(contact=ContactFactory(owner=rep))
    of_unassigned = DealFactory(contact=ContactFactory(owner=None))
    DealFactory(contact=ContactFactory(owner=other_rep))

    assert set(ids(call("get", "/deals", rep_api_headers))) == {mine.pk, of_unassigned.pk}


def test_another_reps_deal_is_a_404_everywhere_and_stays_untouched(
    call, rep_api_headers, other_rep
):
    theirs = DealFactory(contact=ContactFactory(owner=other_rep), name="Theirs")
    path = f"/deals/{theirs.pk}"
    assert call("get", path, rep_api_headers).status_code == 404
    assert call("patch", path, rep_api_headers, {"name": "Mine now"}).status_code == 404
    assert call("delete", path, rep_api_headers).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_a_rep_cannot_open_a_deal_on_a_contact_they_cannot_see(call, rep_api_headers, other_rep):
    theirs = ContactFactory(owner=other_rep)
    response = call("post", "/deals", rep_api_headers, {"name": "D", "contact_id": theirs.pk})
    assert response.status_code == 422
    # The same answer as for a contact that does not exist: nothing leaks.
    assert response.json()["detail"][0]["msg"] == "No contact you can see has this id."
    assert not Deal.objects.exists()


def test_a_rep_works_deals_of_their_own_contacts(call, rep_api_headers, rep, other_rep):
    contact = ContactFactory(owner=rep)
    response = call("post", "/deals", rep_api_headers, {"name": "Mine", "contact_id": contact.pk})
    assert response.status_code == 201
    path = f"/deals/{response.json()['id']}"
    assert call("patch", path, rep_api_headers, {"stage": "proposal"}).status_code == 200
    # Giving the deal to someone else is for managers.
    assert call("patch", path, rep_api_headers, {"owner_id": other_rep.pk}).status_code == 403
    assert call("delete", path, rep_api_headers).status_code == 204


def test_a_manager_hands_a_deal_to_a_rep(call, manager_api_headers, rep):
    deal = DealFactory()
    response = call("patch", f"/deals/{deal.pk}", manager_api_headers, {"owner_id": rep.pk})
    assert response.status_code == 200
    assert response.json()["owner"]["id"] == rep.pk


def test_a_deals_custom_attributes_are_set_on_create_and_replaced_by_a_patch(call, api_headers):
    contact = ContactFactory()
    body = {"name": "Pro", "contact_id": contact.pk, "attributes": {"product": "GTX", "seats": 4}}
    response = call("post", "/deals", api_headers, body)
    assert response.status_code == 201, response.content
    path = f"/deals/{response.json()['id']}"
    assert response.json()["attributes"] == {"product": "GTX", "seats": 4}

    patched = call("patch", path, api_headers, {"attributes": {"product": "GTX Plus"}})

    assert patched.json()["attributes"] == {"product": "GTX Plus"}
    assert call("patch", path, api_headers, {"name": "Pro 2"}).json()["attributes"] == {
        "product": "GTX Plus"
    }
