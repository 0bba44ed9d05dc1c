"""The demo workspace tells one consistent story: rows that belong together agree."""

from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from leadflow.accounts.models import Role
from leadflow.contacts.models import (
    Activity,
    ChannelKind,
    Contact,
    LifecycleStage,
    StageChange,
)
from leadflow.demo.generate import load_demo_workspace
from leadflow.sales.models import Deal, DealStage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("workspace")]

TODAY = date(2025, 6, 2)
MIDNIGHT = datetime(2025, 6, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def workspace(django_db_setup, django_db_blocker):
    """Loaded once for the module (the checks only read), emptied again afterwards."""
    with django_db_blocker.unblock():
        load_demo_workspace(seed=3, contacts=400, today=TODAY)
        yield
        call_command("flush", interactive=False, verbosity=0)


def test_every_stage_of_the_funnel_has_contacts_and_the_funnel_narrows():
    by_stage = defaultdict(int)
    for stage in Contact.objects.values_list("lifecycle_stage", flat=True):
        by_stage[stage] += 1

    assert all(by_stage[stage] > 0 for stage in LifecycleStage.values), by_stage
    early = by_stage[LifecycleStage.SUBSCRIBER] + by_stage[LifecycleStage.LEAD]
    assert early > by_stage[LifecycleStage.MQL] > by_stage[LifecycleStage.OPPORTUNITY]
    assert by_stage[LifecycleStage.CUSTOMER] > by_stage[LifecycleStage.ADVOCATE]


def test_emails_are_unique_lower_case_and_on_reserved_domains():
    emails = list(Contact.objects.values_list("email", flat=True))

    assert all(emails)
    assert len(set(emails)) == len(emails)
    assert all(email == email.lower() for email in emails)
    # RFC 2606 names: a demo wired to a real SMTP relay never writes to a real person.
    assert all(email.endswith(".example") for email in emails)


def test_closed_deals_have_their_dates_and_open_ones_none():
    for deal in Deal.objects.all():
        if deal.stage == DealStage.WON:
            assert deal.won_at is not None and deal.lost_at is None
            assert deal.created_at <= deal.won_at < MIDNIGHT
        elif deal.stage == DealStage.LOST:
            assert deal.lost_at is not None and deal.lost_reason
            assert deal.created_at <= deal.lost_at < MIDNIGHT
        else:
            assert deal.won_at is None and deal.lost_at is None
            assert deal.expected_close_on >= TODAY
    stages = set(Deal.objects.values_list("stage", flat=True))
    assert {DealStage.WON, DealStage.LOST} <= stages
    assert stages - {DealStage.WON, DealStage.LOST}  # some still open in the pipeline


def test_customers_and_only_customers_have_won_deals():
    with_won_deal = set(
        Deal.objects.filter(stage=DealStage.WON).values_list("contact_id", flat=True)
    )
    customers = set(
        Contact.objects.filter(
            lifecycle_stage__in=[LifecycleStage.CUSTOMER, LifecycleStage.ADVOCATE]
        ).values_list("id", flat=True)
    )

    assert with_won_deal == customers
    opportunities = Contact.objects.filter(lifecycle_stage=LifecycleStage.OPPORTUNITY)
    assert all(c.deals.exclude(stage__in=["won", "lost"]).exists() for c in opportunities)


def test_the_stage_history_runs_from_creation_to_the_current_stage():
    history = defaultdict(list)
    for change in StageChange.objects.order_by("changed_at", "id"):
        history[change.contact_id].append(change)

    for contact in Contact.objects.all():
        changes = history[contact.pk]
        assert changes[0].from_stage == ""
        assert changes[0].changed_at == contact.created_at
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage == before.to_stage
        assert changes[-1].to_stage == contact.lifecycle_stage
        assert changes[-1].changed_at < MIDNIGHT


def test_qualified_contacts_have_a_rep_and_bought_ones_a_vendor():
    qualified = Contact.objects.exclude(
        lifecycle_stage__in=[
            LifecycleStage.SUBSCRIBER,
            LifecycleStage.LEAD,
            LifecycleStage.DISQUALIFIED,
        ]
    )
    assert qualified.exists()
    assert not qualified.filter(owner__isnull=True).exists()
    assert set(qualified.values_list("owner__role", flat=True)) == {Role.SALES_REP}
    bought = Contact.objects.filter(first_touch_channel__kind=ChannelKind.BOUGHT_LIST)
    assert bought.exists()
    assert not bought.filter(source_vendor__isnull=True).exists()
    assert not Contact.objects.exclude(pk__in=bought).filter(source_vendor__isnull=False).exists()


def test_the_timeline_stays_between_creation_and_today():
    created = dict(Contact.objects.values_list("id", "created_at"))

    for contact_id, occurred_at in Activity.objects.values_list("contact_id", "occurred_at"):
        assert created[contact_id] <= occurred_at < MIDNIGHT
    assert Activity.objects.filter(kind="deal_won").count() == (
        Deal.objects.filter(stage=DealStage.WON).count()
    )
    deal_ids = set(Deal.objects.values_list("id", flat=True))
    deal_events = Activity.objects.filter(kind__in=["deal_created", "deal_won", "deal_lost"])
    assert {a.data["deal_id"] for a in deal_events} == deal_ids
