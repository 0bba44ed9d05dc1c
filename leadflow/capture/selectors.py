"""Reads for capture: published forms and pages as the public endpoints see them."""

from django.db.models import Prefetch, QuerySet

from leadflow.capture.models import Form, FormField, LandingPage, Submission


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
