"""What a dedupe run does with its proposals: merge the sure ones, queue the uncertain ones.

`plan_proposals` decides, reading only; `record_proposals` carries the plan out:

- A pair a person dismissed (or whose merge was undone) is never proposed again.
- Pairs above the merge threshold are merged automatically. They are grouped first (A~B and
  B~C make one group of three), and every contact of a group is merged into one survivor:
  the contact created first (on a tie, the lower id), because it carries the longest history
  and its id is the one other systems most likely hold. A group that holds a dismissed pair
  is not merged at all: its sure pairs go to the review queue instead, for a person to untie.
- Pairs between the thresholds wait in the review queue (`DuplicateCandidate`, pending);
  a pair proposed again has its probability and levels refreshed.
- A review pair whose contact was merged away in the same run is skipped: the next run
  compares the survivor, which now carries both records' data, afresh.
- Each merged pair points at one merge (`merge_id`, what undoing the pair undoes): the merge
  of its contact that is not the survivor. When both were merged away into a third contact,
  the merge of the one that joined the group through this pair (see `_merged_away`).
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.acquisition.dedupe import engine
from leadflow.acquisition.dedupe.engine import MERGE, find_duplicates
from leadflow.acquisition.dedupe.fields import parse_fields
from leadflow.acquisition.dedupe.frame import load_contacts
from leadflow.acquisition.models import CandidateStatus, DuplicateCandidate
from leadflow.acquisition.pipeline.batches import chunks
from leadflow.contacts.merge import (
    PairToMerge,
    merge_contacts,
    merge_contacts_in_bulk,
    undo_merge,
)
from leadflow.contacts.models import Contact, ContactMerge, MergeSource
from leadflow.errors import LeadflowError

MERGED, QUEUED, DISMISSED_BEFORE, SKIPPED = "merged", "queued", "dismissed-before", "skipped"
# What --dry-run reports in place of "merged" and "queued".
WOULD = {MERGED: "would-merge", QUEUED: "would-queue"}
MERGES_PER_TRANSACTION = 200  # one commit per batch of merges, not per merge (SQLite fsyncs)
LOOKUP_CHUNK = 500  # contact ids per look-up
PAIR_COLUMNS = {"id_l", "id_r", "external_id_l", "external_id_r", "probability", "action"}


class CandidateError(LeadflowError):
    """A review-queue decision that cannot be taken (already decided, contact gone...)."""


@dataclass
class Proposal:
    a: int  # the lower contact id
    b: int
    probability: float
    action: str  # the engine's "merge" or "review"
    levels: dict[str, str | None]
    outcome: str = ""
    survivor: int | None = None
    merged_away: int | None = None  # whose merge this pair points at (see _merged_away)
    merge_id: int | None = None
    candidate_id: int | None = None


@dataclass
class Plan:
    proposals: list[Proposal]
    # survivor -> the contacts merged into it, least recently updated first (see _merge_groups)
    groups: dict[int, list[int]] = field(default_factory=dict)
    updated_at: dict[int, datetime] = field(default_factory=dict)  # of every group member

    def counts(self) -> dict[str, int]:
        out = {MERGED: 0, QUEUED: 0, DISMISSED_BEFORE: 0, SKIPPED: 0}
        for proposal in self.proposals:
            out[proposal.outcome] = out.get(proposal.outcome, 0) + 1
        return out


def proposals_from(result) -> list[Proposal]:
    comparisons = [c for c in result.pairs.columns if c not in PAIR_COLUMNS]
    out = []
    for row in result.pairs.iter_rows(named=True):
        a, b = sorted((row["id_l"], row["id_r"]))
        levels = {c: row[c] for c in comparisons}
        out.append(Proposal(a, b, float(row["probability"]), row["action"], levels))
    return out


def _known_decisions() -> dict[tuple[int, int], tuple[int, str]]:
    """Every recorded pair: (a, b) -> (candidate id, status). The table holds proposals only."""
    rows = DuplicateCandidate.objects.values_list("contact_a_id", "contact_b_id", "id", "status")
    return {(a, b): (pk, status) for a, b, pk, status in rows.iterator(chunk_size=10_000)}


def _creation_order(ids: list[int]) -> dict[int, tuple]:
    """{contact id: (created_at, id, updated_at)}: sorts by creation, carries the recency."""
    order = {}
    for chunk in chunks(ids, LOOKUP_CHUNK):
        rows = Contact.objects.filter(pk__in=chunk).values_list("id", "created_at", "updated_at")
        for pk, created_at, updated_at in rows:
            order[pk] = (created_at, pk, updated_at)
    return order


def _groups(pairs: list[Proposal]) -> dict[int, set[int]]:
    """Connected contacts (union-find): root -> members."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        ra, rb = root(p.a), root(p.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, set[int]] = defaultdict(set)
    for x in list(parent):
        members[root(x)].add(x)
    return members


def _merged_away(survivor: int, merged_in_order: list[int], pairs: list[Proposal]) -> None:
    """Set each of a group's pairs' `merged_away`: the contact whose merge the pair points at.

    A pair with the survivor points at its other contact. A pair of two contacts merged away
    points at the one that joined the group through it: the one farther from the survivor
    along the group's pairs (the nearer one had joined already). Every contact merged away
    is then some pair's (the pair to the neighbour that brought it in), so each merge has a
    pair that shows and undoes it, and the merges the pairs name are the merges made. On a
    tie, the contact merged later: its merge is the one after which the two were one contact.
    """
    neighbours: dict[int, list[int]] = defaultdict(list)
    for p in pairs:
        neighbours[p.a].append(p.b)
        neighbours[p.b].append(p.a)
    distance, frontier = {survivor: 0}, [survivor]
    while frontier:  # breadth first from the survivor
        following = []
        for x in frontier:
            for y in neighbours[x]:
                if y not in distance:
                    distance[y] = distance[x] + 1
                    following.append(y)
        frontier = following
    position = {x: k for k, x in enumerate(merged_in_order)}
    for p in pairs:
        if survivor in (p.a, p.b):
            p.merged_away = p.b if p.a == survivor else p.a
        else:
            p.merged_away = max((p.a, p.b), key=lambda x: (distance[x], position[x]))


def plan_proposals(proposals: list[Proposal]) -> Plan:
    """Decide each proposal's outcome without writing anything (what --dry-run prints)."""
    known = _known_decisions()
    dismissed = set()
    for p in proposals:
        _, status = known.get((p.a, p.b), (None, None))
        # A merged pair whose two contacts are proposed again had its merge undone.
        if status in (
            CandidateStatus.DISMISSED,
            CandidateStatus.MERGED,
            CandidateStatus.AUTO_MERGED,
        ):
            p.outcome = DISMISSED_BEFORE
            dismissed.add((p.a, p.b))
        p.candidate_id = known.get((p.a, p.b), (None, None))[0]
    sure = [p for p in proposals if p.action == MERGE and not p.outcome]
    order = _creation_order(sorted({x for p in sure for x in (p.a, p.b)}))
    # A contact deleted since the run read it links nobody: its pairs are skipped (below).
    sure = [p for p in sure if p.a in order and p.b in order]
    groups = _groups(sure)
    member_of = {x: r for r, members in groups.items() for x in members}
    # A group holding a pair a person said is no duplicate is left to a person.
    tied = {
        member_of[a] for a, b in dismissed if a in member_of and member_of.get(b) == member_of[a]
    }
    pairs_of: dict[int, list[Proposal]] = defaultdict(list)
    for p in sure:
        pairs_of[member_of[p.a]].append(p)
    plan = Plan(proposals)
    survivor_of: dict[int, int] = {}  # every member of a group to merge -> its survivor
    for group_root, members in groups.items():
        if group_root in tied:
            continue
        survivor = min(members, key=order.__getitem__)
        others = [x for x in members if x != survivor]
        plan.groups[survivor] = sorted(others, key=lambda x: (order[x][2], x))
        plan.updated_at.update({x: order[x][2] for x in members})
        survivor_of.update(dict.fromkeys(members, survivor))
        _merged_away(survivor, plan.groups[survivor], pairs_of[group_root])
    absorbed = {x for x, survivor in survivor_of.items() if x != survivor}
    for p in proposals:
        if p.outcome:
            continue
        if p.action == MERGE and p.a in survivor_of and p.b in survivor_of:
            p.outcome, p.survivor = MERGED, survivor_of[p.a]
        elif p.a in absorbed or p.b in absorbed:
            p.outcome = SKIPPED
        elif p.action == MERGE and (p.a not in order or p.b not in order):
            p.outcome = SKIPPED  # deleted since the run read it
        else:
            p.outcome = QUEUED  # uncertain, or sure but in a group a person must untie
    return plan


def _merge_groups(
    plan: Plan,
    *,
    actor: User | None,
    fields: list[str],
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, int]:
    """Merge every group into its survivor; returns {merged-away contact: merge id}."""
    best: dict[int, float] = {}
    for p in plan.proposals:
        if p.outcome == MERGED:
            for x in (p.a, p.b):
                best[x] = max(best.get(x, 0.0), p.probability)
    # A group's members are merged least recently updated first, each compared with the newest
    # record merged so far (the survivor's own updated_at becomes "now" after the first), so
    # the most recently updated record's values win, as they would in a single merge. Round k
    # merges the k-th member of every group: in a round each contact appears once, so a round
    # goes to the bulk merge in batches.
    total = sum(len(xs) for xs in plan.groups.values())
    # None for a survivor's first merge: its own, current updated_at applies.
    as_of: dict[int, datetime | None] = dict.fromkeys(plan.groups)
    merges: dict[int, int] = {}
    reason = f"leadflow dedupe on {', '.join(fields)}" if fields else "leadflow dedupe"
    rounds = max((len(xs) for xs in plan.groups.values()), default=0)
    for k in range(rounds):
        work = [
            PairToMerge(survivor, xs[k], best.get(xs[k]), as_of[survivor])
            for survivor, xs in plan.groups.items()
            if len(xs) > k
        ]
        for batch in chunks(work, MERGES_PER_TRANSACTION):
            merges.update(
                merge_contacts_in_bulk(batch, actor=actor, source=MergeSource.DEDUPE, reason=reason)
            )
            if progress is not None:
                progress(len(batch), total)
        for pair in work:
            known = [as_of[pair.survivor_id] or plan.updated_at.get(pair.survivor_id)]
            known.append(plan.updated_at.get(pair.duplicate_id))
            as_of[pair.survivor_id] = max((t for t in known if t is not None), default=None)
    return merges


def record_proposals(
    result,
    *,
    auto_merge: bool = True,
    actor: User | None = None,
    fields: list[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """Carry out a dedupe run's plan: merges, then the review queue. Returns the plan, each
    proposal with its outcome, merge id and candidate id. `progress(done, total)` is called
    after each batch of merges (the command draws a progress bar with it)."""
    plan = plan_proposals(proposals_from(result))
    if not auto_merge:
        for p in plan.proposals:  # every pair goes to a person
            if p.outcome != DISMISSED_BEFORE:
                p.outcome, p.survivor, p.merged_away = QUEUED, None, None
        plan.groups = {}
    merges = _merge_groups(plan, actor=actor, fields=list(fields), progress=progress)
    now = timezone.now()
    new: list[DuplicateCandidate] = []
    seen: list[DuplicateCandidate] = []
    for p in plan.proposals:
        if p.outcome == MERGED:
            p.merge_id = merges.get(p.merged_away)
            if p.merge_id is None:
                p.outcome = SKIPPED
                continue
        if p.outcome not in (MERGED, QUEUED):
            continue
        row = DuplicateCandidate(
            pk=p.candidate_id,
            contact_a_id=p.a,
            contact_b_id=p.b,
            probability=p.probability,
            levels=p.levels,
            fields=list(fields),
            last_seen_at=now,
            status=CandidateStatus.AUTO_MERGED if p.outcome == MERGED else CandidateStatus.PENDING,
            merge_id=p.merge_id,
            decided_at=now if p.outcome == MERGED else None,
        )
        (seen if p.candidate_id else new).append(row)
    for chunk in chunks(new, 1000):
        DuplicateCandidate.objects.bulk_create(chunk)
    update = ["probability", "levels", "fields", "last_seen_at", "status", "merge", "decided_at"]
    for chunk in chunks(seen, 1000):
        DuplicateCandidate.objects.bulk_update(chunk, update)
    forget_vanished_candidates()
    created = {(c.contact_a_id, c.contact_b_id): c.pk for c in new}
    if None in created.values():  # a database that returns no ids from bulk_create
        created = {pair: pk for pair, (pk, _) in _known_decisions().items()}
    for p in plan.proposals:
        if p.candidate_id is None and p.outcome in (MERGED, QUEUED):
            p.candidate_id = created.get((p.a, p.b))
    return plan


def forget_vanished_candidates() -> int:
    """Pending pairs whose contact was merged or deleted since: nothing left to decide."""
    a_exists = Exists(Contact.objects.filter(pk=OuterRef("contact_a_id")))
    b_exists = Exists(Contact.objects.filter(pk=OuterRef("contact_b_id")))
    stale = DuplicateCandidate.objects.filter(status=CandidateStatus.PENDING).exclude(
        a_exists & b_exists
    )
    deleted, _ = stale.delete()
    return deleted


def _pending(candidate: DuplicateCandidate) -> DuplicateCandidate:
    candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != CandidateStatus.PENDING:
        raise CandidateError(
            f"This pair was already decided ({candidate.get_status_display().lower()})."
        )
    return candidate


@transaction.atomic
def merge_candidate(
    candidate: DuplicateCandidate, *, actor: User | None, survivor_id: int
) -> DuplicateCandidate:
    """A person confirmed the pair: merge it, keeping the contact they chose."""
    candidate = _pending(candidate)
    pair = (candidate.contact_a_id, candidate.contact_b_id)
    if survivor_id not in pair:
        raise CandidateError("The contact to keep must be one of the pair.")
    duplicate_id = pair[1] if survivor_id == pair[0] else pair[0]
    merge = merge_contacts(
        survivor=Contact(pk=survivor_id),
        duplicate=Contact(pk=duplicate_id),
        actor=actor,
        source=MergeSource.REVIEW,
        reason="Confirmed in the duplicates review queue",
        probability=candidate.probability,
    )
    candidate.status = CandidateStatus.MERGED
    candidate.merge = merge
    candidate.decided_by = actor
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "merge", "decided_by", "decided_at"])
    return candidate


@transaction.atomic
def dismiss_candidate(candidate: DuplicateCandidate, *, actor: User | None) -> DuplicateCandidate:
    """Not a duplicate: later runs will not propose this pair again."""
    candidate = _pending(candidate)
    candidate.status = CandidateStatus.DISMISSED
    candidate.decided_by = actor
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


@transaction.atomic
def undo_recorded_merge(merge: ContactMerge, *, actor: User | None) -> ContactMerge:
    """Undo a merge (any source) and mark its pairs as not duplicates, so that the next
    dedupe run does not merge them straight back.

    Its pairs are the ones that point at it and the two contacts themselves: in a group, the
    contact may have been merged into the survivor through a third one (B~C and C~A merge B
    into A), and without a dismissed A~B the next run would compare them afresh.
    """
    merge = undo_merge(merge, actor=actor)
    now = timezone.now()
    decided = {"status": CandidateStatus.DISMISSED, "decided_by": actor, "decided_at": now}
    DuplicateCandidate.objects.filter(merge=merge).update(**decided)
    a, b = sorted((merge.survivor_id, merge.duplicate_id))
    DuplicateCandidate.objects.update_or_create(
        contact_a_id=a,
        contact_b_id=b,
        defaults=decided,
        create_defaults={**decided, "probability": merge.probability or 0.0, "merge": merge},
    )
    return merge


@transaction.atomic
def undo_candidate_merge(candidate: DuplicateCandidate, *, actor: User | None) -> ContactMerge:
    candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.merge_id is None:
        raise CandidateError("This pair was not merged.")
    return undo_recorded_merge(candidate.merge, actor=actor)


def run_dedupe(
    *,
    fields: str | None = None,
    threshold: float | None = None,
    review_threshold: float | None = None,
    actor: User | None = None,
) -> Plan:
    """The whole run, as `leadflow dedupe` without --dry-run does it (the UI's background run)."""
    parsed = parse_fields(fields)
    result = find_duplicates(
        load_contacts(parsed),
        parsed,
        threshold=engine.DEFAULT_THRESHOLD if threshold is None else threshold,
        review_threshold=(
            engine.DEFAULT_REVIEW_THRESHOLD if review_threshold is None else review_threshold
        ),
    )
    return record_proposals(result, actor=actor, fields=[f.name for f in parsed])
