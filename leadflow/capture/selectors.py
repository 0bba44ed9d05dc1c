"""Reads for capture: published forms and pages as the public endpoints see them."""

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from leadflow.capture.models import (
    DeliveryStatus,
    Event,
    Form,
    FormField,
    InboundSource,
    LandingPage,
    Submission,
    WebhookEndpoint,
)
from leadflow.contacts.models import Activity, ActivityKind


def get_published_form(*, slug: str) -> Form | None:
    return (
        Form.objects.filter(slug=slug, is_published=True)
        .select_related("lead_magnet", "event")
        .prefetch_related(Prefetch("fields", queryset=FormField.objects.order_by("position", "id")))
        .first()
    )


def get_published_page(*, slug: str) -> LandingPage | None:
    return (
        LandingPage.objects.filter(slug=slug, is_published=True)
        .select_related("form")
        .prefetch_related(
            Prefetch("form__fields", queryset=FormField.objects.order_by("position", "id"))
        )
        .first()
    )


def list_form_submissions(*, form: Form) -> QuerySet[Submission]:
    return form.submissions.select_related("contact").order_by("-received_at", "-id")


# ---------------------------------------------------------------- management screens
# Reads of the capture UI (capture/views.py): one query per list, counts annotated.


def list_forms_with_stats() -> QuerySet[Form]:
    """Every form with its number of submissions and the time of the latest."""
    return Form.objects.annotate(
        submission_count=Count("submissions"), last_submission_at=Max("submissions__received_at")
    ).order_by("name")


def list_pages_with_form() -> QuerySet[LandingPage]:
    return LandingPage.objects.select_related("form").order_by("title")


def list_events_with_counts() -> QuerySet[Event]:
    """Events, the newest first, with registrations and attendees counted."""
    return Event.objects.annotate(
        registration_count=Count("registrations"),
        attended_count=Count("registrations", filter=Q(registrations__attended_at__isnull=False)),
    ).order_by("-starts_at")


def count_downloads_by_magnet() -> dict[int, int]:
    """How many times each lead magnet was downloaded: one grouped query over the
    asset_downloaded activities only (the activity_kind_time index narrows it to them)."""
    rows = (
        Activity.objects.filter(kind=ActivityKind.ASSET_DOWNLOADED)
        .values("data__asset_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, int] = {}
    for row in rows:
        try:
            counts[int(row["data__asset_id"])] = row["n"]
        except (TypeError, ValueError):
            continue
    return counts


def list_sources_with_stats() -> QuerySet[InboundSource]:
    return (
        InboundSource.objects.select_related("channel")
        .annotate(lead_count=Count("leads"), last_lead_at=Max("leads__received_at"))
        .order_by("name")
    )


def list_endpoints_with_stats() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.annotate(
        delivery_count=Count("deliveries"),
        failing_count=Count(
            "deliveries",
            filter=Q(deliveries__status__in=[DeliveryStatus.RETRYING, DeliveryStatus.FAILED]),
        ),
        last_delivery_at=Max("deliveries__created_at"),
    ).order_by("name")
