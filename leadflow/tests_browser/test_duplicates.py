"""The duplicates screens in chromium: the queue, the comparison, a merge and its undo."""

from datetime import timedelta

from django.utils import timezone

from leadflow.acquisition.models import DuplicateCandidate
from leadflow.contacts.models import Company, Contact
from leadflow.contacts.tests.factories import ContactFactory

from .conftest import ARTIFACTS


def _pairs() -> None:
    acme = Company.objects.create(name="Acme Ltd", domain="acme.example")
    people = [
        (
            ("Ann", "Smith", "ann.smith@acme.example", "+44 20 7946 0001"),
            ("Anne", "Smyth", None, "020 7946 0001"),
            0.91,
            {"email": None, "phone": "exact", "name:first": "close", "name:last": "similar"},
        ),
        (
            ("Robert", "Johnson", "bob@initech.example", ""),
            ("Johnson", "Robert", "rjohnson@initech.example", ""),
            0.78,
            {"email": "different", "phone": None, "name:first": "exact", "name:last": "exact"},
        ),
        (
            ("Maria", "Garcia", None, ""),
            ("María", "García", None, ""),
            0.66,
            {"email": None, "phone": None, "name:first": "exact", "name:last": "exact"},
        ),
    ]
    for left, right, probability, levels in people:
        a = ContactFactory(
            first_name=left[0],
            last_name=left[1],
            email=left[2],
            phone=left[3],
            company=acme,
            created_at=timezone.now() - timedelta(days=40),
            attributes={"postcode": "SW1A 1AA"},
        )
        b = ContactFactory(
            first_name=right[0],
            last_name=right[1],
            email=right[2],
            phone=right[3],
            company=acme,
            attributes={"postcode": "SW1A1AA"},
        )
        DuplicateCandidate.objects.create(
            contact_a_id=a.pk,
            contact_b_id=b.pk,
            probability=probability,
            levels=levels,
            fields=["email", "phone", "name", "attr.postcode"],
        )


def test_review_queue_merge_and_undo(signed_in):
    page = signed_in
    _pairs()
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto("/duplicates/")
    page.get_by_role("heading", name="Duplicates").wait_for()
    page.screenshot(path=str(ARTIFACTS / "duplicates-list.png"), full_page=True)

    page.get_by_role("link", name="Compare").first.click()
    page.get_by_role("heading", name="Are these the same person?").wait_for()
    page.screenshot(path=str(ARTIFACTS / "duplicates-detail.png"), full_page=True)

    page.get_by_role("button", name="Merge, keep Ann Smith").click()
    # Ann's record is kept; the newer record's names win (Anne Smyth was updated last).
    page.get_by_text("Merged into Anne Smyth").wait_for()
    assert Contact.objects.count() == 5
    page.screenshot(path=str(ARTIFACTS / "duplicates-merged.png"), full_page=True)

    page.get_by_role("button", name="Undo").click()
    page.get_by_text("Merge undone").wait_for()
    assert Contact.objects.count() == 6

    DuplicateCandidate.objects.update(status="dismissed")
    page.goto("/duplicates/")
    page.get_by_text("No duplicates waiting for review").wait_for()
    page.screenshot(path=str(ARTIFACTS / "duplicates-empty.png"), full_page=True)

    page.get_by_role("button", name="Find duplicates now").first.click()
    page.get_by_text("Finding duplicates: a run was started").wait_for()
    page.screenshot(path=str(ARTIFACTS / "duplicates-running.png"), full_page=True)
