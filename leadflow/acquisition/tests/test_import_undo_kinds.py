"""Undo of imports of companies, deals, activities and spend: what they created goes, what
they changed comes back, and what someone has worked since stays."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from leadflow.acquisition.jobs import ImportStateError, undo_import
from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.contacts.models import (
    Activity,
    Channel,
    Company,
    Contact,
    LifecycleStage,
    Spend,
    StageChange,
)
from leadflow.contacts.tests.factories import CompanyFactory, ContactFactory

Deal = apps.get_model("sales", "Deal")
pytestmark = pytest.mark.django_db


def _undo(report: dict):
    job = ImportJob.objects.get(pk=report["job_id"])
    result = undo_import(job=job, actor=None)
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    return result


def test_undoing_companies_deletes_the_new_keeps_the_used_and_restores_the_changed(
    write_list, run_kind
):
    globex = CompanyFactory(name="Globex", domain="globex.io", industry="", attributes={})
    report = run_kind(
        write_list(
            "name,domain,industry,tier\n"
            "Acme,acme.com,Software,Gold\n"
            "Initech,initech.com,Finance,\n"
            "Globex,globex.io,Energy,Silver\n"
        ),
        "companies",
        "--on-duplicate",
        "merge",
    )
    assert (report["created"], report["merged"]) == (2, 1)
    ContactFactory(company=Company.objects.get(name="Initech"))  # worked since: stays

    result = _undo(report)

    assert sorted(Company.objects.values_list("name", flat=True)) == ["Globex", "Initech"]
    globex.refresh_from_db()
    assert (globex.industry, globex.attributes) == ("", {})
    assert result.records["companies"] == {"deleted": 1, "kept": 1, "restored": 1, "conflicts": 0}
    assert result.kept_records == [
        {
            "record": "companies",
            "id": Company.objects.get(name="Initech").pk,
            "reason": "has contacts",
        }
    ]
    with pytest.raises(ImportStateError, match="already undone"):
        undo_import(job=ImportJob.objects.get(pk=report["job_id"]), actor=None)


def test_a_value_changed_since_the_import_is_kept(write_list, run_kind):
    globex = CompanyFactory(name="Globex", domain="globex.io", industry="")
    report = run_kind(
        write_list("name,domain,industry\nGlobex,globex.io,Energy\n"),
        "companies",
        "--on-duplicate",
        "merge",
    )
    Company.objects.filter(pk=globex.pk).update(industry="Utilities")

    result = _undo(report)

    globex.refresh_from_db()
    assert globex.industry == "Utilities"
    assert result.records["companies"]["conflicts"] == 1


def test_undoing_deals_takes_back_the_deals_their_activities_and_the_lifecycle(
    write_list, run_kind
):
    ann = ContactFactory(email="ann@example.com", lifecycle_stage=LifecycleStage.LEAD)
    report = run_kind(
        write_list(
            "email,name,amount,stage,created_at,closed_at\n"
            "ann@example.com,Pro,900,won,2023-01-10,2023-03-01\n"
            "ann@example.com,Add-on,100,proposal,2023-04-01,\n"
        ),
        "deals",
    )
    ann.refresh_from_db()
    assert ann.lifecycle_stage == LifecycleStage.CUSTOMER
    add_on = Deal.objects.get(name="Add-on")
    Deal.objects.filter(pk=add_on.pk).update(
        amount=150, updated_at=timezone.now() + timedelta(seconds=5)
    )  # a rep worked it since

    result = _undo(report)

    assert list(Deal.objects.values_list("name", flat=True)) == ["Add-on"]
    ann.refresh_from_db()
    # The won deal's moves are taken back; the open deal that stays makes her an opportunity
    # again, not a lead with an open deal.
    assert ann.lifecycle_stage == LifecycleStage.OPPORTUNITY
    assert not StageChange.objects.filter(contact=ann, source="deal import").exists()
    again = StageChange.objects.get(contact=ann, source="import undo")
    assert (again.from_stage, again.to_stage) == (LifecycleStage.LEAD, LifecycleStage.OPPORTUNITY)
    assert again.reason == "Deal kept by the undo: Add-on"
    assert result.moved_by_kept == 1
    # The kept deal keeps its own timeline; the deleted one's goes with it.
    deal_entries = Activity.objects.filter(contact=ann, kind__startswith="deal")
    assert [(a.kind, a.data["name"]) for a in deal_entries] == [("deal_created", "Add-on")]
    assert result.records["deals"]["deleted"] == 1
    assert result.records["stage changes"]["deleted"] == 2
    assert result.kept_records == [
        {"record": "deals", "id": add_on.pk, "reason": "changed since the import"}
    ]


def test_a_kept_won_deal_keeps_its_contact_a_customer_and_a_lost_one_moves_nobody(
    write_list, run_kind
):
    bo = ContactFactory(email="bo@example.com", lifecycle_stage=LifecycleStage.MQL)
    cy = ContactFactory(email="cy@example.com", lifecycle_stage=LifecycleStage.LEAD)
    report = run_kind(
        write_list(
            "email,name,amount,stage,created_at,closed_at\n"
            "bo@example.com,Big,900,won,2023-01-10,2023-03-01\n"
            "cy@example.com,Gone,100,lost,2023-04-01,2023-05-01\n"
        ),
        "deals",
    )
    later = timezone.now() + timedelta(seconds=5)
    Deal.objects.update(updated_at=later)  # both worked since: both kept

    result = _undo(report)

    assert Deal.objects.count() == 2
    bo.refresh_from_db()
    cy.refresh_from_db()
    assert (bo.lifecycle_stage, cy.lifecycle_stage) == (
        LifecycleStage.CUSTOMER,
        LifecycleStage.LEAD,
    )
    assert result.moved_by_kept == 1
    assert list(
        StageChange.objects.filter(source="import undo").values_list("contact_id", "to_stage")
    ) == [(bo.pk, LifecycleStage.CUSTOMER)]


def test_undoing_a_deal_update_puts_its_stage_and_amount_back(write_list, run_kind):
    ContactFactory(email="ann@example.com")
    header = "email,name,amount,stage,created_at,closed_at\n"
    run_kind(write_list(header + "ann@example.com,Pro,100,proposal,2023-01-10,\n"), "deals")
    report = run_kind(
        write_list(header + "ann@example.com,Pro,900,won,2023-01-10,2023-03-01\n"),
        "deals",
        "--on-duplicate",
        "update",
    )
    assert report["updated"] == 1

    _undo(report)

    deal = Deal.objects.get()
    assert (deal.stage, deal.amount, deal.won_at) == ("proposal", Decimal("100"), None)


def test_undoing_activities_deletes_them_and_puts_the_touches_back(write_list, run_kind):
    ann = ContactFactory(email="ann@example.com", first_touch_channel=None)
    before = Activity.objects.filter(contact=ann).count()
    report = run_kind(
        write_list(
            "email,type,date,channel\n"
            "ann@example.com,page view,2024-03-01,Webinar\n"
            "ann@example.com,call,2024-03-02,Ads\n"
        ),
        "activities",
    )
    ann.refresh_from_db()
    assert (ann.first_touch_channel.name, ann.last_touch_channel.name) == ("Webinar", "Ads")

    result = _undo(report)

    ann.refresh_from_db()
    assert ann.first_touch_channel is None and ann.last_touch_channel is None
    assert result.records["activities"] == {"deleted": 2}
    assert result.restored == 1
    # The undo itself is on the timeline; the imported history is gone.
    assert Activity.objects.filter(contact=ann).count() == before + 1
    assert Channel.objects.filter(name="Webinar").exists()  # channels it created stay


def test_activities_older_than_their_contact_date_it_back_and_undo_puts_the_date_back(
    write_list, run_kind
):
    # A list imported today, then its email tool's history from 2024: Ann was known then.
    run_kind(write_list("email,first_name\nann@example.com,Ann\n"), "contacts")
    ann = Contact.objects.get(email="ann@example.com")
    imported_at = ann.created_at
    first = StageChange.objects.get(contact=ann)
    history = (
        "email,type,date,channel\n"
        "ann@example.com,email opened,2024-05-02,Email\n"
        "ann@example.com,page view,2024-03-01 09:30,Webinar\n"
    )

    dry = run_kind(write_list(history), "activities", "--dry-run")
    assert dry["details"]["contacts dated back to their first activity"] == 1
    assert Contact.objects.get(pk=ann.pk).created_at == imported_at

    report = run_kind(write_list(history), "activities")

    assert report["details"]["contacts dated back to their first activity"] == 1
    earliest = Activity.objects.get(contact=ann, kind="page_view").occurred_at
    ann.refresh_from_db()
    first.refresh_from_db()
    assert ann.created_at == earliest == first.changed_at
    assert ann.first_touch_channel.name == "Webinar"

    result = _undo(report)

    ann.refresh_from_db()
    first.refresh_from_db()
    assert (ann.created_at, first.changed_at) == (imported_at, imported_at)
    assert ann.first_touch_channel is None
    assert result.restored == 1  # one record of the contact: its touches and its date
    assert result.records["stage changes"]["restored"] == 1
    assert not result.conflicts


def test_a_contact_older_than_its_activities_keeps_its_date(write_list, run_kind):
    ann = ContactFactory(email="ann@example.com")
    Contact.objects.filter(pk=ann.pk).update(created_at=timezone.now() - timedelta(days=2000))
    ann.refresh_from_db()
    report = run_kind(
        write_list("email,type,date\nann@example.com,call,2024-03-01\n"), "activities"
    )
    assert report["details"]["contacts dated back to their first activity"] == 0
    assert Contact.objects.get(pk=ann.pk).created_at == ann.created_at


def test_a_later_chunks_earlier_activity_dates_the_contact_back_again(
    write_list, run_kind, monkeypatch
):
    from leadflow.acquisition.pipeline import read

    monkeypatch.setattr(read, "CHUNK_ROWS", 2)
    ann = ContactFactory(email="ann@example.com")
    made_at = ann.created_at
    report = run_kind(
        write_list(
            "email,type,date\n"
            "ann@example.com,call,2024-06-01\n"
            "ann@example.com,note,2024-06-02\n"
            "ann@example.com,meeting,2024-01-15\n"  # the next chunk, and earlier
        ),
        "activities",
    )
    assert report["details"]["contacts dated back to their first activity"] == 1  # twice
    ann.refresh_from_db()
    assert ann.created_at == Activity.objects.get(contact=ann, kind="meeting").occurred_at

    _undo(report)  # back through both moves, newest first

    assert Contact.objects.get(pk=ann.pk).created_at == made_at


def test_undoing_spend_deletes_the_booked_and_restores_the_revised(write_list, run_kind):
    header = "Day,Campaign,Cost,Clicks\n"
    run_kind(write_list(header + "2024-01-01,Brand,10,4\n"), "spend")
    report = run_kind(
        write_list(header + "2024-01-01,Brand,12,5\n2024-01-02,Brand,20,9\n"),
        "spend",
        "--on-duplicate",
        "update",
    )
    assert (report["created"], report["updated"]) == (1, 1)

    _undo(report)

    spend = Spend.objects.get()
    assert (spend.amount, spend.attributes) == (Decimal("10"), {"clicks": "4"})


def test_a_dry_run_records_nothing_to_undo(write_list, run_kind):
    run_kind(write_list("name,domain\nAcme,acme.com\n"), "companies", "--dry-run")
    assert not ImportJob.objects.exists()
    assert not Contact.objects.exists()


def test_deals_older_than_their_contact_date_it_back_and_undo_puts_the_date_back(
    write_list, run_kind
):
    # A list imported today, then the old CRM's deals from 2023: the contact was a lead then.
    run_kind(write_list("email,first_name\nann@example.com,Ann\n"), "contacts")
    ann = Contact.objects.get(email="ann@example.com")
    imported_at = ann.created_at
    first = StageChange.objects.get(contact=ann)
    assert (first.from_stage, first.changed_at) == ("", imported_at)

    report = run_kind(
        write_list(
            "email,name,amount,stage,created_at,closed_at\n"
            "ann@example.com,Add-on,100,proposal,2023-04-01,\n"
            "ann@example.com,Pro,900,won,2023-01-10,2023-03-01\n"
        ),
        "deals",
    )

    assert report["details"]["contacts dated back to their first deal"] == 1
    ann.refresh_from_db()
    opened = Deal.objects.get(name="Pro").created_at
    assert ann.created_at == opened
    history = StageChange.objects.filter(contact=ann).order_by("changed_at", "pk")
    assert [(s.from_stage, s.to_stage, s.changed_at) for s in history] == [
        ("", LifecycleStage.LEAD, opened),
        (LifecycleStage.LEAD, LifecycleStage.OPPORTUNITY, opened),
        (LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER, Deal.objects.get(name="Pro").won_at),
    ]

    result = _undo(report)

    ann.refresh_from_db()
    assert (ann.created_at, ann.lifecycle_stage) == (imported_at, LifecycleStage.LEAD)
    first.refresh_from_db()
    assert first.changed_at == imported_at
    assert result.records["stage changes"]["restored"] == 1
    assert not result.conflicts


def test_a_contact_older_than_its_deals_keeps_its_date(write_list, run_kind):
    ann = ContactFactory(email="ann@example.com", lifecycle_stage=LifecycleStage.LEAD)
    Contact.objects.filter(pk=ann.pk).update(created_at=timezone.now() - timedelta(days=2000))
    ann.refresh_from_db()
    report = run_kind(
        write_list("email,name,amount,created_at\nann@example.com,Pro,900,2023-01-10\n"), "deals"
    )
    assert report["details"]["contacts dated back to their first deal"] == 0
    assert Contact.objects.get(pk=ann.pk).created_at == ann.created_at
