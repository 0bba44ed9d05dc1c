"""Capture's screens: forms and their builder, landing pages, lead magnets, events,
integrations (inbound sources and webhooks) and channel rules.

Same shape as capture/api.py and with its rules: marketing, sales managers and admins build
forms and pages; reps get a 403; integrations hold secrets, so only admins see them. Each view
parses, loads, calls a service (or, where the API also has none, saves the row) and renders.
"""

import io
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.accounts.models import Role, User
from leadflow.capture import inbound, selectors, services, webhooks, webinars
from leadflow.capture.forms import (
    STARTER_BLOCKS,
    STARTER_FIELDS,
    AttendanceForm,
    BlockFormSet,
    ChannelRuleForm,
    EventForm,
    FieldFormSet,
    FormSettingsForm,
    InboundSourceForm,
    LeadMagnetForm,
    PageSettingsForm,
    WebhookEndpointForm,
    block_initial,
    field_initial,
)
from leadflow.capture.models import (
    ChannelRule,
    Event,
    FieldKind,
    Form,
    InboundSource,
    LandingPage,
    LeadMagnet,
    Registration,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.capture.public import render_form_html
from leadflow.errors import LeadflowError

BUILDERS = {Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER}
LATEST_SUBMISSIONS = 20
LATEST_ROWS = 50
REGISTRATIONS_SHOWN = 500
# Secrets made by a POST, kept in the session until the next page shows them, then gone.
ONCE_SLOT = "capture.secret_once"


def can_build(user: User) -> bool:
    return user.is_superuser or user.role in BUILDERS


def builders_only(view: Callable) -> Callable:
    """Marketing, sales managers and admins; a rep gets 403 (api.require_builder)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_build(request.user):
            raise PermissionDenied("Only marketing, sales managers and admins build capture.")
        return view(request, *args, **kwargs)

    return wrapper


def admins_only(view: Callable) -> Callable:
    """Integrations hold secrets: admins only (api.require_admin)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_workspace_admin:
            raise PermissionDenied("Only admins manage integrations and their secrets.")
        return view(request, *args, **kwargs)

    return wrapper


def _public(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def _section(request: HttpRequest, active: str, **context) -> dict:
    """What every capture screen shares: the sub-navigation and who may see Integrations."""
    return {
        "section": active,
        "show_integrations": request.user.is_workspace_admin,
        **context,
    }


def _keep_secret_once(request: HttpRequest, kind: str, pk: int, secret: str) -> None:
    request.session[ONCE_SLOT] = {"kind": kind, "pk": pk, "secret": secret}


def _take_secret(request: HttpRequest, kind: str, pk: int) -> str:
    held = request.session.get(ONCE_SLOT)
    if not held or held.get("kind") != kind or held.get("pk") != pk:
        return ""
    del request.session[ONCE_SLOT]
    return held.get("secret", "")


def _attach_error(form, formset, error: LeadflowError) -> None:
    """A service's refusal beside what it is about: "fields: ..." goes to the field list,
    SlugTaken to the address, anything else on top of the form."""
    message = str(error)
    head, sep, rest = message.partition(": ")
    if isinstance(error, services.SlugTaken) and "slug" in form.fields:
        form.add_error("slug", message)
    elif sep and head == "fields" and formset is not None:
        formset._non_form_errors.append(rest[:1].upper() + rest[1:])
    elif sep and head in form.fields:
        form.add_error(head, rest)
    else:
        form.add_error(None, message)


# ---------------------------------------------------------------- forms


@require_GET
@builders_only
def index(request: HttpRequest) -> HttpResponse:
    forms = list(selectors.list_forms_with_stats())
    return render(request, "capture/manage/form_list.html", _section(request, "forms", forms=forms))


def _builder(request: HttpRequest, instance: Form | None) -> HttpResponse:
    if request.method == "POST":
        form = FormSettingsForm(request.POST, instance=instance)
        formset = FieldFormSet(request.POST, prefix="fields")
        if form.is_valid() and formset.is_valid():
            try:
                if instance is None:
                    saved = services.create_form(
                        fields=formset.specs(), slug=form.cleaned_data["slug"], **form.values()
                    )
                    messages.success(request, f"“{saved.name}” was created.")
                else:
                    saved = services.update_form(
                        form=instance, fields=formset.specs(), **form.values()
                    )
                    messages.success(request, "Changes saved.")
            except LeadflowError as exc:
                _attach_error(form, formset, exc)
            else:
                return redirect("capture:form_detail", saved.pk)
    else:
        form = FormSettingsForm(instance=instance)
        initial = field_initial(instance) if instance is not None else STARTER_FIELDS
        formset = FieldFormSet(initial=initial, prefix="fields")
    return render(
        request,
        "capture/manage/form_builder.html",
        _section(
            request,
            "forms",
            form=form,
            formset=formset,
            instance=instance,
            kinds=FieldKind.choices,
            maps_to_options=_maps_to_options(),
        ),
    )


def _maps_to_options() -> list[tuple[str, str]]:
    return [
        ("email", "Email"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("phone", "Phone"),
        ("job_title", "Job title"),
        ("country", "Country"),
        ("attr.", "Custom attribute (attr.NAME)"),
    ]


@require_http_methods(["GET", "POST"])
@builders_only
def form_create(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@require_http_methods(["GET", "POST"])
@builders_only
def form_edit(request: HttpRequest, form_id: int) -> HttpResponse:
    return _builder(request, get_object_or_404(Form, pk=form_id))


@require_GET
@builders_only
def form_detail(request: HttpRequest, form_id: int) -> HttpResponse:
    form = get_object_or_404(
        Form.objects.select_related("lead_magnet", "event", "campaign").prefetch_related(
            "fields", "landing_pages"
        ),
        pk=form_id,
    )
    hosted = _public(reverse("capture:form", args=[form.slug]))
    embed = _public(reverse("capture:form_embed", args=[form.slug]))
    submissions = list(selectors.list_form_submissions(form=form)[:LATEST_SUBMISSIONS])
    labels = {field.name: field.label for field in form.fields.all()}
    return render(
        request,
        "capture/manage/form_detail.html",
        _section(
            request,
            "forms",
            form=form,
            hosted_url=hosted,
            embed_script=f'<script src="{embed}" async></script>',
            iframe_html=(
                f'<iframe src="{hosted}" title="{escape(form.name)}" width="100%" height="520" '
                'style="border:0" loading="lazy"></iframe>'
            ),
            submissions=submissions,
            submission_count=form.submissions.count(),
            labels=labels,
        ),
    )


@require_POST
@builders_only
def form_delete(request: HttpRequest, form_id: int) -> HttpResponse:
    form = get_object_or_404(Form, pk=form_id)
    name = form.name
    form.delete()  # as the API's DELETE /forms/{id}: its submissions go with it
    messages.success(request, f"“{name}” was deleted.")
    return redirect("capture:index")


# ---------------------------------------------------------------- landing pages


@require_GET
@builders_only
def page_list(request: HttpRequest) -> HttpResponse:
    pages = list(selectors.list_pages_with_form())
    return render(request, "capture/manage/page_list.html", _section(request, "pages", pages=pages))


def _page_editor(request: HttpRequest, instance: LandingPage | None) -> HttpResponse:
    if request.method == "POST":
        form = PageSettingsForm(request.POST, instance=instance)
        formset = BlockFormSet(request.POST, prefix="blocks")
        if form.is_valid() and formset.is_valid():
            values = {**form.values(), "blocks": formset.blocks()}
            if any(b["type"] == "form" for b in values["blocks"]) and values["form"] is None:
                form.add_error("form", "The page has a Form block: choose the form to show.")
            else:
                try:
                    if instance is None:
                        saved = services.create_landing_page(
                            slug=form.cleaned_data["slug"], **values
                        )
                        messages.success(request, f"“{saved.title}” was created.")
                    else:
                        saved = services.update_landing_page(page=instance, **values)
                        messages.success(request, "Changes saved.")
                except LeadflowError as exc:
                    _attach_error(form, None, exc)
                else:
                    return redirect("capture:page_edit", saved.pk)
    else:
        form = PageSettingsForm(instance=instance)
        initial = block_initial(instance) if instance is not None else STARTER_BLOCKS
        formset = BlockFormSet(initial=initial, prefix="blocks")
    public_url = ""
    if instance is not None:
        public_url = _public(reverse("capture:landing_page", args=[instance.slug]))
    return render(
        request,
        "capture/manage/page_editor.html",
        _section(
            request, "pages", form=form, formset=formset, instance=instance, public_url=public_url
        ),
    )


@require_http_methods(["GET", "POST"])
@builders_only
def page_create(request: HttpRequest) -> HttpResponse:
    return _page_editor(request, None)


@require_http_methods(["GET", "POST"])
@builders_only
def page_edit(request: HttpRequest, page_id: int) -> HttpResponse:
    return _page_editor(request, get_object_or_404(LandingPage, pk=page_id))


@require_GET
@builders_only
def page_preview(request: HttpRequest, page_id: int) -> HttpResponse:
    """A draft as visitors will see it (published pages are previewed at /p/<slug>)."""
    page = get_object_or_404(
        LandingPage.objects.select_related("form").prefetch_related("form__fields"), pk=page_id
    )
    form_html = render_form_html(request, page.form) if page.form is not None else ""
    return render(
        request,
        "capture/landing_page.html",
        {"page": page, "blocks": page.blocks or [], "form_html": form_html},
    )


@require_POST
@builders_only
def page_delete(request: HttpRequest, page_id: int) -> HttpResponse:
    page = get_object_or_404(LandingPage, pk=page_id)
    title = page.title
    page.delete()
    messages.success(request, f"“{title}” was deleted.")
    return redirect("capture:pages")


# ---------------------------------------------------------------- lead magnets


@require_GET
@builders_only
def magnet_list(request: HttpRequest) -> HttpResponse:
    magnets = list(
        LeadMagnet.objects.prefetch_related(
            Prefetch(
                "forms", queryset=Form.objects.order_by("name").only("id", "name", "lead_magnet")
            )
        ).order_by("name")
    )
    downloads = selectors.count_downloads_by_magnet()
    for magnet in magnets:
        magnet.download_count = downloads.get(magnet.pk, 0)
    return render(
        request, "capture/manage/magnet_list.html", _section(request, "magnets", magnets=magnets)
    )


def _magnet_editor(request: HttpRequest, instance: LeadMagnet | None) -> HttpResponse:
    form = LeadMagnetForm(request.POST or None, request.FILES or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        magnet = form.save()
        messages.success(request, f"“{magnet.name}” was saved.")
        return redirect("capture:magnet_edit", magnet.pk)
    used_by, downloads = [], 0
    if instance is not None:
        used_by = list(instance.forms.order_by("name"))
        downloads = selectors.count_downloads_by_magnet().get(instance.pk, 0)
    return render(
        request,
        "capture/manage/magnet_form.html",
        _section(
            request, "magnets", form=form, instance=instance, used_by=used_by, downloads=downloads
        ),
    )


@require_http_methods(["GET", "POST"])
@builders_only
def magnet_create(request: HttpRequest) -> HttpResponse:
    return _magnet_editor(request, None)


@require_http_methods(["GET", "POST"])
@builders_only
def magnet_edit(request: HttpRequest, magnet_id: int) -> HttpResponse:
    return _magnet_editor(request, get_object_or_404(LeadMagnet, pk=magnet_id))


# ---------------------------------------------------------------- events


@require_GET
@builders_only
def event_list(request: HttpRequest) -> HttpResponse:
    events = list(selectors.list_events_with_counts())
    for event in events:
        # webinars.seats_left, from the annotated count instead of a query per row.
        event.seats = (
            None if event.capacity is None else max(event.capacity - event.registration_count, 0)
        )
    return render(
        request, "capture/manage/event_list.html", _section(request, "events", events=events)
    )


def _event_editor(request: HttpRequest, instance: Event | None) -> HttpResponse:
    form = EventForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        event = form.save()
        messages.success(request, f"“{event.name}” was saved.")
        return redirect("capture:event_detail", event.pk)
    return render(
        request,
        "capture/manage/event_form.html",
        _section(
            request,
            "events",
            form=form,
            instance=instance,
            time_zone=timezone.get_current_timezone_name(),
        ),
    )


@require_http_methods(["GET", "POST"])
@builders_only
def event_create(request: HttpRequest) -> HttpResponse:
    return _event_editor(request, None)


@require_http_methods(["GET", "POST"])
@builders_only
def event_edit(request: HttpRequest, event_id: int) -> HttpResponse:
    return _event_editor(request, get_object_or_404(Event, pk=event_id))


def _event_page(request: HttpRequest, event: Event, **extra) -> HttpResponse:
    registrations = list(
        Registration.objects.filter(event=event)
        .select_related("contact")
        .order_by("-registered_at", "-id")[:REGISTRATIONS_SHOWN]
    )
    counts = selectors.list_events_with_counts().filter(pk=event.pk).first()
    seats = None
    if event.capacity is not None:
        seats = max(event.capacity - counts.registration_count, 0)
    return render(
        request,
        "capture/manage/event_detail.html",
        _section(
            request,
            "events",
            event=event,
            registrations=registrations,
            registration_count=counts.registration_count,
            attended_count=counts.attended_count,
            seats=seats,
            forms=list(event.forms.order_by("name")),
            shown_limit=REGISTRATIONS_SHOWN,
            attendance_form=extra.pop("attendance_form", None) or AttendanceForm(),
            **extra,
        ),
    )


@require_GET
@builders_only
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    return _event_page(request, get_object_or_404(Event, pk=event_id))


@require_POST
@builders_only
def event_attendance(request: HttpRequest, event_id: int) -> HttpResponse:
    """Import who attended; the report is the answer (a reload only re-marks nobody)."""
    event = get_object_or_404(Event, pk=event_id)
    form = AttendanceForm(request.POST, request.FILES)
    if not form.is_valid():
        return _event_page(request, event, attendance_form=form)
    upload = form.cleaned_data["file"]
    lines = io.TextIOWrapper(upload.file, encoding="utf-8-sig", errors="replace", newline="")
    report = webinars.import_attendance(event=event, lines=lines, actor=request.user)
    return _event_page(request, event, report=report, report_file=upload.name)


# ---------------------------------------------------------------- integrations


@require_GET
@admins_only
def integrations(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "capture/manage/integrations.html",
        _section(
            request,
            "integrations",
            sources=list(selectors.list_sources_with_stats()),
            endpoints=list(selectors.list_endpoints_with_stats()),
            inbound_base=_public("/in/"),
        ),
    )


@require_http_methods(["GET", "POST"])
@admins_only
def source_create(request: HttpRequest) -> HttpResponse:
    form = InboundSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source, secret = inbound.create_source(**form.cleaned_data)
        _keep_secret_once(request, "source", source.pk, secret)
        messages.success(request, f"“{source.name}” is ready to receive leads.")
        return redirect("capture:source_detail", source.pk)
    return render(
        request,
        "capture/manage/source_form.html",
        _section(request, "integrations", form=form),
    )


@require_GET
@admins_only
def source_detail(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(
        InboundSource.objects.select_related("channel", "campaign"), pk=source_id
    )
    leads = list(
        source.leads.select_related("contact").order_by("-received_at", "-id")[:LATEST_ROWS]
    )
    return render(
        request,
        "capture/manage/source_detail.html",
        _section(
            request,
            "integrations",
            source=source,
            secret=_take_secret(request, "source", source.pk),
            endpoint_url=_public(reverse("capture:inbound", args=[source.slug])),
            leads=leads,
            lead_count=source.leads.count(),
        ),
    )


@require_http_methods(["GET", "POST"])
@admins_only
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.secret = webhooks.new_secret()
        endpoint.save()
        _keep_secret_once(request, "webhook", endpoint.pk, endpoint.secret)
        messages.success(request, f"“{endpoint.name}” will receive the events you picked.")
        return redirect("capture:webhook_detail", endpoint.pk)
    return render(
        request,
        "capture/manage/webhook_form.html",
        _section(request, "integrations", form=form),
    )


@require_GET
@admins_only
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    deliveries = list(endpoint.deliveries.order_by("-created_at", "-id")[:LATEST_ROWS])
    return render(
        request,
        "capture/manage/webhook_detail.html",
        _section(
            request,
            "integrations",
            endpoint=endpoint,
            secret=_take_secret(request, "webhook", endpoint.pk),
            deliveries=deliveries,
            delivery_count=endpoint.deliveries.count(),
        ),
    )


@require_POST
@admins_only
def delivery_replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    webhooks.replay(delivery)
    messages.success(request, f"Delivery #{delivery.pk} will be sent again in a moment.")
    return redirect("capture:webhook_detail", delivery.endpoint_id)


# ---------------------------------------------------------------- channel rules


@require_http_methods(["GET", "POST"])
@builders_only
def channel_rules(request: HttpRequest) -> HttpResponse:
    form = ChannelRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rule = form.save(commit=False)
        rule.created_by = request.user
        rule.save()
        messages.success(request, f"Rule added: {rule}.")
        return redirect("capture:channel_rules")
    rules = list(ChannelRule.objects.select_related("channel").order_by("priority", "id"))
    return render(
        request,
        "capture/manage/channel_rules.html",
        _section(request, "rules", rules=rules, form=form),
    )


@require_POST
@builders_only
def channel_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ChannelRule.objects.select_related("channel"), pk=rule_id)
    text = str(rule)
    rule.delete()
    messages.success(request, f"Rule removed: {text}.")
    return redirect("capture:channel_rules")
