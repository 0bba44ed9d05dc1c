"""`leadflow undo --import N | --merge N`: the screens' undo, from the command line."""

import pytest
from django.core.management import CommandError, call_command

from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.contacts.merge import merge_contacts
from leadflow.contacts.models import Contact, ContactMerge
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_an_import_is_undone_and_a_second_undo_is_refused(write_list, run_import, run_json):
    ann = ContactFactory(email="ann@x.com", first_name="Ann", job_title="")
    report = run_import(
        write_list("Email,Job Title\nann@x.com,CTO\nbo@x.com,\n"), "--on-duplicate", "merge"
    )
    assert (report["created"], report["merged"]) == (1, 1)

    undone = run_json("undo", "--import", str(report["job_id"]))

    assert (undone["import_id"], undone["deleted"], undone["restored"]) == (
        report["job_id"],
        1,
        1,
    )
    assert list(Contact.objects.values_list("email", "job_title")) == [("ann@x.com", "")]
    assert ImportJob.objects.get().status == ImportStatus.UNDONE
    assert ann.pk == Contact.objects.get().pk
    with pytest.raises(CommandError, match="already undone"):
        call_command("undo", "--import", str(report["job_id"]))


def test_a_merge_is_undone_and_the_contact_comes_back(run_json):
    ann = ContactFactory(email="ann@x.com", first_name="Ann")
    copy = ContactFactory(email="ann@y.com", first_name="Ann")
    merge = merge_contacts(survivor=ann, duplicate=copy, actor=None)
    assert not Contact.objects.filter(pk=copy.pk).exists()

    undone = run_json("undo", "--merge", str(merge.pk))

    assert (undone["survivor_id"], undone["duplicate_id"]) == (ann.pk, copy.pk)
    assert Contact.objects.get(pk=copy.pk).email == "ann@y.com"
    assert ContactMerge.objects.get().undone_at is not None
    with pytest.raises(CommandError, match="already undone"):
        call_command("undo", "--merge", str(merge.pk))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--import", "999"], "There is no import #999"),
        (["--merge", "999"], "There is no merge #999"),
        ([], "one of the arguments --import --merge is required"),
    ],
)
def test_what_cannot_be_undone_says_why(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("undo", *args)
