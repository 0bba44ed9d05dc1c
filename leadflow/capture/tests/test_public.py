"""The public form endpoint, embed snippet and landing pages, as a visitor's browser or a
script on a customer's site would use them."""

import json

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from leadflow.capture import protection
from leadflow.capture.models import Submission, SubmissionStatus
from leadflow.capture.tests.factories import LandingPageFactory, make_signup_form
from leadflow.contacts.models import ActivityKind, ChannelKind, ConsentState, Contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def form():
    return make_signup_form(slug="guide")


@pytest.fixture
def visitor():
    return Client(REMOTE_ADDR="203.0.113.7")


def post(client, slug, data, **extra):
    return client.post(f"/f/{slug}", data, **extra)


def test_the_form_renders_for_anyone(visitor, form):
    response = visitor.get("/f/guide")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="email"' in html and 'name="consent"' in html
    assert "I agree to receive the guide" in html
    assert 'name="_ts"' in html


def test_a_submission_creates_the_contact_with_its_first_touch(visitor, form):
    response = post(
        visitor,
        "guide",
        {
            "email": "  Ada@Example.COM ",
            "first_name": "Ada",
            "consent": "on",
            "_page": "https://acme.example/p/guide?utm_source=google&utm_medium=cpc&utm_campaign=q4",
            "_ref": "https://www.google.com/",
        },
    )

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    contact = Contact.objects.get()
    assert contact.email == "ada@example.com"
    assert contact.first_name == "Ada"
    assert contact.first_touch_channel.kind == ChannelKind.PAID_SEARCH
    assert contact.first_touch_campaign.name == "q4"
    assert contact.consent == ConsentState.GRANTED
    submitted = contact.activities.get(kind=ActivityKind.FORM_SUBMITTED)
    assert submitted.data["values"]["first_name"] == "Ada"
    assert submitted.data["utm"]["utm_campaign"] == "q4"
    consent = contact.activities.get(kind=ActivityKind.CONSENT_CHANGED)
    assert consent.data["wording"].startswith("I agree to receive the guide")
    assert consent.data["ip"] == "203.0.113.7"
    assert Submission.objects.get().status == SubmissionStatus.PROCESSED


def test_the_same_person_again_is_the_same_contact_with_a_new_last_touch(visitor, form):
    post(
        visitor,
        "guide",
        {"email": "ada@example.com", "consent": "on", "_ref": "https://www.google.com/"},
    )
    post(
        visitor,
        "guide",
        {
            "email": "ADA@example.com ",
            "consent": "on",
            "first_name": "Ada",
            "_page": "https://acme.example/?utm_medium=email",
        },
    )

    contact = Contact.objects.get()
    assert contact.first_touch_channel.kind == ChannelKind.ORGANIC_SEARCH
    assert contact.last_touch_channel.kind == ChannelKind.EMAIL
    assert contact.first_name == "Ada"
    assert contact.activities.filter(kind=ActivityKind.FORM_SUBMITTED).count() == 2


def test_json_posts_get_json_answers(visitor, form):
    response = visitor.post(
        "/f/guide",
        json.dumps({"email": "js@example.com", "consent": True}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response["Access-Control-Allow-Origin"] == "*"
    assert Contact.objects.filter(email="js@example.com").exists()


def test_missing_and_invalid_values_are_explained_and_kept(visitor, form):
    response = post(visitor, "guide", {"email": "not-an-email", "first_name": "Keep me"})

    assert response.status_code == 422
    html = response.content.decode()
    assert "Keep me" in html
    assert "Please tick this box" in html
    assert not Contact.objects.exists()

    response = visitor.post("/f/guide", json.dumps({"email": ""}), content_type="application/json")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"email", "consent"}


def test_script_in_a_value_is_stored_as_text_and_shown_escaped(visitor, form):
    payload = "<script>alert(1)</script>"
    response = post(visitor, "guide", {"email": "bad", "first_name": payload})
    assert payload not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()

    post(visitor, "guide", {"email": "x@example.com", "first_name": payload, "consent": "on"})
    assert Contact.objects.get().first_name == payload


def test_a_filled_honeypot_looks_like_success_but_creates_nothing(visitor, form):
    response = post(
        visitor,
        "guide",
        {"email": "bot@example.com", "consent": "on", "_hp": "http://spam.example"},
    )
    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert Submission.objects.get().status == SubmissionStatus.SPAM


def test_a_form_sent_back_faster_than_a_person_types_is_spam(visitor):
    make_signup_form(slug="slow", min_fill_seconds=30)
    token = protection.render_token()
    post(visitor, "slow", {"email": "fast@example.com", "consent": "on", "_ts": token})
    assert not Contact.objects.exists()
    assert Submission.objects.get().errors["__spam__"].startswith("submitted faster")


def test_a_forged_timestamp_is_spam(visitor, form):
    post(visitor, "guide", {"email": "f@example.com", "consent": "on", "_ts": "1:forged"})
    assert not Contact.objects.exists()


def test_forged_fields_never_reach_the_contact(visitor, form, rep):
    post(
        visitor,
        "guide",
        {
            "email": "ada@example.com",
            "consent": "on",
            "owner": str(rep.pk),
            "lifecycle_stage": "customer",
            "score": "100",
        },
    )
    contact = Contact.objects.get()
    assert contact.owner is None
    assert contact.lifecycle_stage == "lead"
    assert contact.score == 0
    assert Submission.objects.get().data["_unknown"]["lifecycle_stage"] == "customer"


def test_consent_needs_the_consent_box_itself(visitor):
    form = make_signup_form(slug="optional-consent")
    form.fields.filter(name="consent").update(required=False)
    post(visitor, "optional-consent", {"email": "n@example.com", "consent_given": "yes"})
    assert Contact.objects.get().consent == ConsentState.UNKNOWN


def test_oversized_and_malformed_payloads_get_clear_4xx(visitor, form):
    big = visitor.post("/f/guide", {"email": "a@example.com", "first_name": "x" * 1_000_000})
    assert big.status_code == 413

    bad_utf8 = visitor.post(
        "/f/guide", b"email=\xff\xfe@example.com", content_type="application/x-www-form-urlencoded"
    )
    assert bad_utf8.status_code == 400

    bad_json = visitor.post("/f/guide", "{nope", content_type="application/json")
    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.json()["error"]

    array = visitor.post("/f/guide", "[1, 2]", content_type="application/json")
    assert array.status_code == 400
    assert not Contact.objects.exists()


@override_settings(CAPTURE_RATE_PER_IP="3/m")
def test_a_burst_from_one_address_is_rate_limited(visitor, form):
    codes = [
        post(visitor, "guide", {"email": f"p{i}@example.com", "consent": "on"}).status_code
        for i in range(5)
    ]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    # Another visitor is not punished for the first one's burst.
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert post(other, "guide", {"email": "ok@example.com", "consent": "on"}).status_code == 200


def test_a_failure_after_receipt_keeps_the_submission_for_retry(visitor, form, monkeypatch):
    from leadflow.capture import services
    from leadflow.capture.tasks import retry_submission

    def broken(**kwargs):
        raise RuntimeError("attribution is down")

    monkeypatch.setattr(services, "attribute_touch", broken)
    response = post(visitor, "guide", {"email": "kept@example.com", "consent": "on"})

    assert response.status_code == 200
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.FAILED
    assert submission.data["email"] == "kept@example.com"
    assert not Contact.objects.exists()

    monkeypatch.undo()
    retry_submission.call(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PROCESSED
    assert submission.contact.email == "kept@example.com"


def test_unknown_or_unpublished_forms_are_404(visitor, form):
    form.is_published = False
    form.save()
    assert visitor.get("/f/guide").status_code == 404
    assert visitor.post("/f/nope", {"email": "a@example.com"}).status_code == 404


def test_the_embed_snippet_puts_the_form_in_an_iframe(visitor, form):
    response = visitor.get("/f/guide/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert "http://testserver/f/guide" in body and "iframe" in body
    assert visitor.options("/f/guide").status_code == 204


def test_the_form_page_may_be_framed_by_other_sites(visitor, form):
    assert "X-Frame-Options" not in visitor.get("/f/guide")


def test_a_landing_page_shows_its_blocks_and_form_with_the_visit_context(visitor, form):
    LandingPageFactory(slug="guide", form=form)
    response = visitor.get(
        "/p/guide?utm_source=newsletter&utm_medium=email", HTTP_REFERER="https://mail.google.com/"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fill your pipeline" in html
    assert 'property="og:title"' in html
    assert "utm_medium=email" in html  # carried into the form's _page field
    assert 'value="https://mail.google.com/"' in html


def test_a_draft_landing_page_is_not_public(visitor, form):
    LandingPageFactory(slug="draft", form=form, is_published=False)
    assert visitor.get("/p/draft").status_code == 404


def test_a_javascript_link_in_a_block_never_reaches_the_public_page(visitor, form):
    LandingPageFactory(
        slug="sneaky",
        form=form,
        blocks=[
            {"type": "button", "text": "Go", "url": "javascript:alert(1)"},
            {"type": "image", "url": "JaVaScRiPt:alert(2)", "alt": "x"},
        ],
    )
    html = visitor.get("/p/sneaky").content.decode().lower()
    assert "javascript:" not in html


def test_links_within_the_site_stay_and_disguised_scripts_go(visitor, form):
    LandingPageFactory(
        slug="links",
        form=form,
        blocks=[
            {"type": "button", "text": "Tab", "url": "java\tscript:alert(3)"},
            {"type": "button", "text": "Data", "url": "data:text/html,<b>x</b>"},
            {"type": "button", "text": "Pricing", "url": "/p/pricing"},
            {"type": "button", "text": "Write", "url": "mailto:sales@acme.example"},
        ],
    )
    html = visitor.get("/p/links").content.decode().lower()
    assert "script:alert" not in html and "data:text" not in html
    assert 'href="/p/pricing"' in html and 'href="mailto:sales@acme.example"' in html


@override_settings(CAPTURE_RATE_PER_FORM="2/m")
def test_under_a_burst_on_one_form_every_real_submission_is_kept(
    form, django_capture_on_commit_callbacks
):
    from leadflow.capture.tasks import retry_submission

    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            post(
                Client(REMOTE_ADDR=f"198.51.100.{i}"),
                "guide",
                {"email": f"p{i}@example.com", "consent": "on"},
            ).status_code
            for i in range(5)
        ]
    assert codes == [200] * 5
    assert Submission.objects.count() == 5
    waiting = Submission.objects.filter(status=SubmissionStatus.RECEIVED)
    assert waiting.count() == 3  # past the form's rate: kept for the worker
    for submission in waiting:
        retry_submission.call(submission_id=submission.pk)
    assert Contact.objects.count() == 5


def test_sql_fragments_are_stored_as_text(visitor, form):
    payload = "Robert'); DROP TABLE contacts_contact;--"
    response = post(
        visitor, "guide", {"email": "bobby@example.com", "first_name": payload, "consent": "on"}
    )
    assert response.status_code == 200
    assert Contact.objects.get().first_name == payload


@pytest.mark.parametrize("encoded", ["json", "form"])
def test_nul_and_lone_surrogates_are_stored_harmlessly(visitor, form, encoded):
    values = {
        "email": "nul@example.com",
        "consent": "on",
        "first_name": "Ann\u0000e",
        "utm_note\u0000": "x\u0000y",
        "_page": "https://acme.example/\u0000",
    }
    if encoded == "json":
        values["nickname"] = "\ud800lone"
        response = visitor.post("/f/guide", json.dumps(values), content_type="application/json")
    else:
        response = visitor.post("/f/guide", values)
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert contact.first_name == "Anne"
    assert "\x00" not in json.dumps(Submission.objects.get().data)
