"""/api/v1/forms, /landing-pages, /submissions, /tracking/events, /webhooks, /inbound-sources.

Building forms and pages is marketing's job: sales reps may read them, not change them.
Webhook endpoints and inbound sources hold secrets, so only admins manage them.
"""

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Query, Router, Status

from leadflow.accounts.models import Role, User
from leadflow.capture import inbound, selectors, services, tracking, webhooks
from leadflow.capture.models import (
    Event,
    Form,
    InboundSource,
    LandingPage,
    LeadMagnet,
    TrackingEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.capture.schemas import (
    DeliveryOut,
    FormIn,
    FormOut,
    FormPatch,
    InboundSourceCreatedOut,
    InboundSourceIn,
    InboundSourceOut,
    LandingPageIn,
    LandingPageOut,
    LandingPagePatch,
    PageQuery,
    SubmissionPageOut,
    TrackingEventIn,
    TrackingPageOut,
    TrackingQuery,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from leadflow.contacts.models import Campaign, Channel
from leadflow.contacts.schemas import ValidationErrorOut, field_error
from leadflow.contacts.selectors import list_visible_contacts
from leadflow.errors import ErrorOut, NotAllowed

router = Router(tags=["capture"])

READ = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
WRITE = {**READ, 409: ErrorOut}
BUILDERS = {Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER}


def require_builder(user: User) -> None:
    if not (user.is_superuser or user.role in BUILDERS):
        raise NotAllowed("Only marketing, sales managers and admins change forms and pages.")


def require_admin(user: User) -> None:
    if not user.is_workspace_admin:
        raise NotAllowed("Only admins manage integrations and their secrets.")


def _public(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def _form_out(form: Form) -> dict:
    out = {f: getattr(form, f) for f in FormOut.model_fields if hasattr(form, f)}
    out["fields"] = list(form.fields.all())
    out["public_url"] = _public(reverse("capture:form", args=[form.slug]))
    embed = _public(reverse("capture:form_embed", args=[form.slug]))
    out["embed_script"] = f'<script src="{embed}" async></script>'
    return out


def _page_out(page: LandingPage) -> dict:
    out = {f: getattr(page, f) for f in LandingPageOut.model_fields if hasattr(page, f)}
    out["public_url"] = _public(reverse("capture:landing_page", args=[page.slug]))
    return out


def _references(payload: dict) -> dict:
    """Ids in the payload, checked to exist (a 422 naming the field, not a 500)."""
    models = {
        "lead_magnet_id": LeadMagnet,
        "event_id": Event,
        "campaign_id": Campaign,
        "form_id": Form,
        "channel_id": Channel,
    }
    for name, model in models.items():
        value = payload.get(name)
        if value is not None and not model.objects.filter(pk=value).exists():
            raise field_error("body", "payload", name, msg=f"No {model.__name__} with id {value}.")
    return payload


# Forms ----------------------------------------------------------------------------------


@router.get("/forms", response={200: list[FormOut], **READ})
def list_forms(request: HttpRequest):
    return [_form_out(f) for f in Form.objects.prefetch_related("fields").order_by("name")]


@router.post("/forms", response={201: FormOut, **WRITE})
def create_form(request: HttpRequest, payload: FormIn):
    require_builder(request.auth)
    data = _references(payload.model_dump())
    fields = data.pop("fields")
    form = services.create_form(fields=fields, **data)
    return Status(201, _form_out(form))


@router.get("/forms/{int:form_id}", response={200: FormOut, **READ})
def get_form(request: HttpRequest, form_id: int):
    return _form_out(get_object_or_404(Form.objects.prefetch_related("fields"), pk=form_id))


@router.patch("/forms/{int:form_id}", response={200: FormOut, **WRITE})
def patch_form(request: HttpRequest, form_id: int, payload: FormPatch):
    require_builder(request.auth)
    form = get_object_or_404(Form, pk=form_id)
    changes = payload.model_dump(exclude_unset=True)
    fields = changes.pop("fields", None)
    form = services.update_form(form=form, fields=fields, **changes)
    return _form_out(form)


@router.delete("/forms/{int:form_id}", response={204: None, **WRITE})
def delete_form(request: HttpRequest, form_id: int):
    require_builder(request.auth)
    get_object_or_404(Form, pk=form_id).delete()
    return Status(204, None)


@router.get("/forms/{int:form_id}/submissions", response={200: SubmissionPageOut, **READ})
def list_submissions(request: HttpRequest, form_id: int, query: Query[PageQuery]):
    form = get_object_or_404(Form, pk=form_id)
    submissions = selectors.list_form_submissions(form=form)
    if request.auth.is_rep:
        # What a person typed is contact data: reps see the submissions of their contacts.
        submissions = submissions.filter(contact__in=list_visible_contacts(user=request.auth))
    return _keyset(submissions, query)


def _keyset(rows: QuerySet, query: PageQuery) -> dict:
    if query.before_id is not None:
        rows = rows.filter(id__lt=query.before_id)
    items = list(rows.order_by("-id")[: query.limit + 1])
    more = len(items) > query.limit
    items = items[: query.limit]
    return {"items": items, "next_before_id": items[-1].pk if more else None}


# Landing pages --------------------------------------------------------------------------


@router.get("/landing-pages", response={200: list[LandingPageOut], **READ})
def list_pages(request: HttpRequest):
    return [_page_out(p) for p in LandingPage.objects.order_by("title")]


@router.post("/landing-pages", response={201: LandingPageOut, **WRITE})
def create_page(request: HttpRequest, payload: LandingPageIn):
    require_builder(request.auth)
    page = services.create_landing_page(**_references(payload.model_dump()))
    return Status(201, _page_out(page))


@router.get("/landing-pages/{int:page_id}", response={200: LandingPageOut, **READ})
def get_page(request: HttpRequest, page_id: int):
    return _page_out(get_object_or_404(LandingPage, pk=page_id))


@router.patch("/landing-pages/{int:page_id}", response={200: LandingPageOut, **WRITE})
def patch_page(request: HttpRequest, page_id: int, payload: LandingPagePatch):
    require_builder(request.auth)
    page = get_object_or_404(LandingPage, pk=page_id)
    changes = _references(payload.model_dump(exclude_unset=True))
    return _page_out(services.update_landing_page(page=page, **changes))


@router.delete("/landing-pages/{int:page_id}", response={204: None, **WRITE})
def delete_page(request: HttpRequest, page_id: int):
    require_builder(request.auth)
    get_object_or_404(LandingPage, pk=page_id).delete()
    return Status(204, None)


# Tracking -------------------------------------------------------------------------------


@router.get("/tracking/events", response={200: TrackingPageOut, **READ})
def list_tracking_events(request: HttpRequest, query: Query[TrackingQuery]):
    events = TrackingEvent.objects.all()
    if query.visitor_id:
        events = events.filter(visitor_id=query.visitor_id)
    if query.contact_id is not None:
        events = events.filter(contact_id=query.contact_id)
    if query.kind:
        events = events.filter(kind=query.kind)
    if request.auth.is_rep:
        events = events.filter(contact__in=list_visible_contacts(user=request.auth))
    return _keyset(events, query)


@router.post("/tracking/events", response={202: dict, **WRITE})
def send_tracking_event(request: HttpRequest, payload: TrackingEventIn):
    try:
        fields = tracking.read_event(payload.model_dump())
    except tracking.BadEvent as exc:
        raise field_error("body", "payload", msg=str(exc)) from exc
    event_id = tracking.store_event(fields, ip_address=None, user_agent="api")
    return Status(202, {"id": event_id})


# Webhooks out ---------------------------------------------------------------------------


@router.get("/webhooks", response={200: list[WebhookEndpointOut], **READ})
def list_webhooks(request: HttpRequest):
    require_admin(request.auth)
    return list(WebhookEndpoint.objects.all())


@router.post("/webhooks", response={201: WebhookEndpointCreatedOut, **WRITE})
def create_webhook(request: HttpRequest, payload: WebhookEndpointIn):
    require_admin(request.auth)
    endpoint = WebhookEndpoint.objects.create(secret=webhooks.new_secret(), **payload.model_dump())
    return Status(201, endpoint)


@router.delete("/webhooks/{int:endpoint_id}", response={204: None, **WRITE})
def delete_webhook(request: HttpRequest, endpoint_id: int):
    require_admin(request.auth)
    get_object_or_404(WebhookEndpoint, pk=endpoint_id).delete()
    return Status(204, None)


@router.get("/webhooks/{int:endpoint_id}/deliveries", response={200: list[DeliveryOut], **READ})
def list_deliveries(request: HttpRequest, endpoint_id: int, query: Query[PageQuery]):
    require_admin(request.auth)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    return _keyset(endpoint.deliveries.all(), query)["items"]


@router.post("/webhooks/deliveries/{int:delivery_id}/replay", response={202: DeliveryOut, **WRITE})
def replay_delivery(request: HttpRequest, delivery_id: int):
    require_admin(request.auth)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    return Status(202, webhooks.replay(delivery))


# Inbound sources ------------------------------------------------------------------------


def _source_out(source: InboundSource, secret: str | None = None) -> dict:
    out = {f: getattr(source, f) for f in InboundSourceOut.model_fields if hasattr(source, f)}
    out["endpoint_url"] = _public(reverse("capture:inbound", args=[source.slug]))
    if secret:
        out["secret"] = secret
    return out


@router.get("/inbound-sources", response={200: list[InboundSourceOut], **READ})
def list_sources(request: HttpRequest):
    require_admin(request.auth)
    return [_source_out(s) for s in InboundSource.objects.all()]


@router.post("/inbound-sources", response={201: InboundSourceCreatedOut, **WRITE})
def create_source(request: HttpRequest, payload: InboundSourceIn):
    require_admin(request.auth)
    data = _references(payload.model_dump())
    if InboundSource.objects.filter(slug=data["slug"]).exists():
        raise services.SlugTaken(f"A source with the address /in/{data['slug']} already exists.")
    source, secret = inbound.create_source(**data)
    return Status(201, _source_out(source, secret))


@router.delete("/inbound-sources/{int:source_id}", response={204: None, **WRITE})
def delete_source(request: HttpRequest, source_id: int):
    require_admin(request.auth)
    get_object_or_404(InboundSource, pk=source_id).delete()
    return Status(204, None)
