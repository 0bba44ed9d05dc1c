"""A CRM export's lifecycle stage and owner columns give new contacts their stage and owner."""

import pytest

from leadflow.acquisition.pipeline.funnel import OWNER_WARNING, STAGE_WARNING
from leadflow.acquisition.pipeline.mapping import plan_mapping
from leadflow.contacts.models import Contact, StageChange

pytestmark = pytest.mark.django_db


def test_lifecycle_stage_and_owner_columns_are_mapped():
    plan = plan_mapping(["Email", "Lifecycle Stage", "Contact owner"], {})
    assert plan == {
        "Email": "email",
        "Lifecycle Stage": "lifecycle_stage",
        "Contact owner": "owner",
    }


def test_new_contacts_start_at_the_stage_and_with_the_owner_the_list_gives(
    write_list, run_import, django_user_model
):
    rep = django_user_model.objects.create_user(
        "dana", email="Dana@Example.org", first_name="Dana", last_name="Ek"
    )
    text = (
        "Email,Lifecycle Stage,Contact Owner\n"
        "a@x.org,Marketing Qualified Lead,dana@example.org\n"
        "b@x.org,customer,Dana Ek\n"
        "c@x.org,salesqualifiedlead,dana\n"
        "d@x.org,,\n"
        "e@x.org,Hot stuff,Nobody Here\n"
    )
    report = run_import(write_list(text))

    assert report["created"] == 5
    stages = dict(Contact.objects.values_list("email", "lifecycle_stage"))
    assert stages == {
        "a@x.org": "mql", "b@x.org": "customer", "c@x.org": "sql", "d@x.org": "lead",
        "e@x.org": "lead",
    }  # fmt: skip
    owners = dict(Contact.objects.values_list("email", "owner_id"))
    assert owners == {"a@x.org": rep.pk, "b@x.org": rep.pk, "c@x.org": rep.pk,
                      "d@x.org": None, "e@x.org": None}  # fmt: skip
    first = StageChange.objects.get(contact__email="b@x.org")
    assert (first.from_stage, first.to_stage, first.source) == ("", "customer", "import")
    # What was not understood is counted and kept, not dropped.
    assert report["warnings"][STAGE_WARNING] == 1
    assert report["warnings"][OWNER_WARNING] == 1
    assert Contact.objects.get(email="e@x.org").attributes == {
        "lifecycle_stage_as_entered": "Hot stuff",
        "owner_as_entered": "Nobody Here",
    }


def test_update_moves_a_known_contact_to_the_lists_stage_and_undo_moves_it_back(
    write_list, run_import, django_user_model
):
    from leadflow.acquisition.jobs import undo_import
    from leadflow.acquisition.models import ImportJob
    from leadflow.contacts.tests.factories import ContactFactory

    rep = django_user_model.objects.create_user("dana", email="dana@example.org")
    ann = ContactFactory(email="ann@x.org", lifecycle_stage="lead", owner=None)
    text = "Email,Lifecycle Stage,Owner\nann@x.org,Customer,dana@example.org\n"
    report = run_import(write_list(text), "--on-duplicate", "update")

    assert report["updated"] == 1
    ann.refresh_from_db()
    assert (ann.lifecycle_stage, ann.owner_id) == ("customer", rep.pk)
    moved = StageChange.objects.get(contact=ann, source="import")
    assert (moved.from_stage, moved.to_stage) == ("lead", "customer")

    undo_import(job=ImportJob.objects.get(pk=report["job_id"]), actor=None)
    ann.refresh_from_db()
    assert (ann.lifecycle_stage, ann.owner_id) == ("lead", None)
    back = StageChange.objects.get(contact=ann, source="import undo")
    assert (back.from_stage, back.to_stage) == ("customer", "lead")


def test_merge_fills_an_empty_owner_but_keeps_the_stage_of_an_undated_row(
    write_list, run_import, django_user_model
):
    from leadflow.contacts.tests.factories import ContactFactory

    rep = django_user_model.objects.create_user("dana", email="dana@example.org")
    other = django_user_model.objects.create_user("eve", email="eve@example.org")
    ann = ContactFactory(email="ann@x.org", lifecycle_stage="mql", owner=None)
    bob = ContactFactory(email="bob@x.org", lifecycle_stage="mql", owner=other)
    text = "Email,Stage,Owner\nann@x.org,lead,dana\nbob@x.org,lead,dana\n"
    report = run_import(write_list(text), "--on-duplicate", "merge")

    assert report["merged"] == 1
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.lifecycle_stage, ann.owner_id) == ("mql", rep.pk)
    assert (bob.lifecycle_stage, bob.owner_id) == ("mql", other.pk)
    assert not StageChange.objects.filter(source="import", contact__in=[ann, bob]).exists()


def test_undo_deletes_the_contacts_whose_owner_the_list_named_but_keeps_reassigned_ones(
    write_list, run_import, django_user_model
):
    from leadflow.acquisition.jobs import undo_import
    from leadflow.acquisition.models import ImportJob
    from leadflow.contacts.services import assign_owner

    dana = django_user_model.objects.create_user("dana", email="dana@example.org")
    eve = django_user_model.objects.create_user("eve", email="eve@example.org")
    text = "Email,Owner\na@x.org,dana\nb@x.org,dana\nc@x.org,\n"
    report = run_import(write_list(text))
    assign_owner(contact=Contact.objects.get(email="b@x.org"), owner=eve, actor=dana)

    result = undo_import(job=ImportJob.objects.get(pk=report["job_id"]), actor=None)

    assert result.deleted == 2
    assert list(Contact.objects.values_list("email", flat=True)) == ["b@x.org"]
