"""Pages of the contacts hub: the list, the contact page, companies and the global search.

Each view parses its input, loads what this user may see through the selectors, calls a
service for any write and renders. Deals appear on the contact and company pages through the
reverse relation (`contact.deals`) only: contacts is the core and imports no funnel app.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.accounts.models import User
from leadflow.accounts.selectors import list_active_reps
from leadflow.contacts import csv_export, selectors, services
from leadflow.contacts.forms import (
    CompanyForm,
    ContactForm,
    ContactListParams,
    NoteForm,
    OwnerForm,
    StageForm,
)
from leadflow.contacts.models import (
    ActivityKind,
    Channel,
    Company,
    Contact,
    LifecycleStage,
)
from leadflow.errors import LeadflowError

PAGE_SIZE = 50

# Saved views: tabs over the list, each a preset of the filter parameters.
SAVED_VIEWS = (
    ("all", "All contacts", {}),
    ("mine", "My leads", {"owner": "me"}),
    ("mql", "MQLs", {"stage": LifecycleStage.MQL}),
    ("unassigned", "Unassigned", {"owner": "unassigned"}),
)
FILTER_PARAMS = ("q", "stage", "owner", "channel", "company", "score_min", "score_max")

# The timeline's type filter: what a person thinks of as one kind of touch.
TIMELINE_GROUPS = {
    "notes": ("Notes", [ActivityKind.NOTE]),
    "calls": ("Calls & meetings", [ActivityKind.CALL, ActivityKind.MEETING]),
    "emails": (
        "Emails",
        [ActivityKind.EMAIL_SENT, ActivityKind.EMAIL_OPENED, ActivityKind.EMAIL_CLICKED],
    ),
    "web": ("Web & forms", [ActivityKind.PAGE_VIEW, ActivityKind.FORM_SUBMITTED]),
    "deals": ("Deals", [ActivityKind.DEAL_CREATED, ActivityKind.DEAL_WON, ActivityKind.DEAL_LOST]),
    "changes": (
        "Changes",
        [
            ActivityKind.STAGE_CHANGED,
            ActivityKind.SCORE_CHANGED,
            ActivityKind.OWNER_ASSIGNED,
            ActivityKind.CREATED,
            ActivityKind.UPDATED,
            ActivityKind.IMPORTED,
            ActivityKind.MERGED,
        ],
    ),
}
TIMELINE_LIMIT = 50


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _visible_contact(request: HttpRequest, contact_id: int) -> Contact:
    # A contact the user may not see answers 404, not 403: its existence is not revealed.
    return get_object_or_404(selectors.list_visible_contacts(user=request.user), pk=contact_id)


# ---------------------------------------------------------------- contacts list


@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    params = ContactListParams(request.GET)
    params.is_valid()  # invalid fields are dropped from cleaned_data and reported below
    notices = params.error_messages_for_people()
    data = params.cleaned_data
    contact_filter = params.contact_filter(user=request.user)
    sort = data.get("sort") or selectors.DEFAULT_SORT

    visible = selectors.list_visible_contacts(user=request.user)
    contacts = contact_filter.apply(visible).select_related(
        "company", "owner", "first_touch_channel"
    )
    try:
        page = selectors.paginate_contacts(
            contacts,
            sort=sort,
            cursor=data.get("cursor", ""),
            limit=PAGE_SIZE,
            backwards=data.get("dir") == "prev",
        )
    except (selectors.InvalidCursor, TypeError, ValueError):
        # A hand-edited cursor can also hold a value of the wrong type for the sort column,
        # which fails while the filter is built; both mean "this link is not ours".
        notices.append("This page link is no longer valid. Showing the first page.")
        page = selectors.paginate_contacts(contacts, sort=sort, limit=PAGE_SIZE)
    # A search counts to a smaller cap: its matches are rechecked row by row.
    cap = selectors.SEARCH_COUNT_CAP if contact_filter.search else selectors.COUNT_CAP
    total, more = selectors.count_contacts_capped(contact_filter.apply(visible), cap=cap)

    current = {name: request.GET.get(name, "") for name in FILTER_PARAMS}
    tabs = [
        {
            "key": key,
            "label": label,
            "params": preset,
            "active": all(
                current.get(name, "") == str(preset.get(name, "")) for name in FILTER_PARAMS
            ),
        }
        for key, label, preset in SAVED_VIEWS
    ]
    owners = [] if request.user.is_rep else list(list_active_reps())
    return render(
        request,
        "contacts/contact_list.html",
        {
            "page": page,
            "total": total,
            "total_capped": more,
            "filter": contact_filter,
            "params": data,
            "raw": current,
            "can_export": csv_export.can_export_contacts(request.user),
            "sort": sort,
            "notices": notices,
            "tabs": tabs,
            "stages": LifecycleStage.choices,
            "owners": owners,
            "owner_name": _owner_label(current["owner"], request.user, owners),
            "channels": list(Channel.objects.order_by("name")[:200]),
            "filtered": contact_filter.active,
            "global_q": data.get("q", ""),
        },
    )


@require_GET
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The contacts the list shows with the same query string (filters, search, saved
    view), as a CSV streamed in id order. The list's sort and page are ignored: the file
    holds every match, and id order is what lets it be read a chunk at a time."""
    if not csv_export.can_export_contacts(request.user):
        raise PermissionDenied("Only admins, marketing and sales managers export contacts.")
    params = ContactListParams(request.GET)
    params.is_valid()  # like the list: a field that does not parse is left out of the filter
    contact_filter = params.contact_filter(user=request.user)
    contacts = contact_filter.apply(selectors.list_visible_contacts(user=request.user))
    response = StreamingHttpResponse(
        csv_export.stream_contacts_csv(contacts), content_type="text/csv; charset=utf-8"
    )
    filename = csv_export.export_filename(timezone.localdate())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Personal data: no shared cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response


def _owner_label(value: str, user: User, owners: list[User]) -> str:
    if value == "me":
        return "Me"
    if value == "unassigned":
        return "Unassigned"
    for owner in owners:
        if str(owner.pk) == value:
            return str(owner)
    return "Any"


# ---------------------------------------------------------------- contact page


def _contact_page_context(request: HttpRequest, contact: Contact, **extra) -> dict:
    kind_key = request.GET.get("kind", "")
    kinds = TIMELINE_GROUPS[kind_key][1] if kind_key in TIMELINE_GROUPS else None
    timeline = list(selectors.list_timeline(contact=contact, kinds=kinds, limit=TIMELINE_LIMIT))
    # Owner changes store user ids; one query names them all.
    owner_ids = {
        value
        for activity in timeline
        if activity.kind == ActivityKind.OWNER_ASSIGNED
        for value in (activity.data.get("from"), activity.data.get("to"))
        if isinstance(value, int)
    }
    owner_names = (
        {user.pk: str(user) for user in User.objects.filter(pk__in=owner_ids)} if owner_ids else {}
    )
    return {
        "contact": contact,
        "timeline": timeline,
        "timeline_groups": [(key, label) for key, (label, _) in TIMELINE_GROUPS.items()],
        "timeline_kind": kind_key if kinds else "",
        "owner_names": owner_names,
        "stage_choices": LifecycleStage.choices,
        "note_form": extra.pop("note_form", None) or NoteForm(),
        **extra,
    }


@require_GET
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(
        selectors.list_visible_contacts(user=request.user)
        .select_related(
            "company",
            "owner",
            "first_touch_channel",
            "first_touch_campaign",
            "last_touch_channel",
            "last_touch_campaign",
            "source_vendor",
        )
        .prefetch_related(Prefetch("deals", to_attr="deal_list")),
        pk=contact_id,
    )
    assign = request.user.can_assign_leads
    context = _contact_page_context(
        request,
        contact,
        stage_form=StageForm(initial={"to_stage": contact.lifecycle_stage}),
        owner_form=OwnerForm(initial={"owner": contact.owner_id}) if assign else None,
        history=list(selectors.list_stage_history(contact=contact)[:20]),
        can_delete=request.user.can_delete_records,
    )
    return render(request, "contacts/contact_detail.html", context)


@require_GET
def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The centre column alone, for htmx filters; a plain request gets the whole page."""
    contact = _visible_contact(request, contact_id)
    if not _is_htmx(request):
        url = reverse("contacts:detail", args=[contact.pk])
        kind = request.GET.get("kind", "")
        return redirect(f"{url}?kind={kind}" if kind in TIMELINE_GROUPS else url)
    return render(request, "contacts/_timeline.html", _contact_page_context(request, contact))


@require_POST
def contact_note(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _visible_contact(request, contact_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(contact=contact, actor=request.user, text=form.cleaned_data["text"])
        except LeadflowError as exc:
            form.add_error("text", str(exc))
        else:
            form = NoteForm()
            if not _is_htmx(request):
                messages.success(request, "Note added.")
                return redirect(reverse("contacts:detail", args=[contact.pk]) + "#timeline")
    if _is_htmx(request):
        return render(
            request,
            "contacts/_timeline.html",
            _contact_page_context(request, contact, note_form=form),
        )
    for error in form.errors.get("text", []):
        messages.error(request, error)
    return redirect(reverse("contacts:detail", args=[contact.pk]) + "#timeline")


@require_POST
def contact_stage(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _visible_contact(request, contact_id)
    form = StageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the lifecycle stages.")
    else:
        try:
            services.change_stage(
                contact=contact,
                to_stage=form.cleaned_data["to_stage"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except LeadflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Stage set to {contact.get_lifecycle_stage_display()}.")
    return redirect("contacts:detail", contact_id=contact.pk)


@require_POST
def contact_owner(request: HttpRequest, contact_id: int) -> HttpResponse:
    if not request.user.can_assign_leads:
        raise PermissionDenied("Only managers and admins assign owners.")
    contact = _visible_contact(request, contact_id)
    form = OwnerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick an owner from the list.")
    else:
        owner = form.cleaned_data["owner"]
        try:
            services.assign_owner(contact=contact, owner=owner, actor=request.user)
        except LeadflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Owner set to {owner}." if owner else "Owner removed.")
    return redirect("contacts:detail", contact_id=contact.pk)


@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    if company_id := request.GET.get("company", ""):
        initial["company"] = company_id if company_id.isdigit() else None
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        contact = form.save(actor=request.user)
        if contact is not None:
            messages.success(request, f"{contact} was created.")
            return redirect("contacts:detail", contact_id=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _visible_contact(request, contact_id)
    form = ContactForm(request.POST or None, contact=contact, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save(actor=request.user)
        if saved is not None:
            messages.success(request, "Changes saved.")
            return redirect("contacts:detail", contact_id=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _visible_contact(request, contact_id)
    if not request.user.can_delete_records:
        raise PermissionDenied("Sales reps cannot delete contacts.")
    if request.method == "POST":
        name = str(contact)
        services.delete_contact(contact=contact, actor=request.user)
        messages.success(request, f"{name} was deleted.")
        return redirect("contacts:list")
    counts = {
        "activities": contact.activities.count(),
        "deals": contact.deals.count(),
    }
    return render(
        request, "contacts/contact_confirm_delete.html", {"contact": contact, "counts": counts}
    )


# ---------------------------------------------------------------- companies


@require_GET
def company_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:200].replace("\x00", "")
    paginator = Paginator(selectors.list_companies(search=search), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    companies = list(page.object_list)
    counts = _count_visible_contacts_by_company(request.user, companies)
    for company in companies:
        company.contact_count = counts.get(company.pk, 0)
    return render(
        request,
        "contacts/company_list.html",
        {
            "page": page,
            "companies": companies,
            "q": search,
            "global_q": search,
        },
    )


def _count_visible_contacts_by_company(user: User, companies: list[Company]) -> dict[int, int]:
    # Counted for the page's companies only: one grouped query, whatever the table's size.
    if not companies:
        return {}
    rows = (
        selectors.list_visible_contacts(user=user)
        .filter(company__in=companies)
        .order_by()
        .values("company")
        .annotate(n=Count("id"))
    )
    return {row["company"]: row["n"] for row in rows}


@require_GET
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=company_id)
    visible = selectors.list_visible_contacts(user=request.user)
    contacts: QuerySet[Contact] = (
        visible.filter(company=company).select_related("owner").order_by("-created_at", "-id")
    )
    # Deals through the reverse relation, limited to contacts this user may see.
    deals = company.deals.filter(contact__in=visible).select_related("contact", "owner")
    return render(
        request,
        "contacts/company_detail.html",
        {
            "company": company,
            "contacts": list(contacts[:100]),
            "contact_total": contacts.count(),
            "deals": list(deals.order_by("-created_at", "-id")[:100]),
        },
    )


@require_http_methods(["GET", "POST"])
def company_create(request: HttpRequest) -> HttpResponse:
    form = CompanyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        company = form.save(actor=request.user)
        if company is not None:
            messages.success(request, f"{company} was created.")
            return redirect("contacts:company", company_id=company.pk)
    return render(request, "contacts/company_form.html", {"form": form, "company": None})


@require_http_methods(["GET", "POST"])
def company_edit(request: HttpRequest, company_id: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=company_id)
    form = CompanyForm(request.POST or None, company=company)
    if request.method == "POST" and form.is_valid():
        saved = form.save(actor=request.user)
        if saved is not None:
            messages.success(request, "Changes saved.")
            return redirect("contacts:company", company_id=company.pk)
    return render(request, "contacts/company_form.html", {"form": form, "company": company})


# ---------------------------------------------------------------- global search


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The top bar's as-you-type answer; without htmx, the contacts list does the search."""
    text = request.GET.get("q", "")[:200].replace("\x00", "").strip()
    if not _is_htmx(request):
        url = reverse("contacts:list")
        return redirect(f"{url}?{urlencode({'q': text})}" if text else url)
    if len(text) < 2:
        return HttpResponse("")
    visible = selectors.list_visible_contacts(user=request.user)
    contacts = list(selectors.search_contacts(visible, text).select_related("company")[:6])
    companies = list(selectors.list_companies(search=text)[:4])
    return render(
        request,
        "contacts/_search_results.html",
        {
            "q": text,
            "contacts": contacts,
            "companies": companies,
        },
    )
