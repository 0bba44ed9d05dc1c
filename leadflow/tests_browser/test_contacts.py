from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leadflow.contacts import services
from leadflow.contacts.models import ActivityKind, LifecycleStage
from leadflow.contacts.tests.factories import (
    ActivityFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
)
from leadflow.sales.tests.factories import DealFactory
from leadflow.tests_browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAGES = [LifecycleStage.LEAD, LifecycleStage.MQL, LifecycleStage.SQL, LifecycleStage.CUSTOMER]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
]


def _workspace(n: int = 60) -> None:
    now = timezone.now()
    companies = [CompanyFactory(name=name) for name in ("Acme Rockets", "Globex", "Initech")]
    channels = [ChannelFactory(name=name) for name in ("Google Ads", "Newsletter", "Referral")]
    for i in range(n):
        ContactFactory(
            first_name=FIRST[i % 10],
            last_name=f"{LAST[i // 10 % 10]}",
            email=f"person{i}@example.com",
            company=companies[i % 3],
            lifecycle_stage=STAGES[i % 4],
            score=(i * 37) % 100,
            first_touch_channel=channels[i % 3],
            created_at=now - timedelta(hours=i * 7),
        )
    ContactFactory(
        first_name="Zebulon",
        last_name="Pike",
        email="zeb@pike.example",
        created_at=now - timedelta(days=90),
    )


def test_sign_in_list_search_and_page_through_contacts(signed_in):
    page = signed_in
    _workspace()
    page.goto("/contacts/")

    rows = page.locator("#contacts-table tbody tr")
    assert rows.count() == 50
    assert "61 contacts" in page.locator("#result-count").inner_text()
    screenshot(page, "contacts_list")

    page.get_by_label("Search contacts", exact=True).fill("zebulon")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=zebulon**")
    assert rows.count() == 1
    assert "Zebulon Pike" in rows.first.inner_text()

    page.goto("/contacts/")
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**cursor=**")
    assert rows.count() == 11
    assert "Zebulon Pike" in rows.last.inner_text()
    page.get_by_role("link", name="Previous").click()
    page.wait_for_url("**dir=prev**")
    assert rows.count() == 50


def test_filter_chips_apply_and_clear(signed_in):
    page = signed_in
    _workspace(20)
    page.goto("/contacts/")

    page.get_by_label("Stage").select_option("mql")
    page.wait_for_url("**stage=mql**")
    stages = page.locator("#contacts-table tbody tr .badge").all_inner_texts()
    assert stages and set(stages) == {"MQL"}
    screenshot(page, "contacts_filtered")

    page.get_by_role("link", name="Clear the stage filter").click()
    page.wait_for_url("**/contacts/?**")
    assert page.locator("#contacts-table tbody tr").count() == 21


def test_global_search_answers_as_you_type(signed_in):
    page = signed_in
    _workspace(5)
    page.locator("#global-search-input").press_sequentially("zebu", delay=40)
    result = page.locator("#search-results").get_by_role("link", name="Zebulon Pike")
    result.wait_for()
    screenshot(page, "global_search")
    result.click()
    page.wait_for_url("**/contacts/*/")
    assert page.locator("h1").inner_text() == "Zebulon Pike"


def test_contact_page_shows_profile_timeline_deals_and_takes_a_note(signed_in):
    page = signed_in
    contact = ContactFactory(
        first_name="Grace",
        last_name="Hopper",
        email="grace@navy.example",
        phone="+1 555 0100",
        job_title="Rear admiral",
        company=CompanyFactory(name="US Navy"),
        score=87,
        lifecycle_stage=LifecycleStage.SQL,
        owner=page.user,
        first_touch_channel=ChannelFactory(name="Conference"),
        attributes={"Plan interest": "Enterprise", "Seats": 120},
    )
    services.change_stage(
        contact=contact,
        to_stage=LifecycleStage.OPPORTUNITY,
        actor=page.user,
        reason="Asked for a proposal for 120 seats",
    )
    ActivityFactory(
        contact=contact, kind=ActivityKind.PAGE_VIEW, data={"title": "Pricing", "url": "/pricing"}
    )
    ActivityFactory(
        contact=contact, kind=ActivityKind.NOTE, data={"text": "Prefers email before noon."}
    )
    DealFactory(contact=contact, name="Fleet licence", amount=Decimal("48000"))
    DealFactory(contact=contact, name="Training", amount=Decimal("6500"), stage="proposal")

    page.goto(f"/contacts/{contact.pk}/")
    assert page.locator("h1").inner_text() == "Grace Hopper"
    assert page.get_by_text("grace@navy.example").first.is_visible()
    timeline = page.locator("#timeline")
    assert "Prefers email before noon." in timeline.inner_text()
    deals = page.locator("#deals")
    assert "Fleet licence" in deals.inner_text() and "48,000 USD" in deals.inner_text()
    screenshot(page, "contact_page")

    page.get_by_label("Note").fill("Called: wants the proposal by Friday <b>urgent</b>")
    page.get_by_role("button", name="Save note").click()
    first_item = timeline.locator(".tl-item").first
    first_item.get_by_text("wants the proposal by Friday").wait_for()
    assert "<b>urgent</b>" in first_item.inner_text()  # markup shows as text
    assert page.get_by_label("Note").input_value() == ""
    screenshot(page, "contact_page_note_added")

    page.reload()
    assert "wants the proposal by Friday" in page.locator("#timeline .tl-item").first.inner_text()

    page.locator("#timeline").get_by_role("link", name="Notes").click()
    page.locator("#timeline .pill[aria-current=true]", has_text="Notes").wait_for()
    assert page.locator("#timeline .tl-item").count() == 2


def test_deals_list_and_forms_render(signed_in):
    page = signed_in
    contact = ContactFactory(first_name="Alan", last_name="Turing", company=CompanyFactory())
    for i, stage in enumerate(["qualification", "discovery", "proposal", "negotiation"]):
        DealFactory(
            contact=contact, name=f"Bombe {i + 1}", amount=Decimal(10_000 * (i + 1)), stage=stage
        )
    page.goto("/deals/")
    assert page.locator("#deals-table tbody tr").count() == 4
    assert "100,000" in page.locator(".tiles").inner_text()
    screenshot(page, "deals_list")

    page.goto(f"/deals/new/?contact={contact.pk}")
    page.get_by_label("Deal name").fill("Enigma support")
    page.get_by_label("Stage").select_option("lost")
    page.get_by_role("button", name="Create deal").click()
    page.get_by_text("Say why the deal was lost").wait_for()
    assert page.get_by_label("Deal name").input_value() == "Enigma support"
    screenshot(page, "deal_form_error")


def test_sign_in_page_and_not_found(page, live_server):
    page.goto("/login/")
    screenshot(page, "login")
    page.goto("/no-such-page/")
    assert "couldn't find" in page.locator("h1").inner_text()
