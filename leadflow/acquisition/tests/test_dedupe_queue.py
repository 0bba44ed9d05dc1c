"""What `leadflow dedupe` does: sure pairs merged, uncertain ones queued, decisions that stick."""

import json
from datetime import timedelta
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.acquisition.dedupe.engine import DedupeResult
from leadflow.acquisition.dedupe.queue import (
    CandidateError,
    dismiss_candidate,
    merge_candidate,
    record_proposals,
    undo_candidate_merge,
)
from leadflow.acquisition.models import CandidateStatus, DuplicateCandidate
from leadflow.acquisition.tests.test_dedupe import (  # noqa: F401 - fixture
    ALL_FIELDS,
    people,
    same_mobile,
)
from leadflow.contacts.models import Activity, ActivityKind, Contact, ContactMerge
from leadflow.contacts.tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _run(*args) -> dict:
    out = StringIO()
    call_command("dedupe", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def _pair(document: dict, a: Contact, b: Contact) -> dict:
    wanted = {a.pk, b.pk}
    return next(p for p in document["pairs"] if {p["left"]["id"], p["right"]["id"]} == wanted)


def test_sure_pairs_are_merged_into_the_contact_created_first(people):  # noqa: F811
    bob, swapped = people["bob"], people["bob_swapped"]
    same_mobile(bob, swapped)  # two addresses: one person only with something of his own
    ActivityFactory(contact=swapped)

    document = _run("--fields", ALL_FIELDS, "--threshold", "0.9")

    pair = _pair(document, bob, swapped)
    assert pair["action"] == "merge"
    assert pair["outcome"] == "merged"
    assert pair["survivor_id"] == bob.pk  # created first
    assert not Contact.objects.filter(pk=swapped.pk).exists()
    merge = ContactMerge.objects.get(pk=pair["merge_id"])
    assert (merge.survivor_id, merge.duplicate_id, merge.source) == (bob.pk, swapped.pk, "dedupe")
    assert merge.probability == pytest.approx(pair["probability"], abs=1e-4)
    assert bob.activities.filter(kind=ActivityKind.NOTE).exists()  # moved over
    bob.refresh_from_db()
    assert "rjohnson@initech.com" in bob.other_emails
    candidate = DuplicateCandidate.objects.get(pk=pair["candidate_id"])
    assert candidate.status == CandidateStatus.AUTO_MERGED
    assert candidate.merge == merge
    assert document["merged"] is True
    assert "merge" in document["stages"]
    assert document["counts"]["merged"] == len({p["merge_id"] for p in document["pairs"]} - {None})
    assert document["counts"]["merged"] >= 2  # Bob's and Maria's pairs


def test_uncertain_pairs_wait_in_the_queue_once(people):  # noqa: F811
    document = _run("--fields", ALL_FIELDS, "--threshold", "1.0", "--review-threshold", "0.5")
    queued = [p for p in document["pairs"] if p["outcome"] == "queued"]
    assert queued and all(p["action"] == "review" for p in queued)
    assert document["counts"]["queued"] == len(queued)
    pending = DuplicateCandidate.objects.filter(status=CandidateStatus.PENDING)
    assert pending.count() == len(queued)
    ann = _pair(document, people["ann"], people["ann_variant"])
    candidate = DuplicateCandidate.objects.get(pk=ann["candidate_id"])
    assert candidate.levels == ann["levels"]  # why they match, kept for the reviewer
    assert candidate.fields == ALL_FIELDS.split(",")

    again = _run("--fields", ALL_FIELDS, "--threshold", "1.0", "--review-threshold", "0.5")
    assert DuplicateCandidate.objects.count() == len(queued)
    assert _pair(again, people["ann"], people["ann_variant"])["candidate_id"] == candidate.pk


def test_a_dismissed_pair_is_not_proposed_again(people, manager):  # noqa: F811
    args = ("--fields", ALL_FIELDS, "--threshold", "1.0", "--review-threshold", "0.5")
    ann = _pair(_run(*args), people["ann"], people["ann_variant"])
    dismiss_candidate(DuplicateCandidate.objects.get(pk=ann["candidate_id"]), actor=manager)

    again = _pair(_run(*args), people["ann"], people["ann_variant"])
    assert again["outcome"] == "dismissed-before"
    # Not even above the merge threshold.
    assert (
        _pair(_run("--fields", ALL_FIELDS, "--threshold", "0.6"), *_ann(people))["outcome"]
        == "dismissed-before"
    )
    assert Contact.objects.filter(pk__in=[people["ann"].pk, people["ann_variant"].pk]).count() == 2
    candidate = DuplicateCandidate.objects.get(pk=ann["candidate_id"])
    assert (candidate.status, candidate.decided_by) == (CandidateStatus.DISMISSED, manager)


def _ann(people):  # noqa: F811
    return people["ann"], people["ann_variant"]


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(people):  # noqa: F811
    document = _run("--fields", ALL_FIELDS, "--threshold", "0.9", "--dry-run")
    outcomes = {p["outcome"] for p in document["pairs"]}
    assert "would-merge" in outcomes
    assert outcomes <= {"would-merge", "would-queue", "skipped", "dismissed-before"}
    assert document["counts"]["would_merge"] >= 2
    assert document["merged"] is False
    assert not ContactMerge.objects.exists()
    assert not DuplicateCandidate.objects.exists()
    assert Contact.objects.count() == len(people)


def _result(pairs: list[tuple[Contact, Contact, float, str]]) -> DedupeResult:
    """A dedupe result as the engine makes it, for pairs chosen by the test."""
    frame = pl.DataFrame(
        {
            "id_l": [a.pk for a, *_ in pairs],
            "id_r": [b.pk for _, b, *_ in pairs],
            "external_id_l": [None] * len(pairs),
            "external_id_r": [None] * len(pairs),
            "probability": [p for *_, p, _ in pairs],
            "action": [action for *_, action in pairs],
            "email": ["exact"] * len(pairs),
        },
        schema_overrides={"external_id_l": pl.String, "external_id_r": pl.String},
    )
    return DedupeResult(frame, records=0, blocking=None, model=None)


@pytest.fixture
def chain():
    old = timezone.now() - timedelta(days=10)
    a = ContactFactory(created_at=old)
    b, c, d = ContactFactory(), ContactFactory(), ContactFactory()
    return a, b, c, d


def test_a_chain_is_merged_into_one_survivor_and_later_pairs_are_skipped(chain):
    a, b, c, d = chain
    seen = []
    plan = record_proposals(
        _result([(b, c, 0.99, "merge"), (a, b, 0.97, "merge"), (c, d, 0.7, "review")]),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 2), (1, 2)]  # one round per member of the group
    outcomes = {(p.a, p.b): p for p in plan.proposals}
    assert plan.groups == {a.pk: [b.pk, c.pk]}
    assert {p.outcome for p in outcomes.values()} == {"merged", "skipped"}
    assert outcomes[(c.pk, d.pk)].outcome == "skipped"  # c was merged away
    assert set(Contact.objects.values_list("pk", flat=True)) == {a.pk, d.pk}
    assert ContactMerge.objects.filter(survivor_id=a.pk).count() == 2
    assert not DuplicateCandidate.objects.filter(status=CandidateStatus.PENDING).exists()


def test_a_group_holding_a_dismissed_pair_goes_to_a_person(chain, manager):
    a, b, c, _ = chain
    record_proposals(_result([(a, c, 0.7, "review")]))
    dismiss_candidate(DuplicateCandidate.objects.get(), actor=manager)

    plan = record_proposals(
        _result([(a, b, 0.99, "merge"), (b, c, 0.99, "merge"), (a, c, 0.97, "merge")])
    )

    assert [p.outcome for p in plan.proposals] == ["queued", "queued", "dismissed-before"]
    assert Contact.objects.filter(pk__in=[a.pk, b.pk, c.pk]).count() == 3
    assert not ContactMerge.objects.exists()


def test_a_person_merges_a_queued_pair_keeping_the_contact_they_choose(chain, marketer):
    a, b, _, _ = chain
    record_proposals(_result([(a, b, 0.8, "review")]))
    candidate = DuplicateCandidate.objects.get()

    with pytest.raises(CandidateError, match="one of the pair"):
        merge_candidate(candidate, actor=marketer, survivor_id=999_999)
    merge_candidate(candidate, actor=marketer, survivor_id=b.pk)

    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED
    assert (candidate.merge.survivor_id, candidate.merge.duplicate_id) == (b.pk, a.pk)
    assert candidate.merge.source == "review"
    assert candidate.decided_by == marketer
    assert not Contact.objects.filter(pk=a.pk).exists()
    with pytest.raises(CandidateError, match="already decided"):
        dismiss_candidate(candidate, actor=marketer)


def test_undoing_a_merge_brings_both_back_and_the_pair_stays_apart(chain, manager):
    a, b, _, _ = chain
    record_proposals(_result([(a, b, 0.99, "merge")]))
    candidate = DuplicateCandidate.objects.get()
    assert candidate.status == CandidateStatus.AUTO_MERGED

    undo_candidate_merge(candidate, actor=manager)

    assert Contact.objects.filter(pk__in=[a.pk, b.pk]).count() == 2
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISMISSED
    assert candidate.merge.undone_by == manager
    assert Activity.objects.filter(contact=a, kind=ActivityKind.MERGE_UNDONE).exists()
    plan = record_proposals(_result([(a, b, 0.99, "merge")]))
    assert plan.proposals[0].outcome == "dismissed-before"
    assert Contact.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_pending_pairs_whose_contact_is_gone_are_forgotten(chain):
    a, b, c, _ = chain
    record_proposals(_result([(a, b, 0.8, "review"), (a, c, 0.8, "review")]))
    c.delete()
    record_proposals(_result([]))
    assert list(DuplicateCandidate.objects.values_list("contact_b_id", flat=True)) == [b.pk]


def test_text_output_says_what_was_done(people):  # noqa: F811
    out = StringIO()
    call_command("dedupe", "--fields", ALL_FIELDS, "--threshold", "0.9", stdout=out)
    text = out.getvalue()
    assert "merged" in text.splitlines()[1] or "queued" in text.splitlines()[1]
    merged = ContactMerge.objects.count()
    assert f"merged {merged} contacts away" in text
    assert "/duplicates/" in text


def test_without_auto_merge_every_pair_waits_for_a_person(chain):
    a, b, c, d = chain
    plan = record_proposals(
        _result([(a, b, 0.99, "merge"), (b, c, 0.98, "merge"), (c, d, 0.7, "review")]),
        auto_merge=False,
    )
    assert [p.outcome for p in plan.proposals] == ["queued"] * 3
    assert Contact.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk]).count() == 4
    assert DuplicateCandidate.objects.filter(status=CandidateStatus.PENDING).count() == 3


def test_in_a_group_the_most_recently_updated_record_wins():
    def made(job: str, *, created: int, updated: int) -> Contact:
        contact = ContactFactory(job_title=job)
        Contact.objects.filter(pk=contact.pk).update(
            created_at=timezone.now() - timedelta(days=created),
            updated_at=timezone.now() - timedelta(days=updated),
        )
        return contact

    survivor = made("Buyer", created=90, updated=30)
    newest = made("Head of purchasing", created=5, updated=1)
    middle = made("Purchasing lead", created=60, updated=10)

    record_proposals(_result([(survivor, newest, 0.99, "merge"), (newest, middle, 0.99, "merge")]))

    survivor.refresh_from_db()
    assert survivor.job_title == "Head of purchasing"
    assert Contact.objects.count() == 1
