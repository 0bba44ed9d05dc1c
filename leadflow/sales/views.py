"""Deal pages: the list with its totals, and creating, editing and moving a deal."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from leadflow.accounts.selectors import get_workspace
from leadflow.contacts.selectors import list_visible_contacts
from leadflow.sales import selectors
from leadflow.sales.forms import DealForm
from leadflow.sales.models import OPEN_DEAL_STAGES, DealStage

PAGE_SIZE = 50

# The list's tabs: the open pipeline first, as a rep reads it, then each stage.
STAGE_TABS = [
    ("open", "Open"),
    *DealStage.choices,
    ("all", "All"),
]


@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    stage = request.GET.get("stage", "open")
    if stage not in dict(STAGE_TABS):
        stage = "open"
    search = request.GET.get("q", "")[:200].replace("\x00", "").strip()

    deals = selectors.list_visible_deals(user=request.user)
    if stage == "open":
        deals = deals.filter(stage__in=OPEN_DEAL_STAGES)
    elif stage != "all":
        deals = deals.filter(stage=stage)
    for word in search.split()[:5]:
        deals = deals.filter(name__icontains=word)

    # Money is summed per currency: adding dollars to euros would be a made-up figure.
    totals = list(
        deals.order_by()
        .values("currency")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("-total")
    )
    paginator = Paginator(deals.order_by("-created_at", "-id"), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "sales/deal_list.html",
        {
            "page": page,
            "deals": list(page.object_list),
            "totals": totals,
            "count": sum(row["n"] for row in totals),
            "stage": stage,
            "tabs": STAGE_TABS,
            "q": search,
        },
    )


@require_http_methods(["GET", "POST"])
def deal_create(request: HttpRequest) -> HttpResponse:
    contact = None
    contact_id = request.GET.get("contact", "")
    if contact_id:
        contact = get_object_or_404(
            list_visible_contacts(user=request.user).select_related("company"),
            pk=int(contact_id) if contact_id.isdigit() and len(contact_id) < 19 else 0,
        )
    form = DealForm(
        request.POST or None,
        user=request.user,
        contact=contact,
        currency=get_workspace().default_currency,
        initial={"name": f"{contact.company or contact} deal"} if contact else {},
    )
    if request.method == "POST" and form.is_valid():
        deal = form.save(actor=request.user)
        if deal is not None:
            messages.success(request, f"Deal “{deal.name}” created.")
            return redirect("contacts:detail", contact_id=deal.contact_id)
    return render(request, "sales/deal_form.html", {"form": form, "contact": contact, "deal": None})


@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = get_object_or_404(selectors.list_visible_deals(user=request.user), pk=deal_id)
    form = DealForm(request.POST or None, user=request.user, deal=deal)
    if request.method == "POST" and form.is_valid():
        saved = form.save(actor=request.user)
        if saved is not None:
            messages.success(request, "Deal saved.")
            return redirect("contacts:detail", contact_id=deal.contact_id)
    return render(
        request, "sales/deal_form.html", {"form": form, "contact": deal.contact, "deal": deal}
    )
