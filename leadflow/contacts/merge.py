"""Merging two contacts into one, recorded so that it can be undone.

`merge_contacts` keeps the survivor and folds the duplicate into it:

- fields: the survivor's value stays; an empty one is filled from the duplicate; where both
  have a value and they differ, the value of the contact updated more recently wins (a tie
  keeps the survivor's). Custom attributes follow the same rule key by key.
- email: the survivor keeps its email (filled from the duplicate when it has none); the
  duplicate's address, and its other addresses, go into `other_emails`.
- owner and external id: the survivor's, unless it has none. Its vendor and source import
  stay its own (the duplicate's are in the merge record).
- lifecycle stage: the more advanced one (disqualified counts as below every funnel stage);
  score: the higher one, until scoring recomputes it.
- consent: an explicit withdrawal always survives; otherwise granted beats pending beats
  unknown. The consent time comes with the state that was kept.
- first touch: the one of the contact created first; last touch: the one of the contact
  updated last; created at: the earlier of the two.
- every row of any app that points at the duplicate (activities, stage history, deals,
  submissions, registrations, tracking visitors, and any model added later: the relations are
  found at run time) moves to the survivor. A row that cannot move because the survivor
  already has its twin (a unique constraint, such as one registration per event) is deleted
  with the duplicate and kept, serialised, in the merge record.

The duplicate is then deleted (not hidden), so no list, search or API can show it, and the
`ContactMerge` row keeps its whole row, the survivor's previous values and the ids of the
moved rows. `undo_merge` puts all of it back. `merge_contacts_in_bulk` applies the same rules
to many pairs in a fixed number of statements (dedupe runs).
"""

import datetime
import decimal
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core import serializers
from django.db import connections, models, router, transaction
from django.db.models import Value
from django.db.models.deletion import Collector
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.contacts import events
from leadflow.contacts.bulk import insert_rows, update_rows
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    ConsentState,
    Contact,
    ContactMerge,
    LifecycleStage,
    MergeSource,
    StageChange,
)
from leadflow.contacts.services import record_activity
from leadflow.errors import LeadflowError

# Filled when empty; when both are set, the more recently updated contact's value wins.
NEWER_WINS = ("first_name", "last_name", "phone", "job_title", "country", "company_id")
# The survivor's, unless it has none.
SURVIVOR_FIRST = ("owner_id", "external_id")
# Provenance (source_vendor, source_import_id) is never filled: the kept record was not bought
# in the other one's list, and an import's cost per new lead and its undo must not claim it.
# The lifecycle order for a merge; disqualified ranks below every funnel stage.
STAGE_RANK = {
    LifecycleStage.DISQUALIFIED: 0,
    LifecycleStage.SUBSCRIBER: 1,
    LifecycleStage.LEAD: 2,
    LifecycleStage.MQL: 3,
    LifecycleStage.SQL: 4,
    LifecycleStage.OPPORTUNITY: 5,
    LifecycleStage.CUSTOMER: 6,
    LifecycleStage.ADVOCATE: 7,
}
# Withdrawn always wins: a person who opted out on one record has opted out.
CONSENT_RANK = {
    ConsentState.UNKNOWN: 0,
    ConsentState.PENDING: 1,
    ConsentState.GRANTED: 2,
    ConsentState.WITHDRAWN: 3,
}
MOVE_CHUNK = 500  # ids per UPDATE ... WHERE id IN (...): SQLite allows 999 parameters


class MergeError(LeadflowError):
    """A merge or an undo that cannot be done as asked; the message says why."""


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _dump(value: Any) -> Any:
    """A field value as JSON (datetimes keep their microseconds, unlike DjangoJSONEncoder)."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _load(attname: str, raw: Any) -> Any:
    field = _field(attname)
    if raw is None or isinstance(field, models.JSONField):
        return raw
    return field.to_python(raw)


def _field(attname: str) -> models.Field:
    return next(f for f in Contact._meta.concrete_fields if f.attname == attname)


@functools.cache
def contact_relations() -> list[models.ForeignKey]:
    """Every foreign key (or one-to-one) to Contact in any installed app, including the
    hidden tables of many-to-many fields. Found at run time, so a new app's rows move too."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model is Contact or model is ContactMerge:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Contact:
                found.append(field)
    return sorted(found, key=_relation_key)


def _relation_key(field: models.Field) -> str:
    return f"{field.model._meta.label}.{field.name}"


def _relation(key: str) -> models.ForeignKey:
    label, _, name = key.rpartition(".")
    return apps.get_model(label)._meta.get_field(name)


def _unique_sets(field: models.ForeignKey) -> list[tuple[list[str], models.Q | None]]:
    """The unique constraints a moved row could break: (the other fields, condition)."""
    model = field.model
    sets: list[tuple[list[str], models.Q | None]] = []
    if field.unique:
        sets.append(([], None))
    for together in model._meta.unique_together:
        if field.name in together:
            sets.append(([f for f in together if f != field.name], None))
    for constraint in model._meta.constraints:
        fields = getattr(constraint, "fields", ())
        if isinstance(constraint, models.UniqueConstraint) and field.name in fields:
            others = [f for f in fields if f != field.name]
            sets.append((others, constraint.condition))
    return sets


def _conflicting_ids(field: models.ForeignKey, survivor_id: int, duplicate_id: int) -> set:
    """Rows of the duplicate whose twin the survivor already has under a unique constraint."""
    manager = field.model._base_manager
    out: set = set()
    for others, condition in _unique_sets(field):
        theirs = manager.filter(**{field.attname: survivor_id})
        ours = manager.filter(**{field.attname: duplicate_id})
        if condition is not None:
            theirs, ours = theirs.filter(condition), ours.filter(condition)
        if not others:
            if theirs.exists():
                out.update(ours.values_list("pk", flat=True))
            continue
        taken = set(theirs.values_list(*others))
        out.update(pk for pk, *values in ours.values_list("pk", *others) if tuple(values) in taken)
    return out


SENTINEL = -7_654_321  # stands for the contact id while the lookup's SQL is compiled once


@functools.cache
def _rows_pointing_at_sql(using: str) -> tuple[str, tuple]:
    """One UNION ALL over every related table (compiling 15 querysets took longer than running
    them, per merge): the SQL, and its parameters with SENTINEL where the contact id goes."""
    selects = [
        field.model._base_manager.filter(**{field.attname: SENTINEL})
        .order_by()
        .values_list(Value(i, output_field=models.IntegerField()), "pk")
        for i, field in enumerate(contact_relations())
    ]
    return selects[0].union(*selects[1:], all=True).query.get_compiler(using).as_sql()


def _rows_pointing_at(contact_id: int) -> dict[models.ForeignKey, list]:
    """{relation: ids of its rows that point at the contact}, in one query for all tables."""
    relations = contact_relations()
    if not relations:
        return {}
    using = router.db_for_write(Contact)
    sql, params = _rows_pointing_at_sql(using)
    params = [contact_id if p == SENTINEL else p for p in params]
    found: dict[models.ForeignKey, list] = {}
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        for i, pk in cursor.fetchall():
            found.setdefault(relations[i], []).append(pk)
    return found


def _move_rows(survivor_id: int, duplicate_id: int) -> tuple[dict[str, list], bool]:
    """Point the duplicate's rows at the survivor. Returns ({relation: moved ids}, whether
    some rows could not move)."""
    moved: dict[str, list] = {}
    stuck_any = False
    for field, ids in _rows_pointing_at(duplicate_id).items():
        stuck = _conflicting_ids(field, survivor_id, duplicate_id)
        stuck_any = stuck_any or bool(stuck)
        ids = sorted(pk for pk in ids if pk not in stuck)
        manager = field.model._base_manager
        for start in range(0, len(ids), MOVE_CHUNK):
            chunk = ids[start : start + MOVE_CHUNK]
            manager.filter(pk__in=chunk).update(**{field.attname: survivor_id})
        if ids:
            moved[_relation_key(field)] = ids
    return dict(sorted(moved.items())), stuck_any


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot keep a {type(value).__name__} in a merge record")


def _serialise(objects) -> list[dict]:
    """Rows as JSON, exactly (Django's JSON serialiser would cut microseconds to milliseconds)."""
    rows = serializers.serialize("python", objects)
    return json.loads(json.dumps(rows, default=_json_default))


def _delete_with_snapshot(duplicate: Contact, *, alone: bool) -> list[dict]:
    """Delete the duplicate and return what went with it (rows that could not move), in the
    order they must be put back (parents before children)."""
    using = router.db_for_write(Contact)
    if alone:
        # Nothing points at it any more (every row moved, and the row lock keeps new ones
        # from arriving): one DELETE instead of Django's cascade collector, which asks every
        # related table again. A row that slipped in would fail the foreign key, not dangle.
        Contact.objects.filter(pk=duplicate.pk)._raw_delete(using)
        return []
    collector = Collector(using=using, origin=duplicate)
    collector.collect([duplicate])
    collector.sort()
    # Collector deletes fast-delete querysets first, then models in its sorted order; put back
    # in the reverse order.
    batches: list[list] = [list(qs) for qs in collector.fast_deletes]
    batches += [list(rows) for model, rows in collector.data.items() if model is not Contact]
    dropped = []
    for batch in reversed(batches):
        dropped.extend(_serialise(batch))
    collector.delete()
    return dropped


def _merged_values(
    survivor: Contact, duplicate: Contact, survivor_as_of: datetime.datetime | None = None
) -> dict[str, Any]:
    """{attname: new value} for the survivor fields the merge changes."""
    as_of = survivor_as_of or survivor.updated_at
    newer = duplicate if duplicate.updated_at > as_of else survivor
    older_created = duplicate if duplicate.created_at < survivor.created_at else survivor
    out: dict[str, Any] = {}

    def pick(attname: str, value: Any) -> None:
        if value != getattr(survivor, attname):
            out[attname] = value

    for attname in NEWER_WINS:
        mine, theirs = getattr(survivor, attname), getattr(duplicate, attname)
        if _empty(mine) or (not _empty(theirs) and newer is duplicate):
            pick(attname, mine if _empty(theirs) else theirs)
    for attname in SURVIVOR_FIRST:
        if _empty(getattr(survivor, attname)) and not _empty(getattr(duplicate, attname)):
            pick(attname, getattr(duplicate, attname))

    email = survivor.email
    if not email and duplicate.email:
        email = duplicate.email
        pick("email", email)
        pick("email_is_role", duplicate.email_is_role)
        pick("email_is_disposable", duplicate.email_is_disposable)
    others = list(survivor.other_emails or [])
    for address in [duplicate.email, *(duplicate.other_emails or [])]:
        if address and address != email and address not in others:
            others.append(address)
    pick("other_emails", others)

    attributes = dict(survivor.attributes or {})
    for key, theirs in (duplicate.attributes or {}).items():
        if not _empty(theirs) and (_empty(attributes.get(key)) or newer is duplicate):
            attributes[key] = theirs
    pick("attributes", attributes)

    if STAGE_RANK[duplicate.lifecycle_stage] > STAGE_RANK[survivor.lifecycle_stage]:
        pick("lifecycle_stage", duplicate.lifecycle_stage)
    pick("score", max(survivor.score, duplicate.score))
    if CONSENT_RANK[duplicate.consent] > CONSENT_RANK[survivor.consent]:
        pick("consent", duplicate.consent)
        pick("consent_at", duplicate.consent_at)

    first = older_created if older_created.first_touch_channel_id else None
    first = first or (survivor if survivor.first_touch_channel_id else duplicate)
    pick("first_touch_channel_id", first.first_touch_channel_id)
    pick("first_touch_campaign_id", first.first_touch_campaign_id)
    last = newer if newer.last_touch_channel_id else None
    last = last or (survivor if survivor.last_touch_channel_id else duplicate)
    pick("last_touch_channel_id", last.last_touch_channel_id)
    pick("last_touch_campaign_id", last.last_touch_campaign_id)
    pick("created_at", min(survivor.created_at, duplicate.created_at))
    return out


def _describe(contact: Contact) -> dict:
    return {"id": contact.pk, "name": contact.full_name, "email": contact.email or ""}


@transaction.atomic
def merge_contacts(
    *,
    survivor: Contact,
    duplicate: Contact,
    actor: User | None = None,
    source: str = MergeSource.MANUAL,
    reason: str = "",
    probability: float | None = None,
    survivor_as_of: datetime.datetime | None = None,
) -> ContactMerge:
    """Fold `duplicate` into `survivor` (see the module docstring for the rules) and delete it.

    `survivor_as_of` is how recent the survivor's values are when that is not its updated_at:
    after a first merge of a group the survivor's updated_at is "now", and the next member
    must be compared with the newest record merged so far, not with the merge itself.
    """
    if survivor.pk == duplicate.pk:
        raise MergeError("A contact cannot be merged into itself.")
    if source not in MergeSource.values:
        raise MergeError(f"Unknown merge source {source!r}.")
    # Locked in id order, so two merges of the same pair cannot deadlock.
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    if duplicate.pk not in locked:
        raise MergeError(f"Contact {duplicate.pk} no longer exists: it was merged or deleted.")
    if survivor.pk not in locked:
        raise MergeError(f"Contact {survivor.pk} no longer exists: it was merged or deleted.")
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]

    changes = _merged_values(survivor, duplicate, survivor_as_of)
    snapshot = _serialise([duplicate])[0]
    moved, stuck = _move_rows(survivor.pk, duplicate.pk)
    dropped = _delete_with_snapshot(duplicate, alone=not stuck)  # frees its email, external id

    before = {name: _dump(getattr(survivor, name)) for name in changes}
    from_stage = survivor.lifecycle_stage
    for name, value in changes.items():
        setattr(survivor, name, value)
    survivor.save(update_fields=[*[_field(n).name for n in changes], "updated_at"])
    merge = ContactMerge.objects.create(
        survivor_id=survivor.pk,
        duplicate_id=snapshot["pk"],
        duplicate_snapshot=snapshot,
        survivor_before=before,
        survivor_after={name: _dump(value) for name, value in changes.items()},
        moved=moved,
        dropped=dropped,
        actor=actor,
        source=source,
        reason=reason,
        probability=probability,
    )
    if "lifecycle_stage" in changes:
        _record_stage(survivor, from_stage, actor, f"merged with contact {duplicate.pk}")
    record_activity(
        contact=survivor,
        kind=ActivityKind.MERGED,
        actor=actor,
        data={
            "merge_id": merge.pk,
            "duplicate": _describe(duplicate),
            "source": source,
            "reason": reason,
            "probability": probability,
            "changed": sorted(_field(n).name for n in changes),
            "moved": {key: len(ids) for key, ids in moved.items()},
        },
    )
    changed = sorted(_field(n).name for n in changes)
    if changed:
        transaction.on_commit(
            lambda: events.contact_updated.send(Contact, contact_id=survivor.pk, changed=changed)
        )
    if "lifecycle_stage" in changes:
        to_stage = survivor.lifecycle_stage
        transaction.on_commit(
            lambda: events.stage_changed.send(
                Contact, contact_id=survivor.pk, from_stage=from_stage, to_stage=to_stage
            )
        )
    return merge


def _record_stage(contact: Contact, from_stage: str, actor: User | None, reason: str) -> None:
    StageChange.objects.create(
        contact=contact,
        from_stage=from_stage,
        to_stage=contact.lifecycle_stage,
        changed_at=timezone.now(),
        actor=actor,
        source="merge",
        reason=reason,
    )


def _save_raw(rows: list[dict]) -> None:
    for obj in serializers.deserialize("python", rows):
        obj.save()


def _drop_dangling_references(snapshot: dict) -> dict:
    """A company, owner or campaign deleted since the merge: the recreated row goes without."""
    fields = dict(snapshot["fields"])
    for field in Contact._meta.concrete_fields:
        if field.many_to_one and fields.get(field.name) is not None:
            target = field.related_model._base_manager.filter(pk=fields[field.name])
            if not target.exists():
                fields[field.name] = None
    return {**snapshot, "fields": fields}


@transaction.atomic
def undo_merge(merge: ContactMerge, *, actor: User | None = None) -> ContactMerge:
    """Recreate the duplicate with its own id, move back exactly the rows the merge moved and
    restore the survivor's fields, unless someone changed a field since: then the newer value
    stays, and `undo_notes` (and the timeline) say so."""
    merge = ContactMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise MergeError(f"Merge #{merge.pk} was already undone on {merge.undone_at:%Y-%m-%d}.")
    survivor = Contact.objects.select_for_update().filter(pk=merge.survivor_id).first()
    if survivor is None:
        later = (
            ContactMerge.objects.filter(duplicate_id=merge.survivor_id, undone_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if later is not None:
            raise MergeError(
                f"Contact {merge.survivor_id} was itself merged later (merge #{later.pk}): "
                "undo that merge first."
            )
        raise MergeError(
            f"Contact {merge.survivor_id} has been deleted: the merge cannot be undone."
        )
    if Contact.objects.filter(pk=merge.duplicate_id).exists():
        raise MergeError(f"A contact with id {merge.duplicate_id} exists again.")

    notes: list[str] = []
    restored: list[str] = []
    from_stage = survivor.lifecycle_stage
    for attname, before in merge.survivor_before.items():
        field = _field(attname)
        name = field.name
        gone = (
            field.many_to_one
            and before is not None
            and not field.related_model._base_manager.filter(pk=before).exists()
        )
        if gone:
            notes.append(f"{name}: the previous {name} has been deleted since, kept the merged one")
        elif _dump(getattr(survivor, attname)) == merge.survivor_after.get(attname):
            setattr(survivor, attname, _load(attname, before))
            restored.append(name)
        else:
            notes.append(f"{name}: changed since the merge, the newer value was kept")
    snapshot = _drop_dangling_references(merge.duplicate_snapshot)
    for unique in ("email", "external_id"):
        value = snapshot["fields"].get(unique)
        if value and Contact.objects.filter(**{unique: value}).exclude(pk=survivor.pk).exists():
            raise MergeError(
                f"Another contact now has the {unique.replace('_', ' ')} {value}: "
                "the duplicate cannot be recreated."
            )
        if value and getattr(survivor, unique) == value:
            # The survivor took the address and someone has kept it there since.
            raise MergeError(
                f"Contact {survivor.pk} still uses the {unique.replace('_', ' ')} {value}: "
                "change it there first."
            )
    if restored:
        survivor.save(update_fields=[*restored, "updated_at"])
    _save_raw([snapshot])
    duplicate = Contact.objects.get(pk=merge.duplicate_id)

    for key, ids in merge.moved.items():
        try:
            field = _relation(key)
        except (LookupError, ValueError):
            notes.append(f"{key}: that table no longer exists, its rows were not moved back")
            continue
        manager = field.model._base_manager
        back = 0
        for start in range(0, len(ids), MOVE_CHUNK):
            chunk = ids[start : start + MOVE_CHUNK]
            back += manager.filter(pk__in=chunk, **{field.attname: survivor.pk}).update(
                **{field.attname: duplicate.pk}
            )
        if back < len(ids):
            notes.append(f"{key}: {len(ids) - back} of {len(ids)} rows had gone or moved since")
    if merge.dropped:
        _save_raw(merge.dropped)

    if "lifecycle_stage" in restored:
        _record_stage(survivor, from_stage, actor, f"merge #{merge.pk} undone")
    data = {"merge_id": merge.pk, "duplicate": _describe(duplicate), "notes": notes}
    record_activity(contact=survivor, kind=ActivityKind.MERGE_UNDONE, actor=actor, data=data)
    record_activity(
        contact=duplicate,
        kind=ActivityKind.MERGE_UNDONE,
        actor=actor,
        data={"merge_id": merge.pk, "survivor": _describe(survivor), "notes": notes},
    )
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.undo_notes = notes
    merge.save(update_fields=["undone_at", "undone_by", "undo_notes"])
    transaction.on_commit(
        lambda: events.contact_updated.send(Contact, contact_id=survivor.pk, changed=restored)
    )
    transaction.on_commit(lambda: events.contact_created.send(Contact, contact_id=duplicate.pk))
    return merge


@dataclass(frozen=True)
class PairToMerge:
    survivor_id: int
    duplicate_id: int
    probability: float | None = None
    survivor_as_of: datetime.datetime | None = None  # see merge_contacts


def _rows_pointing_at_many(contact_ids: list[int]) -> dict[models.ForeignKey, list[tuple]]:
    """{relation: [(row id, contact id)]} for the rows pointing at any of the contacts."""
    relations = contact_relations()
    if not relations or not contact_ids:
        return {}
    selects = [
        field.model._base_manager.filter(**{f"{field.attname}__in": contact_ids})
        .order_by()
        .values_list(Value(i, output_field=models.IntegerField()), "pk", field.attname)
        for i, field in enumerate(relations)
    ]
    found: dict[models.ForeignKey, list[tuple]] = {}
    for i, pk, contact_id in selects[0].union(*selects[1:], all=True):
        found.setdefault(relations[i], []).append((pk, contact_id))
    return found


@transaction.atomic
def merge_contacts_in_bulk(
    pairs: list[PairToMerge],
    *,
    actor: User | None = None,
    source: str = MergeSource.DEDUPE,
    reason: str = "",
) -> dict[int, int]:
    """`merge_contacts` for many pairs at once, with the same rules and the same records (each
    merge undoes on its own), in a fixed number of statements per call instead of per pair.

    For dedupe runs: like an import, it sends no per-contact events. No contact may appear in
    two pairs of one call (a group is merged in rounds, see acquisition.dedupe.queue). A pair
    with rows under a unique constraint (an event registration) goes through `merge_contacts`.
    Returns {duplicate id: merge id}; pairs whose contact is gone are left out.
    """
    if source not in MergeSource.values:
        raise MergeError(f"Unknown merge source {source!r}.")
    ids = [p.survivor_id for p in pairs] + [p.duplicate_id for p in pairs]
    if len(set(ids)) != len(ids):
        raise MergeError("A contact appears in two pairs of one bulk merge.")
    locked = {
        c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    live = [p for p in pairs if p.survivor_id in locked and p.duplicate_id in locked]
    rows = _rows_pointing_at_many([p.duplicate_id for p in live])
    careful = {cid for field, items in rows.items() if _unique_sets(field) for _, cid in items}
    fast = [p for p in live if p.duplicate_id not in careful]
    survivor_of = {p.duplicate_id: p.survivor_id for p in fast}

    changes = {
        p.duplicate_id: _merged_values(
            locked[p.survivor_id], locked[p.duplicate_id], p.survivor_as_of
        )
        for p in fast
    }
    snapshots = dict(
        zip(
            [p.duplicate_id for p in fast],
            _serialise([locked[p.duplicate_id] for p in fast]),
            strict=True,
        )
    )
    moved: dict[int, dict[str, list]] = {p.duplicate_id: {} for p in fast}
    for field, items in sorted(rows.items(), key=lambda item: _relation_key(item[0])):
        mine = sorted((pk, cid) for pk, cid in items if cid in survivor_of)
        update_rows(field.model, [field], [(pk, survivor_of[cid]) for pk, cid in mine])
        for pk, cid in mine:
            moved[cid].setdefault(_relation_key(field), []).append(pk)
    using = router.db_for_write(Contact)
    Contact.objects.filter(pk__in=list(survivor_of))._raw_delete(using)

    now = timezone.now()
    before: dict[int, dict] = {}
    from_stage: dict[int, str] = {}
    # Survivors grouped by the columns their merge changes: one UPDATE per group, which
    # touches no column a survivor's merge need not, instead of one per survivor.
    by_columns: dict[tuple[str, ...], list[tuple]] = {}
    for p in fast:
        survivor, change = locked[p.survivor_id], changes[p.duplicate_id]
        before[p.duplicate_id] = {name: _dump(getattr(survivor, name)) for name in change}
        from_stage[p.duplicate_id] = survivor.lifecycle_stage
        names = tuple(sorted(change))
        values = (survivor.pk, *(change[name] for name in names), now)
        by_columns.setdefault(names, []).append(values)
    updated_at = Contact._meta.get_field("updated_at")
    for names, values in by_columns.items():
        update_rows(Contact, [*(_field(name) for name in names), updated_at], values)
    merges = insert_rows(
        ContactMerge,
        [
            ContactMerge(
                survivor_id=p.survivor_id,
                duplicate_id=p.duplicate_id,
                duplicate_snapshot=snapshots[p.duplicate_id],
                survivor_before=before[p.duplicate_id],
                survivor_after={n: _dump(v) for n, v in changes[p.duplicate_id].items()},
                moved=dict(sorted(moved[p.duplicate_id].items())),
                dropped=[],
                actor=actor,
                source=source,
                reason=reason,
                probability=p.probability,
                created_at=now,
            )
            for p in fast
        ],
    )
    insert_rows(
        StageChange,
        [
            StageChange(
                contact_id=p.survivor_id,
                from_stage=from_stage[p.duplicate_id],
                to_stage=changes[p.duplicate_id]["lifecycle_stage"],
                changed_at=now,
                actor=actor,
                source="merge",
                reason=f"merged with contact {p.duplicate_id}",
            )
            for p in fast
            if "lifecycle_stage" in changes[p.duplicate_id]
        ],
    )
    insert_rows(
        Activity,
        [
            Activity(
                contact_id=p.survivor_id,
                kind=ActivityKind.MERGED,
                actor=actor,
                occurred_at=now,
                data={
                    "merge_id": merge.pk,
                    "duplicate": _describe(locked[p.duplicate_id]),
                    "source": source,
                    "reason": reason,
                    "probability": p.probability,
                    "changed": sorted(_field(n).name for n in changes[p.duplicate_id]),
                    "moved": {key: len(ids) for key, ids in merge.moved.items()},
                },
            )
            for p, merge in zip(fast, merges, strict=True)
        ],
    )
    done = {p.duplicate_id: merge.pk for p, merge in zip(fast, merges, strict=True)}
    for p in live:
        if p.duplicate_id in careful:
            merge = merge_contacts(
                survivor=locked[p.survivor_id],
                duplicate=locked[p.duplicate_id],
                actor=actor,
                source=source,
                reason=reason,
                probability=p.probability,
                survivor_as_of=p.survivor_as_of,
            )
            done[p.duplicate_id] = merge.pk
    return done
