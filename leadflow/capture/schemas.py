"""What the capture API reads and writes: forms with their fields, landing pages,
submissions, tracking events, webhook endpoints and inbound sources."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from leadflow.capture.models import FieldKind, TrackingKind, WebhookEvent
from leadflow.contacts.models import LifecycleStage
from leadflow.contacts.schemas import Id, InputSchema, JsonObject, Limit, check_text, text

Slug = text(64, min_length=1, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
FieldName = text(64, min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
Url = text(2000, pattern=r"^(https?://\S+)?$")
Stage = Literal[tuple(LifecycleStage.values)]  # type: ignore[valid-type]


def _check_maps_to(value: str) -> str:
    allowed = {"", "email", "first_name", "last_name", "phone", "job_title", "country"}
    if value in allowed or (value.startswith("attr.") and 5 < len(value) <= 69):
        return value
    raise ValueError("must be a contact field (email, first_name, ...) or attr.NAME")


def _check_options(value: list[str]) -> list[str]:
    for option in value:
        check_text(option)
    return value


class FormFieldIn(InputSchema):
    name: FieldName
    label: text(200, min_length=1)
    kind: Literal[tuple(FieldKind.values)] = FieldKind.TEXT  # type: ignore[valid-type]
    required: bool = False
    maps_to: Annotated[text(80), AfterValidator(_check_maps_to)] = ""
    options: Annotated[list[text(200)], Field(max_length=100), AfterValidator(_check_options)] = []
    placeholder: text(200) = ""
    default_value: text(500) = ""
    consent_text: text(2000) = ""
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 500


class FormFieldOut(Schema):
    name: str
    label: str
    kind: str
    required: bool
    maps_to: str
    options: list[str]
    placeholder: str
    default_value: str
    consent_text: str
    max_length: int


class FormIn(InputSchema):
    name: text(200, min_length=1)
    slug: Slug
    submit_label: text(60, min_length=1) = "Submit"
    thank_you_message: text(2000) = "Thank you! We will be in touch."
    redirect_url: Url = ""
    double_opt_in: bool = False
    lifecycle_stage: Stage = LifecycleStage.LEAD
    lead_magnet_id: Id | None = None
    event_id: Id | None = None
    campaign_id: Id | None = None
    min_fill_seconds: Annotated[int, Field(ge=0, le=600)] = 2
    is_published: bool = True
    fields: Annotated[list[FormFieldIn], Field(min_length=1, max_length=50)]


class FormPatch(InputSchema):
    name: text(200, min_length=1) | None = None
    submit_label: text(60, min_length=1) | None = None
    thank_you_message: text(2000) | None = None
    redirect_url: Url | None = None
    double_opt_in: bool | None = None
    lifecycle_stage: Stage | None = None
    min_fill_seconds: Annotated[int, Field(ge=0, le=600)] | None = None
    is_published: bool | None = None
    fields: Annotated[list[FormFieldIn], Field(min_length=1, max_length=50)] | None = None


class FormOut(Schema):
    id: int
    name: str
    slug: str
    submit_label: str
    thank_you_message: str
    redirect_url: str
    double_opt_in: bool
    lifecycle_stage: str
    lead_magnet_id: int | None
    event_id: int | None
    campaign_id: int | None
    min_fill_seconds: int
    is_published: bool
    public_url: str
    embed_script: str
    fields: list[FormFieldOut]
    created_at: datetime
    updated_at: datetime


# Built before Block, whose own field named `text` would hide the helper inside its body.
BlockText = text(5000)
AltText = text(300)


class Block(InputSchema):
    type: Literal["headline", "text", "image", "form", "button"]
    text: BlockText = ""
    url: Url = ""
    alt: AltText = ""


class LandingPageIn(InputSchema):
    slug: Slug
    title: text(200, min_length=1)
    description: text(300) = ""
    blocks: Annotated[list[Block], Field(max_length=50)] = []
    form_id: Id | None = None
    is_published: bool = False


class LandingPagePatch(InputSchema):
    title: text(200, min_length=1) | None = None
    description: text(300) | None = None
    blocks: Annotated[list[Block], Field(max_length=50)] | None = None
    form_id: Id | None = None
    is_published: bool | None = None


class LandingPageOut(Schema):
    id: int
    slug: str
    title: str
    description: str
    blocks: list[dict[str, Any]]
    form_id: int | None
    is_published: bool
    public_url: str
    created_at: datetime
    updated_at: datetime


class SubmissionOut(Schema):
    id: int
    form_id: int
    contact_id: int | None
    status: str
    data: dict[str, Any]
    errors: dict[str, Any]
    context: dict[str, Any]
    received_at: datetime
    processed_at: datetime | None
    confirmed_at: datetime | None


class PageQuery(Schema):
    limit: Limit = 50
    before_id: Id | None = Field(None, description="Rows older than this id (the next page).")


class SubmissionPageOut(Schema):
    items: list[SubmissionOut]
    next_before_id: int | None


class TrackingQuery(PageQuery):
    visitor_id: text(64) | None = None
    contact_id: Id | None = None
    kind: Literal[tuple(TrackingKind.values)] | None = None  # type: ignore[valid-type]


class TrackingEventIn(InputSchema):
    """A server-side event (a backend that knows the visitor id), same rules as /t/collect."""

    vid: text(64, min_length=8, pattern=r"^[A-Za-z0-9_-]+$")
    type: Literal[tuple(TrackingKind.values)] = TrackingKind.PAGE_VIEW  # type: ignore[valid-type]
    name: text(100) = ""
    url: text(2000, min_length=8, pattern=r"^https?://\S+$")
    title: text(300) = ""
    ref: text(2000) = ""
    props: JsonObject = {}


class TrackingEventOut(Schema):
    id: int
    visitor_id: str
    kind: str
    name: str
    url: str
    title: str
    referrer: str
    utm: dict[str, Any]
    properties: dict[str, Any]
    contact_id: int | None
    occurred_at: datetime


class TrackingPageOut(Schema):
    items: list[TrackingEventOut]
    next_before_id: int | None


class WebhookEndpointIn(InputSchema):
    name: text(100, min_length=1)
    url: text(500, min_length=8, pattern=r"^https?://\S+$")
    events: Annotated[
        list[Literal[tuple(WebhookEvent.values)]],  # type: ignore[valid-type]
        Field(min_length=1, max_length=20),
    ]
    is_active: bool = True


class WebhookEndpointOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    is_active: bool
    created_at: datetime


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(description="Shown once: verify signatures with it.")


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


# Our side of an inbound mapping: a contact field or a custom attribute.
MappingKey = text(
    69, pattern=r"^(email|first_name|last_name|phone|job_title|country|attr\.[a-z0-9_]{1,64})$"
)


class InboundSourceIn(InputSchema):
    name: text(100, min_length=1)
    slug: Slug
    field_mapping: Annotated[
        dict[MappingKey, text(200, min_length=1)], Field(min_length=1, max_length=50)
    ]
    id_path: text(200, min_length=1) = "id"
    channel_id: Id | None = None
    campaign_id: Id | None = None
    lifecycle_stage: Stage = LifecycleStage.LEAD


class InboundSourceOut(Schema):
    id: int
    name: str
    slug: str
    field_mapping: dict[str, str]
    id_path: str
    channel_id: int | None
    campaign_id: int | None
    lifecycle_stage: str
    is_active: bool
    endpoint_url: str


class InboundSourceCreatedOut(InboundSourceOut):
    secret: str = Field(description="Shown once: send it as Authorization: Bearer <secret>.")
