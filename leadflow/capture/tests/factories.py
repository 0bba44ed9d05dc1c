import factory

from leadflow.capture.models import FieldKind, Form, FormField, LandingPage


class FormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Form

    name = factory.Sequence(lambda n: f"Form {n}")
    slug = factory.Sequence(lambda n: f"form-{n}")
    min_fill_seconds = 0


class FormFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormField

    form = factory.SubFactory(FormFactory)
    name = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda f: f.name.replace("_", " ").title())
    kind = FieldKind.TEXT


def make_signup_form(**kwargs) -> Form:
    """The demo's shape: email (required), first name, consent (required)."""
    form = FormFactory(**kwargs)
    FormFieldFactory(
        form=form,
        name="email",
        label="Work email",
        kind=FieldKind.EMAIL,
        required=True,
        maps_to="email",
        position=1,
    )
    FormFieldFactory(
        form=form, name="first_name", label="First name", maps_to="first_name", position=2
    )
    FormFieldFactory(
        form=form,
        name="consent",
        label="Consent",
        kind=FieldKind.CONSENT,
        required=True,
        position=3,
        consent_text="I agree to receive the guide and related emails.",
    )
    return form


class LandingPageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LandingPage

    slug = factory.Sequence(lambda n: f"page-{n}")
    title = "The 2026 pipeline guide"
    description = "Twelve pages on filling a pipeline."
    is_published = True
    blocks = factory.LazyFunction(
        lambda: [
            {"type": "headline", "text": "Fill your pipeline"},
            {"type": "text", "text": "Get the guide."},
            {"type": "form"},
        ]
    )
