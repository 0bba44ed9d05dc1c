"""Leads pushed by lead-ads platforms and other tools to /in/<slug>."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from leadflow.capture import inbound
from leadflow.capture.models import InboundLead, SubmissionStatus
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.contacts.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

# The shape Facebook lead ads use: answers as a list of {name, values}.
LEAD = {
    "leadgen_id": "4432",
    "created_time": "2026-11-20T10:00:00+0000",
    "field_data": [
        {"name": "email", "values": ["Ann@Example.com"]},
        {"name": "full_name", "values": ["Ann Smith"]},
        {"name": "budget", "values": ["10k-50k"]},
    ],
}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


@pytest.fixture
def source():
    campaign = CampaignFactory(name="Lead ads Q4")
    source, secret = inbound.create_source(
        name="Facebook lead ads",
        slug="fb-leads",
        id_path="leadgen_id",
        field_mapping={
            "email": "field_data.name=email.values.0",
            "first_name": "field_data.name=full_name.values.0",
            "attr.budget": "field_data.name=budget.values.0",
        },
        campaign=campaign,
        channel=campaign.channel,
    )
    source.test_secret = secret
    return source


def push(payload, secret, slug="fb-leads", header="HTTP_AUTHORIZATION"):
    value = f"Bearer {secret}" if header == "HTTP_AUTHORIZATION" else secret
    return Client().post(
        f"/in/{slug}", json.dumps(payload), content_type="application/json", **{header: value}
    )


def test_a_pushed_lead_becomes_a_contact_on_the_sources_campaign(source):
    response = push(LEAD, source.test_secret)

    assert response.status_code == 201
    assert response.json()["duplicate"] is False
    contact = Contact.objects.get()
    assert contact.email == "ann@example.com"
    assert contact.first_name == "Ann Smith"
    assert contact.attributes == {"budget": "10k-50k"}
    assert contact.first_touch_campaign == source.campaign
    activity = contact.activities.get(kind=ActivityKind.FORM_SUBMITTED)
    assert activity.data["external_id"] == "4432"


def test_a_resent_lead_makes_no_duplicate(source):
    push(LEAD, source.test_secret)
    again = push(LEAD, source.test_secret, header="HTTP_X_LEADFLOW_SECRET")

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert Contact.objects.count() == 1
    assert InboundLead.objects.count() == 1


@pytest.mark.parametrize("secret", ["", "lfin_wrong"])
def test_a_missing_or_wrong_secret_is_refused(source, secret):
    assert push(LEAD, secret).status_code == 401
    assert not InboundLead.objects.exists()


def test_an_unknown_source_answers_like_a_wrong_secret(source):
    assert push(LEAD, source.test_secret, slug="nope").status_code == 401


def test_malformed_payloads_get_clear_errors(source):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {source.test_secret}")
    assert client.post("/in/fb-leads", "{", content_type="application/json").status_code == 400
    assert client.post("/in/fb-leads", "[]", content_type="application/json").status_code == 400
    big = json.dumps({"leadgen_id": "1", "pad": "x" * 300_000})
    assert client.post("/in/fb-leads", big, content_type="application/json").status_code == 413
    no_id = client.post(
        "/in/fb-leads", json.dumps({"field_data": []}), content_type="application/json"
    )
    assert no_id.status_code == 422
    assert "leadgen_id" in no_id.json()["error"]


def test_a_lead_without_email_is_kept_and_marked_invalid(source):
    response = push({"leadgen_id": "9", "field_data": []}, source.test_secret)
    assert response.status_code == 201
    assert response.json()["errors"] == {"email": "No email at the mapped path."}
    assert InboundLead.objects.get().status == SubmissionStatus.INVALID
    assert not Contact.objects.exists()


def test_the_secret_is_stored_only_as_a_hash(source):
    source.refresh_from_db()
    assert source.test_secret not in source.secret_hash
    assert inbound.secret_matches(source, source.test_secret)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("leadgen_id", "4432"),
        ("field_data.name=email.values.0", "Ann@Example.com"),
        ("field_data.1.name", "full_name"),
        ("field_data.name=missing.values.0", None),
        ("field_data.9", None),
        ("nope.deeper", None),
    ],
)
def test_paths_pick_values_from_nested_json(path, expected):
    assert inbound.pick(LEAD, path) == expected


def test_nul_in_a_pushed_lead_is_stored_harmlessly(source):
    lead = {**LEAD, "leadgen_id": "77", "note": "a\u0000b\ud800"}
    assert push(lead, source.test_secret).status_code == 201
    assert InboundLead.objects.get().payload["note"] == "ab\ufffd"
