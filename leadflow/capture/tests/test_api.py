"""The capture API: forms, landing pages, submissions, tracking, webhooks, inbound sources."""

import pytest
from django.core.cache import cache
from django.test import Client

from leadflow.capture.models import Form, InboundSource, TrackingEvent
from leadflow.capture.tests.factories import make_signup_form

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Pipeline guide",
    "slug": "pipeline-guide",
    "fields": [
        {
            "name": "email",
            "label": "Work email",
            "kind": "email",
            "required": True,
            "maps_to": "email",
        },
        {
            "name": "company_size",
            "label": "Company size",
            "kind": "select",
            "options": ["1-10", "11-50", "51+"],
            "maps_to": "attr.company_size",
        },
        {
            "name": "consent",
            "label": "Consent",
            "kind": "consent",
            "required": True,
            "consent_text": "I agree to receive the guide.",
        },
    ],
}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


@pytest.fixture
def api(api_headers):
    return Client(**api_headers)


@pytest.fixture
def rep_api(rep_api_headers):
    return Client(**rep_api_headers)


def test_marketing_builds_a_form_that_works_at_once(api):
    response = api.post("/api/v1/forms", FORM, content_type="application/json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["public_url"].endswith("/f/pipeline-guide")
    assert "embed.js" in body["embed_script"]
    assert [f["name"] for f in body["fields"]] == ["email", "company_size", "consent"]
    posted = Client().post(
        "/f/pipeline-guide", {"email": "a@example.com", "consent": "on", "company_size": "11-50"}
    )
    assert posted.status_code == 200


def test_a_taken_slug_or_a_form_without_email_is_refused(api):
    api.post("/api/v1/forms", FORM, content_type="application/json")
    again = api.post("/api/v1/forms", FORM, content_type="application/json")
    assert again.status_code == 409

    no_email = {**FORM, "slug": "other", "fields": [FORM["fields"][1]]}
    assert api.post("/api/v1/forms", no_email, content_type="application/json").status_code == 422


@pytest.mark.parametrize(
    "change",
    [
        {"slug": "Not A Slug"},
        {"unknown": 1},
        {"fields": [{"name": "email", "label": "E", "kind": "dropdown"}]},
        {"fields": [{"name": "x", "label": "X", "maps_to": "owner"}]},
        {"lead_magnet_id": 999999},
        {"name": "x" * 201},
    ],
)
def test_bad_form_definitions_get_422(api, change):
    response = api.post("/api/v1/forms", {**FORM, **change}, content_type="application/json")
    assert response.status_code == 422, response.content
    assert not Form.objects.exists()


def test_reps_read_forms_but_do_not_change_them(rep_api):
    make_signup_form(slug="guide")
    assert rep_api.get("/api/v1/forms").status_code == 200
    assert rep_api.post("/api/v1/forms", FORM, content_type="application/json").status_code == 403


def test_landing_pages_and_submissions_through_the_api(api):
    form_id = api.post("/api/v1/forms", FORM, content_type="application/json").json()["id"]
    page = api.post(
        "/api/v1/landing-pages",
        {
            "slug": "guide",
            "title": "Get the guide",
            "form_id": form_id,
            "is_published": True,
            "blocks": [{"type": "headline", "text": "Fill your pipeline"}, {"type": "form"}],
        },
        content_type="application/json",
    )
    assert page.status_code == 201, page.content
    assert Client().get("/p/guide").status_code == 200

    Client().post("/f/pipeline-guide", {"email": "a@example.com", "consent": "on"})
    submissions = api.get(f"/api/v1/forms/{form_id}/submissions").json()
    assert submissions["items"][0]["data"]["email"] == "a@example.com"
    assert submissions["items"][0]["status"] == "processed"


def test_server_side_tracking_events_are_validated_like_the_script(api):
    ok = api.post(
        "/api/v1/tracking/events",
        {"vid": "abcdefgh1234", "url": "https://acme.example/x"},
        content_type="application/json",
    )
    assert ok.status_code == 202
    bad = api.post(
        "/api/v1/tracking/events",
        {"vid": "abcdefgh1234", "url": "ftp://x"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    listed = api.get("/api/v1/tracking/events?visitor_id=abcdefgh1234").json()
    assert [e["url"] for e in listed["items"]] == ["https://acme.example/x"]
    assert TrackingEvent.objects.count() == 1


def test_only_admins_manage_secrets(api, rep_api):
    created = api.post(
        "/api/v1/inbound-sources",
        {"name": "Ads", "slug": "ads", "field_mapping": {"email": "email"}},
        content_type="application/json",
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("lfin_")
    assert secret not in InboundSource.objects.get().secret_hash
    assert "secret" not in api.get("/api/v1/inbound-sources").json()[0]
    assert rep_api.get("/api/v1/inbound-sources").status_code == 403

    hook = api.post(
        "/api/v1/webhooks",
        {"name": "Sync", "url": "https://hooks.example/x", "events": ["contact.created"]},
        content_type="application/json",
    )
    assert hook.status_code == 201
    assert hook.json()["secret"].startswith("whsec_")
    assert rep_api.get("/api/v1/webhooks").status_code == 403


def test_capture_operations_are_in_the_openapi_schema(api):
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/forms",
        "/api/v1/landing-pages",
        "/api/v1/tracking/events",
        "/api/v1/webhooks",
        "/api/v1/inbound-sources",
    ):
        assert path in paths


@pytest.mark.parametrize(
    "mapping",
    [{"owner": "x"}, {"email\u0000": "x"}, {"attr.Bad Name": "x"}, {"email": ""}],
)
def test_an_inbound_mapping_names_only_contact_fields_or_attributes(api, mapping):
    response = api.post(
        "/api/v1/inbound-sources",
        {"name": "Ads", "slug": "ads", "field_mapping": mapping},
        content_type="application/json",
    )
    assert response.status_code == 422
