"""The duplicates screens: who may use them, merge, dismiss, undo, and the empty state."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadflow.acquisition.models import CandidateStatus, DuplicateCandidate
from leadflow.acquisition.tests.test_dedupe import people  # noqa: F401 - fixture
from leadflow.contacts.merge import merge_contacts
from leadflow.contacts.models import Contact, ContactMerge
from leadflow.contacts.tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def candidate():
    a = ContactFactory(
        first_name="Ann",
        last_name="Smith",
        email="ann@example.com",
        created_at=timezone.now() - timedelta(days=5),
        attributes={"postcode": "SW1A 1AA"},
    )
    b = ContactFactory(first_name="Anne", last_name="Smith", email=None, phone="020 7946 0001")
    return DuplicateCandidate.objects.create(
        contact_a_id=a.pk,
        contact_b_id=b.pk,
        probability=0.83,
        levels={"email": None, "name:first": "close", "name:last": "exact"},
        fields=["email", "name"],
    )


def test_reps_get_403_everywhere(rep, candidate):
    client = _client(rep)
    assert client.get(reverse("acquisition:duplicates")).status_code == 403
    url = reverse("acquisition:duplicate_detail", args=[candidate.pk])
    assert client.get(url).status_code == 403
    dismiss = reverse("acquisition:duplicate_dismiss", args=[candidate.pk])
    assert client.post(dismiss).status_code == 403
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PENDING


@pytest.mark.parametrize("role", ["admin_user", "marketer", "manager"])
def test_reviewers_see_the_queue_with_the_reasons(request, role, candidate):
    client = _client(request.getfixturevalue(role))
    page = client.get(reverse("acquisition:duplicates"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ann Smith" in html and "83%" in html and "name:last" in html
    assert 'href="/duplicates/"' in html  # the nav item

    detail = client.get(reverse("acquisition:duplicate_detail", args=[candidate.pk]))
    html = detail.content.decode()
    assert "Merge, keep Ann Smith" in html and "Not a duplicate" in html
    assert "SW1A 1AA" in html and "020 7946 0001" in html


def test_the_list_runs_a_fixed_number_of_queries(admin_user, candidate, django_assert_num_queries):
    client = _client(admin_user)
    for _ in range(5):
        a, b = ContactFactory(), ContactFactory()
        DuplicateCandidate.objects.create(contact_a_id=a.pk, contact_b_id=b.pk, probability=0.7)
    merge_contacts(survivor=ContactFactory(), duplicate=ContactFactory())
    # session, user, count, page of pairs, merges, their contacts, the last background run
    with django_assert_num_queries(7):
        client.get(reverse("acquisition:duplicates"))


def test_state_changes_are_post_only(admin_user, candidate):
    client = _client(admin_user)
    for name in ("duplicate_merge", "duplicate_dismiss"):
        assert client.get(reverse(f"acquisition:{name}", args=[candidate.pk])).status_code == 405
    assert client.get(reverse("acquisition:duplicates_run")).status_code == 405


def test_csrf_is_required(admin_user, candidate):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse("acquisition:duplicate_dismiss", args=[candidate.pk]))
    assert response.status_code == 403
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PENDING


def test_merge_keeping_the_chosen_contact_then_undo(manager, candidate):
    client = _client(manager)
    note = ActivityFactory(contact_id=candidate.contact_a_id)
    response = client.post(
        reverse("acquisition:duplicate_merge", args=[candidate.pk]),
        {"survivor": candidate.contact_b_id},
    )
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=candidate.contact_a_id).exists()
    note.refresh_from_db()
    assert note.contact_id == candidate.contact_b_id
    kept = Contact.objects.get(pk=candidate.contact_b_id)
    assert kept.email == "ann@example.com"  # filled from the other one
    merge = ContactMerge.objects.get()
    candidate.refresh_from_db()
    assert (candidate.status, candidate.merge, candidate.decided_by) == (
        CandidateStatus.MERGED,
        merge,
        manager,
    )

    page = client.get(reverse("acquisition:duplicates")).content.decode()
    assert "Undo" in page and "No duplicates waiting" in page

    client.post(reverse("acquisition:merge_undo", args=[merge.pk]))
    assert Contact.objects.filter(pk=candidate.contact_a_id).exists()
    note.refresh_from_db()
    assert note.contact_id == candidate.contact_a_id
    merge.refresh_from_db()
    assert merge.undone_by == manager
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISMISSED  # not merged back by the next run

    again = client.post(reverse("acquisition:merge_undo", args=[merge.pk]), follow=True)
    assert "already undone" in again.content.decode()


def test_a_survivor_outside_the_pair_is_refused(admin_user, candidate):
    other = ContactFactory()
    response = _client(admin_user).post(
        reverse("acquisition:duplicate_merge", args=[candidate.pk]),
        {"survivor": other.pk},
        follow=True,
    )
    assert "must be one of the pair" in response.content.decode()
    assert (
        Contact.objects.filter(pk__in=[candidate.contact_a_id, candidate.contact_b_id]).count() == 2
    )


def test_dismiss_takes_the_pair_off_the_queue(marketer, candidate):
    client = _client(marketer)
    response = client.post(reverse("acquisition:duplicate_dismiss", args=[candidate.pk]))
    assert response.status_code == 302
    candidate.refresh_from_db()
    assert (candidate.status, candidate.decided_by) == (CandidateStatus.DISMISSED, marketer)
    assert "Ann Smith" not in client.get(reverse("acquisition:duplicates")).content.decode()


def test_empty_state_explains_and_starts_a_background_run(admin_user):
    client = _client(admin_user)
    html = client.get(reverse("acquisition:duplicates")).content.decode()
    assert "No duplicates waiting for review" in html and "leadflow dedupe" in html

    response = client.post(reverse("acquisition:duplicates_run"))
    assert response.status_code == 302
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("find_duplicates_now")
    page = client.get(reverse("acquisition:duplicates")).content.decode()
    assert "Finding duplicates: a run was started" in page

    again = client.post(reverse("acquisition:duplicates_run"), follow=True).content.decode()
    assert "already under way" in again
    assert DBTaskResult.objects.count() == 1  # not a second run


def test_the_page_says_what_the_last_run_did(admin_user, people):  # noqa: F811
    from django.core.cache import cache

    from leadflow.acquisition.dedupe.tasks import LAST_RUN_KEY, find_duplicates_now

    client = _client(admin_user)
    client.post(reverse("acquisition:duplicates_run"))
    task = DBTaskResult.objects.get()
    task.set_successful(find_duplicates_now.call(actor_id=admin_user.pk))
    assert cache.get(LAST_RUN_KEY) == str(task.pk)

    page = client.get(reverse("acquisition:duplicates")).content.decode()
    merged = DuplicateCandidate.objects.filter(status="auto_merged").count()
    assert merged >= 1
    plural = "s" if merged != 1 else ""
    assert "Last dedupe run" in page
    assert f"{merged} pair{plural} merged automatically" in page


def test_the_background_run_merges_and_queues(people):  # noqa: F811
    from leadflow.acquisition.dedupe.tasks import find_duplicates_now

    counts = find_duplicates_now.call()

    decided = counts["merged"] + counts["queued"]
    assert decided >= 2  # Ann's and Bob's pairs at least
    assert DuplicateCandidate.objects.count() == decided
    assert ContactMerge.objects.filter(source="dedupe").count() == len(
        set(DuplicateCandidate.objects.exclude(merge=None).values_list("merge", flat=True))
    )
