"""Acceptance audit of `leadflow dedupe`: no automatic merge of two people of one family or
company, and every merged pair names (and undoes) the merge that took its contact away."""

import json
from datetime import timedelta
from io import StringIO

import numpy as np
import polars as pl
import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.acquisition.dedupe import parse_fields
from leadflow.acquisition.dedupe.blocking import L, R
from leadflow.acquisition.dedupe.compare import compare_pairs, comparisons
from leadflow.acquisition.dedupe.engine import DedupeResult, backed
from leadflow.acquisition.dedupe.normalise import prepare
from leadflow.acquisition.dedupe.queue import record_proposals, undo_candidate_merge
from leadflow.acquisition.models import CandidateStatus, DuplicateCandidate
from leadflow.contacts.models import Company, Contact, ContactMerge
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

FIRSTS = ("Oliver", "Emma", "Liam", "Ava", "Noah", "Mia", "Lucas", "Sofia", "Elias", "Lea")
FIRSTS += ("Ben", "Hannah", "Finn", "Clara", "Paul")
LASTS = ("Becker", "Wagner", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz")
LASTS += ("Zimmermann",)


def _run(*args) -> dict:
    out = StringIO()
    call_command("dedupe", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def _pair(document: dict, a: Contact, b: Contact) -> dict | None:
    wanted = {a.pk, b.pk}
    return next(
        (p for p in document["pairs"] if {p["left"]["id"], p["right"]["id"]} == wanted), None
    )


@pytest.fixture
def smiths(db) -> dict[str, Contact]:
    """The audit's family at Acme among 60 different people, to give the model a population."""
    acme = Company.objects.create(name="Acme")
    made = {
        "john": Contact.objects.create(
            first_name="John",
            last_name="Smith",
            email="john.smith@acme.example",
            phone="+14155550111",
            company=acme,
        ),
        "jon": Contact.objects.create(
            first_name="Jon", last_name="Smith", phone="(415) 555-0111", company=acme
        ),
        "swapped": Contact.objects.create(
            first_name="Smith", last_name="John", email="jsmith@mail.example", company=acme
        ),
        "jane": Contact.objects.create(
            first_name="Jane",
            last_name="Smith",
            email="jane.smith@acme.example",
            phone="+14155550111",
            company=acme,
        ),
    }
    for i in range(60):
        first, last = FIRSTS[i % len(FIRSTS)], LASTS[(i // 15 * 3 + i) % len(LASTS)]
        Contact.objects.create(
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}{i}@filler.example",
            phone=f"+4930{1_000_000 + i * 137}",
        )
    return made


def _no_jane_with_johns_address() -> None:
    for contact in Contact.objects.filter(first_name="Jane"):
        addresses = {contact.email, *(contact.other_emails or [])}
        assert not addresses & {"john.smith@acme.example", "jsmith@mail.example"}


def test_john_and_jane_smith_on_one_family_line_go_to_review(smiths):
    john, jon, jane = smiths["john"], smiths["jon"], smiths["jane"]

    document = _run()

    for other in (john, jon):
        pair = _pair(document, other, jane)
        if pair is not None:  # proposed, maybe sure, but never merged by the run
            assert pair["levels"]["name:first"] == "different"
            assert pair["action"] == "review"
    assert _pair(document, john, jane)["outcome"] == "queued"
    jane.refresh_from_db()  # still there, still herself
    assert (jane.first_name, jane.email) == ("Jane", "jane.smith@acme.example")
    _no_jane_with_johns_address()
    # A second run compares what the first one made (John with Jon's and Smith John's data).
    second = _run()
    assert all(
        p["action"] == "review"
        for p in second["pairs"]
        if jane.pk in (p["left"]["id"], p["right"]["id"])
    )
    assert Contact.objects.filter(pk=jane.pk).exists()
    _no_jane_with_johns_address()


def test_crossed_names_do_not_call_different_first_names_exact():
    fields = parse_fields("name")
    frame = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "first_name": ["Smith", "Jane", "John"],
            "last_name": ["John", "Smith", "Smith"],
        }
    )
    pairs = pl.DataFrame({L: [0, 1, 0, 2]}, schema={L: pl.Int64}).with_columns(
        pl.Series(R, [1, 0, 2, 0], dtype=pl.Int64)
    )

    gamma = compare_pairs(prepare(frame, fields), pairs, fields)

    levels = comparisons(fields)[0].levels
    named = [[levels[x] for x in row] for row in gamma.tolist()]
    # "Smith John" and "Jane Smith", either way round: the surnames agree, the first names do not.
    assert named[0] == named[1] == ["different", "exact"]
    # "Smith John" and "John Smith": one person, names swapped.
    assert named[2] == named[3] == ["exact", "exact"]


def test_swapped_smith_john_and_jane_smith_on_one_line_are_never_merged(smiths):
    swapped, jane = smiths["swapped"], smiths["jane"]
    Contact.objects.filter(pk=swapped.pk).update(phone="+1 415 555 0111")  # the family line
    for fields in ("email,phone,name,company,country", "phone,name,company"):
        pair = _pair(_run("--dry-run", "--fields", fields), swapped, jane)
        # Crossed, Smith~Smith is the surnames' agreement, not the first names'.
        assert (pair["levels"]["name:first"], pair["levels"]["name:last"]) == (
            "different",
            "exact",
        )
        assert pair["action"] == "review", fields


def test_with_different_first_names_only_a_personal_field_backs_a_merge():
    plan = comparisons(parse_fields("email,phone,name,company,attr.postcode,attr.birth_date"))
    assert [c.name for c in plan] == [
        "email",
        "phone",
        "name:first",
        "name:last",
        "company",
        "attr.postcode",
        "attr.birth_date",
    ]
    # email, phone, first, last, company, postcode, birth date; -1: missing on one side
    gamma = np.array(
        [
            [0, 2, 0, 3, 3, -1, -1],  # John and Jane Smith of Acme on one line
            [-1, 2, 0, 3, 3, -1, -1],  # Jon (no email) and Jane
            [-1, -1, 0, 3, -1, 3, -1],  # two of a household at one postcode
            [2, -1, 0, 3, -1, -1, -1],  # the same mailbox: one person, a nickname
            [-1, -1, 0, 3, -1, -1, 3],  # the same birth date, a first name typed over
            [0, -1, 0, 3, -1, -1, 3],  # the same birth date, two addresses: twins
            [0, 2, 1, 3, -1, -1, -1],  # Kate and Katherine Jones on one line
            [-1, 2, -1, 3, 3, -1, -1],  # one first name missing
        ]
    )
    assert backed(gamma, plan).tolist() == [False, False, False, True, True, False, True, True]


def _result(pairs: list[tuple[Contact, Contact]]) -> DedupeResult:
    """Sure pairs, as the engine would propose them."""
    frame = pl.DataFrame(
        {
            "id_l": [a.pk for a, _ in pairs],
            "id_r": [b.pk for _, b in pairs],
            "external_id_l": [None] * len(pairs),
            "external_id_r": [None] * len(pairs),
            "probability": [0.99] * len(pairs),
            "action": ["merge"] * len(pairs),
            "email": ["exact"] * len(pairs),
        },
        schema_overrides={"external_id_l": pl.String, "external_id_r": pl.String},
    )
    return DedupeResult(frame, records=0, blocking=None, model=None)


def _made(*, created: int, updated: int) -> Contact:
    contact = ContactFactory()
    Contact.objects.filter(pk=contact.pk).update(
        created_at=timezone.now() - timedelta(days=created),
        updated_at=timezone.now() - timedelta(days=updated),
    )
    return contact


def _merge_of(plan, a: Contact, b: Contact) -> ContactMerge:
    proposal = next(p for p in plan.proposals if {p.a, p.b} == {a.pk, b.pk})
    return ContactMerge.objects.get(pk=proposal.merge_id)


def test_a_pair_linked_through_the_group_points_at_its_own_contacts_merge():
    # The survivor (created first) ~ newest ~ middle; middle is merged first (updated longest
    # ago), newest second. middle joined the group only through its pair with newest.
    survivor = _made(created=90, updated=30)
    newest = _made(created=5, updated=1)
    middle = _made(created=60, updated=10)

    plan = record_proposals(_result([(survivor, newest), (newest, middle)]))

    assert _merge_of(plan, survivor, newest).duplicate_id == newest.pk
    assert _merge_of(plan, newest, middle).duplicate_id == middle.pk
    named = {p.merge_id for p in plan.proposals}
    assert named == set(ContactMerge.objects.values_list("pk", flat=True))
    assert len(named) == 2 == Contact.objects.count() + 1


def test_a_pair_of_two_contacts_merged_away_points_at_the_later_merge():
    survivor = _made(created=90, updated=30)
    first = _made(created=60, updated=20)  # merged first: updated longer ago
    second = _made(created=50, updated=2)

    plan = record_proposals(_result([(survivor, first), (survivor, second), (first, second)]))

    assert plan.groups == {survivor.pk: [first.pk, second.pk]}
    # Both one step from the survivor: the merge after which the two were one contact.
    assert _merge_of(plan, first, second).duplicate_id == second.pk
    assert _merge_of(plan, survivor, first).duplicate_id == first.pk


def test_the_merged_count_is_the_merges_made(smiths):
    document = _run("--fields", "name,company")

    merged_away = 64 - Contact.objects.count()
    assert merged_away >= 2  # Jon and Smith John into John
    assert document["counts"]["merged"] == ContactMerge.objects.count() == merged_away
    for pair in document["pairs"]:
        if pair["outcome"] == "merged":
            merge = ContactMerge.objects.get(pk=pair["merge_id"])
            assert merge.duplicate_id in (pair["left"]["id"], pair["right"]["id"])
            assert merge.survivor_id == pair["survivor_id"]


def test_undoing_a_pair_inside_a_group_undoes_its_contacts_merge_only(manager):
    survivor = _made(created=90, updated=30)
    newest = _made(created=5, updated=1)
    middle = _made(created=60, updated=10)
    record_proposals(_result([(survivor, newest), (newest, middle)]))
    linked = DuplicateCandidate.objects.get(
        contact_a_id=min(newest.pk, middle.pk), contact_b_id=max(newest.pk, middle.pk)
    )
    direct = DuplicateCandidate.objects.get(contact_b_id=max(survivor.pk, newest.pk))

    merge = undo_candidate_merge(linked, actor=manager)

    assert merge.duplicate_id == middle.pk
    assert set(Contact.objects.values_list("pk", flat=True)) == {survivor.pk, middle.pk}
    linked.refresh_from_db()
    direct.refresh_from_db()
    assert linked.status == CandidateStatus.DISMISSED
    assert direct.status == CandidateStatus.AUTO_MERGED  # newest is still rightly merged
    # Middle was never compared with the survivor itself: the undo still keeps them apart.
    again = record_proposals(_result([(survivor, middle)]))
    assert again.proposals[0].outcome == "dismissed-before"
    assert Contact.objects.filter(pk=middle.pk).exists()
