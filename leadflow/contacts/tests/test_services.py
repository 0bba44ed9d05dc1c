import pytest

from leadflow.contacts import services
from leadflow.contacts.models import ActivityKind, Contact, LifecycleStage
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_case_and_whitespace_never_make_a_second_contact():
    services.create_contact(actor=None, email="  Ann.Lee@Example.COM ")

    with pytest.raises(services.DuplicateContact):
        services.create_contact(actor=None, email="ann.lee@example.com")
    assert Contact.objects.get().email == "ann.lee@example.com"


def test_an_invalid_email_is_refused_with_a_reason():
    with pytest.raises(services.InvalidContact, match="email"):
        services.create_contact(actor=None, email="not an address")
    assert not Contact.objects.exists()


def test_a_contact_without_email_can_exist_beside_another():
    services.create_contact(actor=None, first_name="Postal", last_name="One")
    services.create_contact(actor=None, first_name="Postal", last_name="Two")
    assert Contact.objects.filter(email__isnull=True).count() == 2


def test_creating_a_contact_starts_its_timeline_and_stage_history(admin_user):
    contact = services.create_contact(actor=admin_user, email="a@b.example")

    assert contact.activities.filter(kind=ActivityKind.CREATED, actor=admin_user).exists()
    change = contact.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.actor) == ("", "lead", admin_user)


def test_every_stage_change_records_who_when_and_why(manager):
    contact = ContactFactory()

    services.change_stage(
        contact=contact, to_stage=LifecycleStage.MQL, actor=manager, reason="Requested a demo"
    )

    change = contact.stage_changes.get()
    assert change.from_stage == LifecycleStage.LEAD
    assert change.to_stage == LifecycleStage.MQL
    assert change.actor == manager
    assert change.reason == "Requested a demo"
    assert contact.activities.filter(kind=ActivityKind.STAGE_CHANGED).exists()


def test_an_update_keeps_old_and_new_values_on_the_timeline(marketer):
    contact = ContactFactory(job_title="Analyst")

    services.update_contact(contact=contact, actor=marketer, job_title="Head of Data")

    entry = contact.activities.get(kind=ActivityKind.UPDATED)
    assert entry.data == {"job_title": {"from": "Analyst", "to": "Head of Data"}}


def test_changing_email_to_anothers_is_refused():
    ContactFactory(email="taken@example.com")
    contact = ContactFactory()
    with pytest.raises(services.DuplicateContact):
        services.update_contact(contact=contact, actor=None, email=" TAKEN@example.com")


def test_the_timeline_is_append_only():
    activity = services.record_activity(contact=ContactFactory(), kind=ActivityKind.NOTE)
    activity.data = {"text": "rewritten"}
    with pytest.raises(ValueError, match="append-only"):
        activity.save()


def test_the_database_refuses_an_email_that_skipped_normalisation():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(email=" Mixed@Case.example")
