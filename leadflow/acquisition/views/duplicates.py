"""The duplicates review queue: pairs the matcher was unsure of, merged or dismissed by a person.

/duplicates/ lists the pending pairs, most probable first, and the recent merges (each with
Undo); /duplicates/<id>/ compares the two contacts side by side. Every write is a POST that
calls one service of `acquisition.dedupe.queue`. Admins, marketing and sales managers only:
a merge changes records that reps share.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from leadflow.accounts.models import Role, User
from leadflow.acquisition.dedupe import queue, tasks
from leadflow.acquisition.models import CandidateStatus, DuplicateCandidate
from leadflow.contacts.models import Contact, ContactMerge
from leadflow.errors import LeadflowError

PAGE_SIZE = 25
RECENT_MERGES = 20
REVIEWERS = {Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER}
# The rows of the side-by-side comparison: (label, how to read it from a contact).
COMPARED = (
    ("Email", lambda c: c.email or ""),
    ("Other emails", lambda c: ", ".join(c.other_emails or [])),
    ("First name", lambda c: c.first_name),
    ("Last name", lambda c: c.last_name),
    ("Phone", lambda c: c.phone),
    ("Company", lambda c: c.company.name if c.company else ""),
    ("Job title", lambda c: c.job_title),
    ("Country", lambda c: c.country),
    ("Lifecycle stage", lambda c: c.get_lifecycle_stage_display()),
    ("Score", lambda c: str(c.score)),
    ("Consent", lambda c: c.get_consent_display()),
    ("Owner", lambda c: str(c.owner) if c.owner else ""),
    ("External id", lambda c: c.external_id or ""),
)


def can_review(user: User) -> bool:
    return user.is_superuser or user.role in REVIEWERS


def reviewers_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_review(request.user):
            raise PermissionDenied("Only admins, marketing and sales managers review duplicates.")
        return view(request, *args, **kwargs)

    return wrapper


def _pending():
    """Pending pairs whose two contacts both still exist, most probable first."""
    return DuplicateCandidate.objects.filter(
        Exists(Contact.objects.filter(pk=OuterRef("contact_a_id"))),
        Exists(Contact.objects.filter(pk=OuterRef("contact_b_id"))),
        status=CandidateStatus.PENDING,
    ).order_by("-probability", "id")


def _contacts(ids) -> dict[int, Contact]:
    rows = Contact.objects.filter(pk__in=set(ids)).select_related("company", "owner")
    return {c.pk: c for c in rows}


def _agreeing(levels: dict) -> list[str]:
    return [name for name, level in (levels or {}).items() if level and level != "different"]


@require_GET
@reviewers_only
def duplicate_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(_pending(), PAGE_SIZE).get_page(request.GET.get("page"))
    candidates = list(page.object_list)
    merges = list(ContactMerge.objects.select_related("actor", "undone_by")[:RECENT_MERGES])
    contacts = _contacts(
        [c.contact_a_id for c in candidates]
        + [c.contact_b_id for c in candidates]
        + [m.survivor_id for m in merges]
    )
    rows = [
        {
            "candidate": c,
            "a": contacts.get(c.contact_a_id),
            "b": contacts.get(c.contact_b_id),
            "agree": _agreeing(c.levels),
            "percent": round(c.probability * 100),
        }
        for c in candidates
    ]
    recent = [
        {
            "merge": m,
            "survivor": contacts.get(m.survivor_id),
            "duplicate": _snapshot_name(m),
        }
        for m in merges
    ]
    return render(
        request,
        "acquisition/duplicates/list.html",
        {
            "page": page,
            "rows": rows,
            "recent": recent,
            "pending_total": page.paginator.count,
            "last_run": tasks.last_background_run(),
        },
    )


def _snapshot_name(merge: ContactMerge) -> str:
    fields = (merge.duplicate_snapshot or {}).get("fields", {})
    name = f"{fields.get('first_name', '')} {fields.get('last_name', '')}".strip()
    return name or fields.get("email") or f"Contact {merge.duplicate_id}"


@require_GET
@reviewers_only
def duplicate_detail(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(
        DuplicateCandidate.objects.select_related("merge"), pk=candidate_id
    )
    contacts = _contacts([candidate.contact_a_id, candidate.contact_b_id])
    a, b = contacts.get(candidate.contact_a_id), contacts.get(candidate.contact_b_id)
    rows = []
    if a and b:
        for label, read in COMPARED:
            left, right = read(a), read(b)
            rows.append(
                {
                    "label": label,
                    "a": left,
                    "b": right,
                    "same": left != "" and str(left).lower() == str(right).lower(),
                }
            )
        for key in sorted(set(a.attributes or {}) | set(b.attributes or {})):
            left, right = (a.attributes or {}).get(key, ""), (b.attributes or {}).get(key, "")
            rows.append(
                {
                    "label": key,
                    "attribute": True,
                    "a": left,
                    "b": right,
                    "same": left != "" and str(left).lower() == str(right).lower(),
                }
            )
    levels = [
        {"name": name, "level": level or "unknown", "agrees": level not in (None, "different")}
        for name, level in (candidate.levels or {}).items()
    ]
    return render(
        request,
        "acquisition/duplicates/detail.html",
        {
            "candidate": candidate,
            "a": a,
            "b": b,
            "rows": rows,
            "levels": levels,
            "percent": round(candidate.probability * 100),
            "open": candidate.status == CandidateStatus.PENDING and a is not None and b is not None,
        },
    )


def _next_page(request: HttpRequest) -> HttpResponse:
    return redirect("acquisition:duplicates")


@require_POST
@reviewers_only
def duplicate_merge(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(DuplicateCandidate, pk=candidate_id)
    try:
        survivor_id = int(request.POST.get("survivor", ""))
    except ValueError:
        messages.error(request, "Choose which contact to keep.")
        return redirect("acquisition:duplicate_detail", candidate_id=candidate.pk)
    try:
        candidate = queue.merge_candidate(candidate, actor=request.user, survivor_id=survivor_id)
    except LeadflowError as error:
        messages.error(request, str(error))
        return redirect("acquisition:duplicate_detail", candidate_id=candidate.pk)
    survivor = Contact.objects.filter(pk=survivor_id).first()
    messages.success(request, f"Merged into {survivor}. You can undo it below.")
    return _next_page(request)


@require_POST
@reviewers_only
def duplicate_dismiss(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(DuplicateCandidate, pk=candidate_id)
    try:
        queue.dismiss_candidate(candidate, actor=request.user)
    except LeadflowError as error:
        messages.error(request, str(error))
        return redirect("acquisition:duplicate_detail", candidate_id=candidate.pk)
    messages.success(request, "Marked as not a duplicate: this pair will not be proposed again.")
    return _next_page(request)


@require_POST
@reviewers_only
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    merge = get_object_or_404(ContactMerge, pk=merge_id)
    try:
        merge = queue.undo_recorded_merge(merge, actor=request.user)
    except LeadflowError as error:
        messages.error(request, str(error))
        return _next_page(request)
    note = f" Kept since the merge: {'; '.join(merge.undo_notes)}." if merge.undo_notes else ""
    messages.success(request, f"Merge undone: both contacts are back.{note}")
    return _next_page(request)


@require_POST
@reviewers_only
def duplicates_run(request: HttpRequest) -> HttpResponse:
    _, started = tasks.start_background_run(actor=request.user)
    if started:
        messages.success(
            request,
            "Looking for duplicates in the background: sure pairs are merged and the others "
            "appear here when the run ends. Reload this page in a minute.",
        )
    else:
        messages.info(request, "A dedupe run is already under way; its pairs will appear here.")
    return _next_page(request)


urlpatterns = [
    path("duplicates/", duplicate_list, name="duplicates"),
    path("duplicates/run/", duplicates_run, name="duplicates_run"),
    path("duplicates/<int:candidate_id>/", duplicate_detail, name="duplicate_detail"),
    path("duplicates/<int:candidate_id>/merge/", duplicate_merge, name="duplicate_merge"),
    path("duplicates/<int:candidate_id>/dismiss/", duplicate_dismiss, name="duplicate_dismiss"),
    path("duplicates/merges/<int:merge_id>/undo/", merge_undo, name="merge_undo"),
]
