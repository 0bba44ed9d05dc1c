import pytest

from leadflow.accounts.models import Workspace
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Company,
    Contact,
    LifecycleStage,
    StageChange,
)
from leadflow.contacts.selectors import encode_cursor
from leadflow.contacts.tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


def loc_of(response) -> list[list]:
    return [error["loc"] for error in response.json()["detail"]]


# Authentication ---------------------------------------------------------------------------


def test_no_key_and_a_wrong_key_get_401(call):
    assert call("get", "/contacts", {}).status_code == 401
    wrong = {"HTTP_AUTHORIZATION": "Bearer lf_abc_nope"}
    response = call("get", "/contacts", wrong)
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    assert call("post", "/contacts", wrong, {"email": "a@example.com"}).status_code == 401
    assert not Contact.objects.exists()


def test_a_signed_in_browser_reads_with_its_session(rep_client, rep):
    ContactFactory(owner=rep)
    response = rep_client.get(f"{API}/contacts")
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


def test_the_schema_and_docs_are_published(client):
    schema = client.get(f"{API}/openapi.json").json()
    assert "/api/v1/contacts/{contact_id}/activities" in schema["paths"]
    assert "/api/v1/deals" in schema["paths"]
    assert client.get(f"{API}/docs").status_code == 200


# Create -----------------------------------------------------------------------------------


def test_creating_a_contact_normalises_it_and_starts_its_history(call, api_headers, admin_user):
    company = CompanyFactory(name="Acme")
    response = call(
        "post",
        "/contacts",
        api_headers,
        {
            "email": "  Ann.Lee@Example.COM ",
            "first_name": "Ann",
            "last_name": "Lee",
            "country": "gb",
            "company_id": company.pk,
            "lifecycle_stage": "mql",
            "score": 40,
            "attributes": {"plan": "pro", "seats": 5},
            "external_id": "crm-1",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ann.lee@example.com"
    assert body["country"] == "GB"
    assert body["company"] == {"id": company.pk, "name": "Acme"}
    assert body["owner"] is None
    assert body["lifecycle_stage"] == "mql"
    assert body["attributes"] == {"plan": "pro", "seats": 5}
    contact = Contact.objects.get(pk=body["id"])
    assert contact.activities.filter(kind=ActivityKind.CREATED, actor=admin_user).exists()
    assert contact.stage_changes.get().to_stage == LifecycleStage.MQL


def test_a_duplicate_email_is_a_409_with_a_message(call, api_headers):
    ContactFactory(email="ann@example.com")
    response = call("post", "/contacts", api_headers, {"email": "ANN@example.com"})
    assert response.status_code == 409
    assert "ann@example.com" in response.json()["detail"]
    assert Contact.objects.count() == 1


def test_a_duplicate_external_id_is_a_409(call, api_headers):
    ContactFactory(external_id="crm-7")
    response = call("post", "/contacts", api_headers, {"external_id": "crm-7"})
    assert response.status_code == 409


def test_html_in_names_is_stored_and_returned_as_given(call, api_headers):
    name = "<script>alert(1)</script>"
    response = call("post", "/contacts", api_headers, {"first_name": name})
    assert response.status_code == 201
    assert response.json()["first_name"] == name
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"nickname": "Annie"}, "nickname"),
        ({"score": "high"}, "score"),
        ({"score": 10**12}, "score"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"job_title": "x" * 100_000}, "job_title"),
        ({"phone": "1" * 33}, "phone"),
        ({"email": "a" * 300 + "@example.com"}, "email"),
        ({"first_name": "Ann\x00"}, "first_name"),
        ({"last_name": "\ud800"}, "last_name"),
        ({"country": "GBR"}, "country"),
        ({"country": "1x"}, "country"),
        ({"lifecycle_stage": "hot"}, "lifecycle_stage"),
        ({"consent": "yes"}, "consent"),
        ({"attributes": ["a", "list"]}, "attributes"),
        ({"attributes": {"blob": "x" * 20_000}}, "attributes"),
        ({"attributes": {"bad": "\x00"}}, "attributes"),
        ({"company_id": 0}, "company_id"),
        ({"company_id": 2**63}, "company_id"),
        ({"company_id": 424242}, "company_id"),
        ({"owner_id": 424242}, "owner_id"),
        ({"external_id": "x" * 101}, "external_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(call, api_headers, body, field):
    response = call("post", "/contacts", api_headers, body)
    assert response.status_code == 422, response.content
    assert ["body", "payload", field] in loc_of(response)
    assert not Contact.objects.exists()


def test_deeply_nested_or_non_finite_attributes_are_refused(call, api_headers, client):
    deep: dict = {}
    node = deep
    for _ in range(20):
        node["x"] = {}
        node = node["x"]
    assert call("post", "/contacts", api_headers, {"attributes": deep}).status_code == 422
    # json.loads takes NaN; neither JSON nor PostgreSQL does.
    response = client.post(
        f"{API}/contacts",
        data='{"attributes": {"ratio": NaN}}',
        content_type="application/json",
        **api_headers,
    )
    assert response.status_code == 422


def test_a_body_that_is_not_json_is_a_400_and_a_huge_one_a_413(client, api_headers):
    response = client.post(
        f"{API}/contacts", data="{nope", content_type="application/json", **api_headers
    )
    assert response.status_code == 400
    too_big = client.post(
        f"{API}/contacts", data="x" * 3_000_000, content_type="application/json", **api_headers
    )
    assert too_big.status_code == 413
    assert "larger than" in too_big.json()["detail"]


def test_an_invalid_email_says_what_is_wrong(call, api_headers):
    response = call("post", "/contacts", api_headers, {"email": "ann.example.com"})
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "email"]
    assert error["msg"] == "An email address must have an @-sign."


def test_a_rep_owns_the_contacts_they_create(call, rep_api_headers, rep):
    response = call("post", "/contacts", rep_api_headers, {"email": "new@example.com"})
    assert response.status_code == 201
    assert response.json()["owner"]["id"] == rep.pk
    assert response.json()["owner"]["username"] == "rep"


def test_a_rep_cannot_give_a_new_contact_to_someone_else(call, rep_api_headers, other_rep):
    response = call("post", "/contacts", rep_api_headers, {"owner_id": other_rep.pk})
    assert response.status_code == 403
    assert not Contact.objects.exists()


# Read -------------------------------------------------------------------------------------


def test_a_contact_shows_its_company_owner_and_attribution(call, api_headers, rep):
    google = ChannelFactory(name="Google")
    newsletter = CampaignFactory(name="Spring newsletter")
    contact = ContactFactory(
        company=CompanyFactory(name="Acme"),
        owner=rep,
        phone="+44 20 7946 0000",
        job_title="CTO",
        first_touch_channel=google,
        last_touch_campaign=newsletter,
    )

    response = call("get", f"/contacts/{contact.pk}", api_headers)

    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == {"id": rep.pk, "username": "rep", "name": rep.get_full_name()}
    assert body["company"]["name"] == "Acme"
    assert body["first_touch_channel"] == "Google"
    assert body["last_touch_campaign"] == "Spring newsletter"
    assert body["first_touch_campaign"] is None
    for field in ("phone", "job_title", "consent", "score", "external_id", "created_at"):
        assert field in body


@pytest.mark.parametrize("contact_id", ["0", "-1", "abc", str(2**63), "9" * 40])
def test_an_impossible_id_is_a_404_or_422_never_a_500(call, api_headers, contact_id):
    for method in ("get", "patch", "delete"):
        response = call(
            method, f"/contacts/{contact_id}", api_headers, {} if method == "patch" else None
        )
        assert response.status_code in (404, 422)


def test_a_missing_contact_is_a_404(call, api_headers):
    assert call("get", f"/contacts/{2**63 - 1}", api_headers).status_code == 404


# List, search, filters, pages -------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_search_matches_email_name_and_company(call, api_headers):
    by_email = ContactFactory(email="zed.quux@mail.example", first_name="A", last_name="B")
    by_name = ContactFactory(first_name="Marguerite", last_name="Duras")
    by_company = ContactFactory(company=CompanyFactory(name="Rocketeers Ltd"))
    ContactFactory(first_name="Nobody", last_name="Else", email="nobody@example.com")

    assert ids(call("get", "/contacts", api_headers, search="quux")) == [by_email.pk]
    assert ids(call("get", "/contacts", api_headers, search="duras")) == [by_name.pk]
    assert ids(call("get", "/contacts", api_headers, search="rocketeer")) == [by_company.pk]
    assert ids(call("get", "/contacts", api_headers, search="marguerite duras")) == [by_name.pk]


def test_filters_narrow_the_list(call, api_headers, rep):
    channel = ChannelFactory()
    campaign = CampaignFactory()
    company = CompanyFactory()
    mql = ContactFactory(lifecycle_stage=LifecycleStage.MQL, score=80, owner=rep)
    from_channel = ContactFactory(first_touch_channel=channel, score=10)
    from_campaign = ContactFactory(first_touch_campaign=campaign, company=company, score=50)

    def listed(**params) -> set[int]:
        return set(ids(call("get", "/contacts", api_headers, **params)))

    assert listed(stage="mql") == {mql.pk}
    assert listed(owner=rep.pk) == {mql.pk}
    assert listed(unassigned="true") == {from_channel.pk, from_campaign.pk}
    assert listed(channel=channel.pk) == {from_channel.pk}
    assert listed(campaign=campaign.pk) == {from_campaign.pk}
    assert listed(company=company.pk) == {from_campaign.pk}
    assert listed(score_min=50) == {mql.pk, from_campaign.pk}
    assert listed(score_min=20, score_max=60) == {from_campaign.pk}


def test_sorting_by_score(call, api_headers):
    low, high = ContactFactory(score=1), ContactFactory(score=99)
    assert ids(call("get", "/contacts", api_headers, sort="score")) == [high.pk, low.pk]
    assert ids(call("get", "/contacts", api_headers, sort="score_asc")) == [low.pk, high.pk]
    assert call("get", "/contacts", api_headers, sort="random").status_code == 422


@pytest.mark.parametrize("sort", ["newest", "score", "name", "updated"])
def test_cursor_pages_walk_every_contact_once_both_ways(call, api_headers, sort):
    # Ties on the sort column are where keyset pagination goes wrong, so make plenty.
    for index in range(23):
        ContactFactory(score=index % 3, last_name=f"Name{index % 4}")

    seen, pages, cursor = [], [], ""
    while True:
        response = call("get", "/contacts", api_headers, sort=sort, limit=5, cursor=cursor)
        pages.append(ids(response))
        seen += pages[-1]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 23
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    # And back from the last page with prev_cursor, page by page.
    back = response.json()["prev_cursor"]
    for expected in reversed(pages[:-1]):
        response = call("get", "/contacts", api_headers, sort=sort, limit=5, cursor=back)
        assert ids(response) == expected
        back = response.json()["prev_cursor"]
    assert back is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "prev.%%%",
        encode_cursor(["2024-01-01T00:00:00+00:00"]),  # one value short
        encode_cursor([None, 1]),
        encode_cursor([["a"], 1]),
        encode_cursor(["yesterday", 1]),
        encode_cursor(["2024-01-01T00:00:00", 1]),  # no time zone
        encode_cursor(["0001-01-01T00:00:00+14:00", 1]),  # overflows on the way to UTC
        encode_cursor(["2024-01-01T00:00:00+00:00", 2**70]),
        encode_cursor(["2024-01-01T00:00:00+00:00", True]),
    ],
)
def test_a_bad_cursor_is_a_422_with_a_clear_message(call, api_headers, cursor):
    ContactFactory()
    response = call("get", "/contacts", api_headers, cursor=cursor)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "This page link is no longer valid."


@pytest.mark.parametrize(
    ("sort", "value"), [("score", "high"), ("score", 2**40), ("name", 5), ("name", "\x00")]
)
def test_a_cursor_value_of_the_wrong_kind_for_its_sort_is_a_422(call, api_headers, sort, value):
    ContactFactory()
    cursor = encode_cursor([value, 1])
    assert call("get", "/contacts", api_headers, sort=sort, cursor=cursor).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"owner": 2**64},
        {"stage": "hot"},
        {"score_min": "x"},
        {"search": "x" * 201},
        {"search": "a\x00b"},
    ],
)
def test_bad_list_parameters_are_a_422(call, api_headers, params):
    assert call("get", "/contacts", api_headers, **params).status_code == 422


def test_listing_contacts_costs_the_same_queries_for_3_or_30(
    call, api_headers, django_assert_max_num_queries, rep
):
    def make(count: int) -> None:
        campaign = CampaignFactory()
        ContactFactory.create_batch(
            count,
            company=CompanyFactory(),
            owner=rep,
            first_touch_channel=campaign.channel,
            first_touch_campaign=campaign,
            last_touch_channel=campaign.channel,
            last_touch_campaign=campaign,
        )

    make(3)
    call("get", "/contacts", api_headers)  # the key's last_used_at write happens once
    with django_assert_max_num_queries(3) as few:
        ids(call("get", "/contacts", api_headers))
    make(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(call("get", "/contacts", api_headers, limit=100))) == 30


# Update -----------------------------------------------------------------------------------


def test_patch_changes_only_what_is_sent_and_logs_it(call, api_headers):
    contact = ContactFactory(first_name="Ann", last_name="Lee", phone="123")
    response = call(
        "patch", f"/contacts/{contact.pk}", api_headers, {"last_name": "Smith", "email": "a@b.co"}
    )
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.phone) == ("Ann", "Smith", "123")
    assert contact.email == "a@b.co"
    update = contact.activities.get(kind=ActivityKind.UPDATED)
    assert update.data["last_name"] == {"from": "Lee", "to": "Smith"}


def test_patch_moves_the_stage_with_a_reason_in_the_history(call, api_headers, admin_user):
    contact = ContactFactory(lifecycle_stage=LifecycleStage.LEAD)
    response = call(
        "patch",
        f"/contacts/{contact.pk}",
        api_headers,
        {"lifecycle_stage": "sql", "stage_reason": "Asked for a demo"},
    )
    assert response.status_code == 200
    assert response.json()["lifecycle_stage"] == "sql"
    change = StageChange.objects.get(contact=contact)
    assert (change.from_stage, change.to_stage, change.reason) == (
        "lead",
        "sql",
        "Asked for a demo",
    )
    assert change.actor == admin_user

    history = call("get", f"/contacts/{contact.pk}/stage-history", api_headers).json()
    assert history[0]["to_stage"] == "sql"
    assert history[0]["reason"] == "Asked for a demo"
    assert history[0]["actor"]["id"] == admin_user.pk


def test_a_stage_reason_without_a_stage_is_a_422(call, api_headers):
    contact = ContactFactory()
    response = call("patch", f"/contacts/{contact.pk}", api_headers, {"stage_reason": "why"})
    assert response.status_code == 422


def test_a_manager_assigns_an_owner_and_clears_a_company(call, manager_api_headers, rep):
    headers = manager_api_headers
    contact = ContactFactory(company=CompanyFactory())
    response = call(
        "patch", f"/contacts/{contact.pk}", headers, {"owner_id": rep.pk, "company_id": None}
    )
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.owner == rep
    assert contact.company is None
    assert contact.activities.filter(kind=ActivityKind.OWNER_ASSIGNED).exists()


def test_a_rep_may_take_an_unassigned_lead_but_not_give_it_away(
    call, rep_api_headers, rep, other_rep
):
    contact = ContactFactory(owner=None)
    response = call("patch", f"/contacts/{contact.pk}", rep_api_headers, {"owner_id": other_rep.pk})
    assert response.status_code == 403
    response = call("patch", f"/contacts/{contact.pk}", rep_api_headers, {"owner_id": rep.pk})
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.owner == rep


def test_a_taken_email_is_a_409_and_nothing_else_changes(call, api_headers):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(lifecycle_stage=LifecycleStage.LEAD, first_name="Ann")
    response = call(
        "patch",
        f"/contacts/{contact.pk}",
        api_headers,
        {"email": "taken@example.com", "first_name": "Bo", "lifecycle_stage": "mql"},
    )
    assert response.status_code == 409
    contact.refresh_from_db()
    assert (contact.first_name, contact.lifecycle_stage) == ("Ann", "lead")


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": None},
        {"score": 5},  # the score belongs to scoring, not to a profile edit
        {"lifecycle_stage": None},
        {"attributes": None},
        {"id": 7},
        {"country": "xyz"},
    ],
)
def test_patch_refuses_nulls_for_required_columns_and_unknown_fields(call, api_headers, body):
    contact = ContactFactory(first_name="Ann")
    response = call("patch", f"/contacts/{contact.pk}", api_headers, body)
    assert response.status_code == 422
    contact.refresh_from_db()
    assert contact.first_name == "Ann"


def test_an_email_can_be_removed(call, api_headers):
    contact = ContactFactory(email="gone@example.com")
    response = call("patch", f"/contacts/{contact.pk}", api_headers, {"email": None})
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.email is None


def test_delete_removes_the_contact(call, api_headers):
    contact = ContactFactory()
    assert call("delete", f"/contacts/{contact.pk}", api_headers).status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert call("get", f"/contacts/{contact.pk}", api_headers).status_code == 404


# Timeline ---------------------------------------------------------------------------------


def test_the_timeline_lists_newest_first_and_takes_new_entries(call, api_headers, admin_user):
    contact = ContactFactory()
    old = ActivityFactory(contact=contact, occurred_at="2024-01-01T10:00:00Z")
    response = call(
        "post",
        f"/contacts/{contact.pk}/activities",
        api_headers,
        {"kind": "call", "data": {"minutes": 12, "outcome": "demo booked"}},
    )
    assert response.status_code == 201, response.content
    assert response.json()["actor"]["id"] == admin_user.pk

    timeline = call("get", f"/contacts/{contact.pk}/activities", api_headers).json()
    assert [entry["kind"] for entry in timeline] == ["call", "note"]
    assert timeline[1]["id"] == old.pk
    assert timeline[0]["data"] == {"minutes": 12, "outcome": "demo booked"}

    only_notes = call("get", f"/contacts/{contact.pk}/activities", api_headers, kind="note")
    assert [entry["id"] for entry in only_notes.json()] == [old.pk]
    limited = call("get", f"/contacts/{contact.pk}/activities", api_headers, limit=1)
    assert len(limited.json()) == 1


def test_a_past_activity_keeps_its_time_and_a_naive_time_is_utc(call, api_headers):
    contact = ContactFactory()
    response = call(
        "post",
        f"/contacts/{contact.pk}/activities",
        api_headers,
        {"kind": "meeting", "occurred_at": "2024-03-01T09:30:00"},
    )
    assert response.status_code == 201
    assert response.json()["occurred_at"].startswith("2024-03-01T09:30:00")


def test_an_offset_postgresql_cannot_store_is_taken_as_the_same_moment_in_utc(call, api_headers):
    contact = ContactFactory()
    response = call(
        "post",
        f"/contacts/{contact.pk}/activities",
        api_headers,
        {"kind": "note", "occurred_at": "2360-07-04T07:24:06+18:05"},
    )
    assert response.status_code == 201
    assert response.json()["occurred_at"].startswith("2360-07-03T13:19:06")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "deal_won"},  # written by the sales services, not by hand
        {"kind": "dance"},
        {"kind": "note", "data": "text"},
        {"kind": "note", "occurred_at": "0001-01-01T00:00:00+14:00"},
        {"kind": "note", "extra": 1},
        {},
    ],
)
def test_bad_activities_are_a_422(call, api_headers, body):
    contact = ContactFactory()
    response = call("post", f"/contacts/{contact.pk}/activities", api_headers, body)
    assert response.status_code == 422
    assert not Activity.objects.filter(contact=contact).exists()


def test_timeline_reads_cost_the_same_queries_for_2_or_20(
    call, api_headers, admin_user, django_assert_max_num_queries
):
    contact = ContactFactory()
    ActivityFactory.create_batch(
        2, contact=contact, actor=admin_user, campaign=CampaignFactory(), channel=ChannelFactory()
    )
    path = f"/contacts/{contact.pk}/activities"
    call("get", path, api_headers)
    with django_assert_max_num_queries(3) as few:
        call("get", path, api_headers)
    ActivityFactory.create_batch(18, contact=contact, actor=admin_user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(call("get", path, api_headers).json()) == 20


# What a rep may see -----------------------------------------------------------------------


def test_a_rep_sees_only_their_own_and_unassigned_contacts(call, rep_api_headers, rep, other_rep):
    mine = ContactFactory(owner=rep)
    unassigned = ContactFactory(owner=None)
    ContactFactory(owner=other_rep)

    assert set(ids(call("get", "/contacts", rep_api_headers))) == {mine.pk, unassigned.pk}
    # Filtering by another rep shows nothing rather than their contacts.
    assert ids(call("get", "/contacts", rep_api_headers, owner=other_rep.pk)) == []


def test_a_rep_sees_no_unassigned_contacts_when_the_workspace_says_so(call, rep_api_headers, rep):
    Workspace.objects.update_or_create(pk=1, defaults={"reps_see_unassigned": False})
    mine = ContactFactory(owner=rep)
    unassigned = ContactFactory(owner=None)
    assert ids(call("get", "/contacts", rep_api_headers)) == [mine.pk]
    assert call("get", f"/contacts/{unassigned.pk}", rep_api_headers).status_code == 404


def test_another_reps_contact_is_a_404_everywhere_and_stays_untouched(
    call, rep_api_headers, other_rep
):
    theirs = ContactFactory(owner=other_rep, first_name="Ann")
    base = f"/contacts/{theirs.pk}"

    assert call("get", base, rep_api_headers).status_code == 404
    assert call("patch", base, rep_api_headers, {"first_name": "Bo"}).status_code == 404
    assert call("delete", base, rep_api_headers).status_code == 404
    assert call("get", f"{base}/activities", rep_api_headers).status_code == 404
    assert call("post", f"{base}/activities", rep_api_headers, {"kind": "note"}).status_code == 404
    assert call("get", f"{base}/stage-history", rep_api_headers).status_code == 404

    theirs.refresh_from_db()
    assert theirs.first_name == "Ann"
    assert not theirs.activities.exists()


def test_a_rep_works_their_own_contact(call, rep_api_headers, rep):
    mine = ContactFactory(owner=rep)
    base = f"/contacts/{mine.pk}"
    assert call("get", base, rep_api_headers).status_code == 200
    assert call("patch", base, rep_api_headers, {"job_title": "CFO"}).status_code == 200
    assert call("post", f"{base}/activities", rep_api_headers, {"kind": "call"}).status_code == 201
    assert call("delete", base, rep_api_headers).status_code == 204


# Companies --------------------------------------------------------------------------------


def test_company_crud(call, api_headers):
    response = call(
        "post",
        "/companies",
        api_headers,
        {"name": "Acme", "domain": "WWW.Acme.example", "size": 40, "country": "de"},
    )
    assert response.status_code == 201, response.content
    company = response.json()
    assert (company["domain"], company["country"]) == ("acme.example", "DE")
    assert (company["external_id"], company["attributes"]) == (None, {})
    path = f"/companies/{company['id']}"
    Company.objects.filter(pk=company["id"]).update(external_id="A-1", attributes={"tier": "1"})
    got = call("get", path, api_headers).json()
    assert (got["external_id"], got["attributes"]) == ("A-1", {"tier": "1"})

    assert call("get", path, api_headers).json()["name"] == "Acme"
    response = call("patch", path, api_headers, {"industry": "Rockets", "size": None})
    assert response.status_code == 200
    assert (response.json()["industry"], response.json()["size"]) == ("Rockets", None)
    assert response.json()["attributes"] == {"tier": "1"}  # not sent, not changed
    response = call("patch", path, api_headers, {"attributes": {"tier": "2", "region": "EMEA"}})
    assert response.json()["attributes"] == {"tier": "2", "region": "EMEA"}
    assert call("patch", path, api_headers, {"attributes": None}).status_code == 422
    assert call("delete", path, api_headers).status_code == 204
    assert call("get", path, api_headers).status_code == 404


def test_a_taken_domain_is_a_409(call, api_headers):
    CompanyFactory(domain="acme.example")
    response = call("post", "/companies", api_headers, {"name": "Acme 2", "domain": "acme.example"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "Acme", "size": -1},
        {"name": "Acme", "size": 2**31},
        {"name": "Acme", "domain": "a b"},
        {"name": "Acme", "country": "Germany"},
        {"name": "Acme", "owner": 1},
        {"name": "Acme", "attributes": "tier=1"},
    ],
)
def test_bad_companies_are_a_422(call, api_headers, body):
    assert call("post", "/companies", api_headers, body).status_code == 422
    assert not Company.objects.exists()


def test_companies_page_by_id_and_search_name_and_domain(call, api_headers):
    made = [CompanyFactory(name=f"Firm {index}") for index in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = call("get", "/companies", api_headers, **params)
        seen += ids(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [company.pk for company in made]

    CompanyFactory(name="Rocket Labs", domain="rl.example")
    CompanyFactory(name="Other", domain="rocketry.example")
    found = call("get", "/companies", api_headers, search="rocket").json()["items"]
    assert {company["name"] for company in found} == {"Rocket Labs", "Other"}


def test_a_rep_may_not_delete_a_company_but_a_manager_may(
    call, rep_api_headers, manager_api_headers
):
    company = CompanyFactory()
    assert call("delete", f"/companies/{company.pk}", rep_api_headers).status_code == 403
    assert Company.objects.filter(pk=company.pk).exists()
    # Reps do keep companies up to date.
    response = call("patch", f"/companies/{company.pk}", rep_api_headers, {"industry": "X"})
    assert response.status_code == 200

    response = call("delete", f"/companies/{company.pk}", manager_api_headers)
    assert response.status_code == 204


def test_deleting_a_company_keeps_its_contacts(call, api_headers):
    contact = ContactFactory(company=CompanyFactory())
    assert call("delete", f"/companies/{contact.company_id}", api_headers).status_code == 204
    contact.refresh_from_db()
    assert contact.company is None


def test_listing_companies_costs_the_same_queries_for_2_or_20(
    call, api_headers, django_assert_max_num_queries
):
    CompanyFactory.create_batch(2)
    call("get", "/companies", api_headers)
    with django_assert_max_num_queries(2) as few:
        call("get", "/companies", api_headers)
    CompanyFactory.create_batch(18)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(call("get", "/companies", api_headers))) == 20
