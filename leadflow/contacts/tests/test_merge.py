"""Merging two contacts: every related row moves, values follow the rules, undo restores all."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from leadflow.contacts.bulk import insert_rows, update_rows
from leadflow.contacts.merge import (
    MergeError,
    PairToMerge,
    contact_relations,
    merge_contacts,
    merge_contacts_in_bulk,
    undo_merge,
)
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    ConsentState,
    Contact,
    ContactMerge,
    LifecycleStage,
    StageChange,
    Vendor,
)
from leadflow.contacts.selectors import search_contacts
from leadflow.contacts.tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
)

pytestmark = pytest.mark.django_db

# The funnel apps' models, by name: the core's tests must not import them (import-linter).
Deal = apps.get_model("sales", "Deal")
Event = apps.get_model("capture", "Event")
Registration = apps.get_model("capture", "Registration")
Visitor = apps.get_model("capture", "Visitor")
Form = apps.get_model("capture", "Form")
Submission = apps.get_model("capture", "Submission")


def _age(contact: Contact, *, days: int) -> Contact:
    """Make the contact look last updated `days` ago (auto_now skips queryset updates)."""
    when = timezone.now() - timedelta(days=days)
    Contact.objects.filter(pk=contact.pk).update(updated_at=when, created_at=when)
    contact.refresh_from_db()
    return contact


@pytest.fixture
def pair():
    survivor = _age(
        ContactFactory(
            email="ann@example.com",
            first_name="Ann",
            last_name="Smith",
            phone="",
            job_title="Buyer",
            attributes={"postcode": "EC1A 1BB", "size": ""},
        ),
        days=30,
    )
    duplicate = _age(
        ContactFactory(
            email="ann.smith@work.example",
            other_emails=["a.smith@old.example"],
            first_name="Anne",
            last_name="Smith",
            phone="+44 20 7946 0001",
            job_title="Head of purchasing",
            external_id="list-7",
            attributes={"postcode": "EC1A 1BB", "size": "50", "segment": "retail"},
        ),
        days=2,
    )
    return survivor, duplicate


def _related_world(contact: Contact) -> dict:
    event = Event.objects.create(
        name="Webinar", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1)
    )
    form = Form.objects.create(name="Contact us", slug=f"contact-{contact.pk}")
    return {
        "activity": ActivityFactory(contact=contact),
        "stage": StageChange.objects.create(
            contact=contact, to_stage="lead", changed_at=timezone.now()
        ),
        "deal": Deal.objects.create(name="Big deal", contact=contact),
        "registration": Registration.objects.create(event=event, contact=contact),
        "visitor": Visitor.objects.create(visitor_id=f"v-{contact.pk}", contact=contact),
        "submission": Submission.objects.create(form=form, contact=contact),
        "event": event,
    }


def test_every_relation_to_contact_is_found():
    labels = {f"{f.model._meta.label}.{f.name}" for f in contact_relations()}
    assert {
        "contacts.Activity.contact",
        "contacts.StageChange.contact",
        "sales.Deal.contact",
        "capture.Registration.contact",
        "capture.Visitor.contact",
        "capture.Submission.contact",
    } <= labels


def test_merge_moves_every_related_row_and_deletes_the_duplicate(pair, admin_user):
    survivor, duplicate = pair
    rows = _related_world(duplicate)

    merge = merge_contacts(survivor=survivor, duplicate=duplicate, actor=admin_user)

    assert not Contact.objects.filter(pk=duplicate.pk).exists()
    for key in ("activity", "stage", "deal", "registration", "visitor", "submission"):
        row = rows[key]
        row.refresh_from_db()
        assert row.contact_id == survivor.pk, key
    assert merge.moved["sales.Deal.contact"] == [rows["deal"].pk]
    assert merge.moved["contacts.Activity.contact"] == [rows["activity"].pk]
    merged = Activity.objects.get(contact=survivor, kind=ActivityKind.MERGED)
    assert merged.data["merge_id"] == merge.pk
    assert merged.actor == admin_user
    # Gone from the list's search too (the search text is the survivor's alone).
    assert not search_contacts(Contact.objects.all(), "work.example").exists()


def test_empty_fields_are_filled_and_the_newer_value_wins(pair):
    survivor, duplicate = pair  # the duplicate was updated more recently

    merge_contacts(survivor=survivor, duplicate=duplicate)

    survivor.refresh_from_db()
    assert survivor.email == "ann@example.com"  # the survivor keeps its address
    assert survivor.other_emails == ["ann.smith@work.example", "a.smith@old.example"]
    assert survivor.phone == "+44 20 7946 0001"  # empty, filled
    assert survivor.first_name == "Anne"  # both set: the newer record's value
    assert survivor.job_title == "Head of purchasing"
    assert survivor.external_id == "list-7"  # the survivor had none
    assert survivor.attributes == {"postcode": "EC1A 1BB", "size": "50", "segment": "retail"}


def test_an_older_duplicate_never_overwrites_newer_values(pair):
    survivor, duplicate = pair
    _age(survivor, days=1)
    _age(duplicate, days=400)
    company = CompanyFactory()
    Contact.objects.filter(pk=duplicate.pk).update(company=company)
    duplicate.refresh_from_db()

    merge_contacts(survivor=survivor, duplicate=duplicate)

    survivor.refresh_from_db()
    assert survivor.first_name == "Ann"
    assert survivor.job_title == "Buyer"
    assert survivor.phone == "+44 20 7946 0001"  # still filled where empty
    assert survivor.company == company
    assert survivor.attributes["size"] == "50"  # "" counts as empty


def test_stage_score_touches_and_owner(pair, rep, manager):
    survivor, duplicate = pair
    early, late = ChannelFactory(name="Organic"), ChannelFactory(name="Email")
    campaign = CampaignFactory(channel=late)
    Contact.objects.filter(pk=survivor.pk).update(
        lifecycle_stage=LifecycleStage.LEAD, score=20, owner=rep, last_touch_channel=early
    )
    Contact.objects.filter(pk=duplicate.pk).update(
        lifecycle_stage=LifecycleStage.SQL,
        score=70,
        owner=manager,
        first_touch_channel=late,
        last_touch_channel=late,
        last_touch_campaign=campaign,
        created_at=timezone.now() - timedelta(days=90),  # created first
    )
    survivor.refresh_from_db()
    duplicate.refresh_from_db()

    merge_contacts(survivor=survivor, duplicate=duplicate)

    survivor.refresh_from_db()
    assert survivor.lifecycle_stage == LifecycleStage.SQL
    assert survivor.score == 70
    assert survivor.owner == rep
    assert survivor.first_touch_channel == late  # the contact created first
    assert survivor.last_touch_channel == late  # the contact updated last
    assert survivor.last_touch_campaign == campaign
    assert survivor.created_at == duplicate.created_at
    change = StageChange.objects.get(contact=survivor, source="merge")
    assert (change.from_stage, change.to_stage) == (LifecycleStage.LEAD, LifecycleStage.SQL)


@pytest.mark.parametrize(
    ("mine", "theirs", "expected"),
    [
        (ConsentState.GRANTED, ConsentState.WITHDRAWN, ConsentState.WITHDRAWN),
        (ConsentState.WITHDRAWN, ConsentState.GRANTED, ConsentState.WITHDRAWN),
        (ConsentState.UNKNOWN, ConsentState.GRANTED, ConsentState.GRANTED),
        (ConsentState.PENDING, ConsentState.UNKNOWN, ConsentState.PENDING),
    ],
)
def test_an_opt_out_always_survives(pair, mine, theirs, expected):
    survivor, duplicate = pair
    Contact.objects.filter(pk=survivor.pk).update(consent=mine)
    Contact.objects.filter(pk=duplicate.pk).update(consent=theirs)
    survivor.refresh_from_db()
    duplicate.refresh_from_db()

    merge_contacts(survivor=survivor, duplicate=duplicate)

    survivor.refresh_from_db()
    assert survivor.consent == expected


def test_a_survivor_without_email_takes_the_duplicates(pair):
    survivor, duplicate = pair
    Contact.objects.filter(pk=survivor.pk).update(email=None)
    survivor.refresh_from_db()

    merge = merge_contacts(survivor=survivor, duplicate=duplicate)
    survivor.refresh_from_db()
    assert survivor.email == "ann.smith@work.example"
    assert survivor.other_emails == ["a.smith@old.example"]

    undo_merge(merge)
    survivor.refresh_from_db()
    assert survivor.email is None
    assert Contact.objects.get(pk=duplicate.pk).email == "ann.smith@work.example"


def _row(contact: Contact) -> dict:
    values = Contact.objects.filter(pk=contact.pk).values().get()
    values.pop("updated_at")
    values.pop("search_text")
    return values


def test_undo_restores_exactly(pair, admin_user):
    survivor, duplicate = pair
    rows = _related_world(duplicate)
    own = ActivityFactory(contact=survivor)
    before_survivor, before_duplicate = _row(survivor), _row(duplicate)
    duplicate_updated_at = duplicate.updated_at

    merge = merge_contacts(survivor=survivor, duplicate=duplicate, actor=admin_user)
    undo_merge(merge, actor=admin_user)

    assert _row(survivor) == before_survivor
    assert _row(duplicate) == before_duplicate
    assert Contact.objects.get(pk=duplicate.pk).updated_at == duplicate_updated_at
    for key in ("activity", "stage", "deal", "registration", "visitor", "submission"):
        row = rows[key]
        row.refresh_from_db()
        assert row.contact_id == duplicate.pk, key
    own.refresh_from_db()
    assert own.contact_id == survivor.pk
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert merge.undone_by == admin_user
    assert merge.undo_notes == []
    assert Activity.objects.filter(contact=survivor, kind=ActivityKind.MERGE_UNDONE).exists()
    assert Activity.objects.filter(contact=duplicate, kind=ActivityKind.MERGE_UNDONE).exists()
    # The duplicate is found by search again (the database trigger filled its search text).
    assert search_contacts(Contact.objects.all(), "work.example").get() == duplicate


def test_a_row_that_cannot_move_is_kept_and_restored_on_undo(pair):
    survivor, duplicate = pair
    rows = _related_world(duplicate)
    twin = Registration.objects.create(event=rows["event"], contact=survivor)

    merge = merge_contacts(survivor=survivor, duplicate=duplicate)

    # One registration per event and contact: the duplicate's could not move and went with it.
    assert list(Registration.objects.filter(event=rows["event"])) == [twin]
    assert [row["model"] for row in merge.dropped] == ["capture.registration"]

    undo_merge(merge)
    restored = Registration.objects.get(pk=rows["registration"].pk)
    assert restored.contact_id == duplicate.pk
    assert restored.registered_at == rows["registration"].registered_at


def test_undo_keeps_a_value_changed_since_the_merge_and_says_so(pair):
    survivor, duplicate = pair
    merge = merge_contacts(survivor=survivor, duplicate=duplicate)
    Contact.objects.filter(pk=survivor.pk).update(job_title="CEO")

    merge = undo_merge(merge)

    survivor.refresh_from_db()
    assert survivor.job_title == "CEO"
    assert survivor.first_name == "Ann"  # unchanged since: restored
    assert any(note.startswith("job_title") for note in merge.undo_notes)


def test_merging_twice_and_undoing_twice_are_clear_errors(pair):
    survivor, duplicate = pair
    merge = merge_contacts(survivor=survivor, duplicate=duplicate)
    with pytest.raises(MergeError, match="no longer exists"):
        merge_contacts(survivor=survivor, duplicate=duplicate)
    with pytest.raises(MergeError, match="itself"):
        merge_contacts(survivor=survivor, duplicate=survivor)
    undo_merge(merge)
    with pytest.raises(MergeError, match="already undone"):
        undo_merge(merge)
    assert ContactMerge.objects.count() == 1


def test_a_chain_is_undone_from_the_last_merge(pair):
    survivor, duplicate = pair
    third = ContactFactory(email="ann3@example.com")
    first = merge_contacts(survivor=duplicate, duplicate=third)
    second = merge_contacts(survivor=survivor, duplicate=duplicate)

    with pytest.raises(MergeError, match=f"merge #{second.pk}"):
        undo_merge(first)
    undo_merge(second)
    undo_merge(first)
    assert Contact.objects.filter(pk__in=[survivor.pk, duplicate.pk, third.pk]).count() == 3


def test_a_failed_merge_changes_nothing(pair, monkeypatch):
    survivor, duplicate = pair
    activity = ActivityFactory(contact=duplicate)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("leadflow.contacts.merge.record_activity", broken)
    with pytest.raises(RuntimeError):
        merge_contacts(survivor=survivor, duplicate=duplicate)

    assert Contact.objects.filter(pk=duplicate.pk).exists()
    activity.refresh_from_db()
    assert activity.contact_id == duplicate.pk
    assert not ContactMerge.objects.exists()


def test_undo_with_a_company_deleted_since_keeps_what_exists(pair):
    survivor, duplicate = pair  # the duplicate is the newer record: its company wins
    old, new = CompanyFactory(), CompanyFactory()
    Contact.objects.filter(pk=survivor.pk).update(company=old)
    Contact.objects.filter(pk=duplicate.pk).update(company=new)
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    merge = merge_contacts(survivor=survivor, duplicate=duplicate)
    old.delete()

    merge = undo_merge(merge)

    survivor.refresh_from_db()
    assert survivor.company == new
    assert any("deleted since" in note for note in merge.undo_notes)
    assert Contact.objects.get(pk=duplicate.pk).company == new


def _state(survivor: Contact) -> dict:
    row = _row(survivor)
    row.pop("id")
    return row


def test_a_bulk_merge_does_what_single_merges_do(admin_user):
    def world(tag: str) -> tuple[Contact, Contact, dict]:
        survivor = _age(
            ContactFactory(
                email=f"{tag}@example.com", first_name="Ann", last_name="Smith", phone="", score=5
            ),
            days=30,
        )
        duplicate = _age(
            ContactFactory(
                email=f"{tag}.work@example.com",
                first_name="Anne",
                last_name="Smith",
                phone="+44 20 7946 0001",
                consent=ConsentState.WITHDRAWN,
                lifecycle_stage=LifecycleStage.MQL,
                attributes={"size": "50"},
                company=CompanyFactory(),
            ),
            days=2,
        )
        rows = {
            "activity": ActivityFactory(contact=duplicate),
            "deal": Deal.objects.create(name=f"Deal {tag}", contact=duplicate),
            "visitor": Visitor.objects.create(visitor_id=f"v-{tag}", contact=duplicate),
        }
        return survivor, duplicate, rows

    one_s, one_d, _ = world("one")
    single = merge_contacts(survivor=one_s, duplicate=one_d, actor=admin_user, source="dedupe")
    two_s, two_d, rows = world("two")
    three_s, three_d, _ = world("three")
    before = _row(two_d)

    done = merge_contacts_in_bulk(
        [PairToMerge(two_s.pk, two_d.pk, 0.97), PairToMerge(three_s.pk, three_d.pk)],
        actor=admin_user,
    )

    assert set(done) == {two_d.pk, three_d.pk}
    bulk = ContactMerge.objects.get(pk=done[two_d.pk])
    assert not Contact.objects.filter(pk__in=[two_d.pk, three_d.pk]).exists()
    for key in ("activity", "deal", "visitor"):
        rows[key].refresh_from_db()
        assert rows[key].contact_id == two_s.pk
    # The same values and the same kind of record as a single merge.
    one, two = _state(one_s), _state(two_s)
    for state in (one, two):
        for name in ("email", "other_emails", "created_at", "company_id"):
            state.pop(name)
    assert one == two
    assert Contact.objects.get(pk=two_s.pk).consent == ConsentState.WITHDRAWN
    assert Contact.objects.get(pk=two_s.pk).company_id == before["company_id"]
    assert set(bulk.survivor_before) == set(single.survivor_before)
    assert set(bulk.moved) == set(single.moved)
    assert bulk.probability == 0.97
    assert Activity.objects.filter(contact=two_s, kind=ActivityKind.MERGED).exists()
    assert StageChange.objects.filter(contact=two_s, source="merge").exists()

    undo_merge(bulk)
    assert _row(two_d) == before
    for key in ("activity", "deal", "visitor"):
        rows[key].refresh_from_db()
        assert rows[key].contact_id == two_d.pk


def test_a_bulk_merge_sends_a_pair_with_unique_rows_through_the_careful_path(pair):
    survivor, duplicate = pair
    rows = _related_world(duplicate)
    Registration.objects.create(event=rows["event"], contact=survivor)

    done = merge_contacts_in_bulk([PairToMerge(survivor.pk, duplicate.pk)])

    merge = ContactMerge.objects.get(pk=done[duplicate.pk])
    assert [row["model"] for row in merge.dropped] == ["capture.registration"]
    with pytest.raises(MergeError, match="two pairs"):
        merge_contacts_in_bulk([PairToMerge(survivor.pk, 1), PairToMerge(survivor.pk, 2)])


def test_provenance_stays_the_survivors_own(pair):
    survivor, duplicate = pair
    vendor = Vendor.objects.create(name="ListCo")
    Contact.objects.filter(pk=duplicate.pk).update(source_vendor=vendor, source_import_id=42)
    duplicate.refresh_from_db()

    merge = merge_contacts(survivor=survivor, duplicate=duplicate)

    survivor.refresh_from_db()
    assert (survivor.source_vendor_id, survivor.source_import_id) == (None, None)
    assert merge.duplicate_snapshot["fields"]["source_import_id"] == 42


def test_update_rows_gives_each_row_its_own_values_of_every_type(monkeypatch):
    monkeypatch.setattr("leadflow.contacts.bulk.UPDATE_BATCH", 2)  # several statements
    acme = CompanyFactory()
    a, b, c = ContactFactory.create_batch(3, company=acme, attributes={"old": 1})
    untouched = ContactFactory(first_name="Same")
    when = timezone.now() - timedelta(days=3)
    fields = [Contact._meta.get_field(n) for n in ("first_name", "company", "attributes",
                                                    "score", "created_at")]  # fmt: skip
    update_rows(
        Contact,
        fields,
        [
            (a.pk, "O'Brien; DROP TABLE x", None, {"tier": "gold", "n": [1, 2]}, 7, when),
            (b.pk, "Zoë", acme.pk, {}, 0, when),
            (c.pk, "", None, {"quote": 'say "hi"'}, 2_000_000, when),
        ],
    )

    rows = {r.pk: r for r in Contact.objects.all()}
    assert (rows[a.pk].first_name, rows[a.pk].company_id) == ("O'Brien; DROP TABLE x", None)
    assert rows[a.pk].attributes == {"tier": "gold", "n": [1, 2]}
    assert (rows[b.pk].first_name, rows[b.pk].company_id, rows[b.pk].attributes) == (
        "Zoë",
        acme.pk,
        {},
    )
    assert (rows[c.pk].score, rows[c.pk].attributes) == (2_000_000, {"quote": 'say "hi"'})
    assert {rows[pk].created_at for pk in (a.pk, b.pk, c.pk)} == {when}
    assert rows[untouched.pk].first_name == "Same"


def test_insert_rows_saves_what_bulk_create_would():
    contact = ContactFactory()
    when = timezone.now() - timedelta(days=2)
    made = insert_rows(
        Activity,
        [
            Activity(contact=contact, kind=ActivityKind.NOTE, occurred_at=when, data={"a": [1]}),
            Activity(
                contact=contact,
                kind=ActivityKind.MERGED,
                occurred_at=when,
                data={"q": 'x "y"\\z\ttab'},
            ),
        ],
    )
    assert all(a.pk and not a._state.adding for a in made)
    stored = {a.pk: a for a in Activity.objects.filter(contact=contact)}
    assert set(stored) >= {a.pk for a in made}
    first, second = stored[made[0].pk], stored[made[1].pk]
    assert (first.kind, first.occurred_at, first.data) == (ActivityKind.NOTE, when, {"a": [1]})
    assert second.data == {"q": 'x "y"\\z\ttab'}
    # The sequence moved past the rows: the next ordinary save does not collide.
    later = Activity.objects.create(contact=contact, kind=ActivityKind.NOTE, occurred_at=when)
    assert later.pk > made[1].pk
    assert insert_rows(Activity, []) == []
