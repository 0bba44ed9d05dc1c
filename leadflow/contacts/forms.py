"""Forms of the contact screens: they parse and validate input, and hand it to the services.

Contact and company forms are plain forms, not ModelForms, on purpose: a ModelForm writes the
cleaned values onto the instance while validating, so `services.update_contact` would find
nothing changed and record no history. The services are the only write path.
"""

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadflow.accounts.models import User
from leadflow.accounts.selectors import list_active_reps
from leadflow.contacts import selectors, services
from leadflow.contacts.models import Company, ConsentState, Contact, LifecycleStage
from leadflow.errors import LeadflowError

# Bounds that keep a typed number inside what every database column holds, so a silly URL
# answers with a message instead of an overflow error.
MAX_ID = 2**63 - 1
SCORE_LIMIT = 1_000_000


class ContactListParams(forms.Form):
    """The contacts list's query string. Invalid values are dropped and reported, never fatal."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    stage = forms.ChoiceField(
        required=False, label="Stage", choices=[("", "Any"), *LifecycleStage.choices]
    )
    # "me", "unassigned" or a user id.
    owner = forms.CharField(required=False, max_length=20, label="Owner")
    channel = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, label="Channel")
    company = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, label="Company")
    score_min = forms.IntegerField(
        required=False, min_value=-SCORE_LIMIT, max_value=SCORE_LIMIT, label="Minimum score"
    )
    score_max = forms.IntegerField(
        required=False, min_value=-SCORE_LIMIT, max_value=SCORE_LIMIT, label="Maximum score"
    )
    sort = forms.ChoiceField(
        required=False, label="Sort", choices=[(key, key) for key in selectors.CONTACT_SORTS]
    )
    cursor = forms.CharField(required=False, max_length=400, label="Page")
    dir = forms.ChoiceField(required=False, choices=[("next", "next"), ("prev", "prev")])

    def clean_owner(self) -> str:
        value = self.cleaned_data["owner"].strip().lower()
        if value in {"", "me", "unassigned"} or (value.isdigit() and int(value) <= MAX_ID):
            return value
        raise ValidationError("Pick an owner from the list.")

    def contact_filter(self, *, user: User) -> selectors.ContactFilter:
        """The filter made of every field that parsed; fields with errors are left out."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        owner = data.get("owner", "")
        return selectors.ContactFilter(
            search=data.get("q", ""),
            stage=data.get("stage", ""),
            owner=user.pk if owner == "me" else (int(owner) if owner.isdigit() else None),
            unassigned=owner == "unassigned",
            channel=data.get("channel"),
            company=data.get("company"),
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
        )

    def error_messages_for_people(self) -> list[str]:
        return [
            f"{self.fields[name].label if name in self.fields else name}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        ]


ATTRIBUTE_NAME_LENGTH = 100
ATTRIBUTE_VALUE_LENGTH = 10_000
MAX_ATTRIBUTES = 200


def _attribute_text(value: Any) -> str:
    """How a stored attribute reads on one line of the form (a newline shown as \\n)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text.replace("\r\n", "\n").replace("\n", "\\n")


class AttributesField(forms.CharField):
    """Custom attributes (what an import kept from the file's other columns, or what a
    person adds) as text: one `name: value` a line. A line left as it was keeps its stored
    value exactly (a number stays a number); an edited or new value is text; a line
    deleted removes the attribute."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Custom attributes")
        kwargs.setdefault("help_text", "One per line, as name: value. Delete a line to remove it.")
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)
        self.stored: dict[str, Any] = {}

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{name}: {_attribute_text(v)}" for name, v in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, Any]:
        if value is None:  # not on the form that was posted: nothing to change
            return dict(self.stored)
        text = super().to_python(value)
        attributes: dict[str, Any] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, raw = line.partition(":")
            name, raw = name.strip(), raw.strip()
            if not colon or not name:
                raise ValidationError(f"Line {number}: write it as name: value.")
            if len(name) > ATTRIBUTE_NAME_LENGTH:
                raise ValidationError(
                    f"Line {number}: a name has at most {ATTRIBUTE_NAME_LENGTH} characters."
                )
            if len(raw) > ATTRIBUTE_VALUE_LENGTH:
                raise ValidationError(
                    f"Line {number}: a value has at most {ATTRIBUTE_VALUE_LENGTH:,} characters."
                )
            if name in attributes:
                raise ValidationError(f"Line {number}: {name} is given twice.")
            if name in self.stored and raw == _attribute_text(self.stored[name]).strip():
                attributes[name] = self.stored[name]
            else:
                attributes[name] = raw
        if len(attributes) > MAX_ATTRIBUTES:
            raise ValidationError(f"At most {MAX_ATTRIBUTES} custom attributes.")
        return attributes


def _stored_attributes(record: Any) -> dict[str, Any]:
    value = getattr(record, "attributes", None) if record is not None else None
    return dict(value) if isinstance(value, dict) else {}


def _company_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Company.objects.order_by("name"), required=False, empty_label="No company"
    )


def _owner_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=list_active_reps(), required=False, empty_label="Unassigned", label="Owner"
    )


def attach_service_error(form: forms.Form, error: LeadflowError) -> None:
    """Put a service's refusal beside the field it is about, else on top of the form.

    Services phrase field errors as "email: ..." or mention the field by name; the message
    is written for people, so it is shown as it is.
    """
    message = str(error)
    field, sep, rest = message.partition(": ")
    if sep and field in form.fields:
        form.add_error(field, rest)
        return
    for name in ("email", "domain", "external_id"):
        if name.replace("_", " ") in message.lower() and name in form.fields:
            form.add_error(name, message)
            return
    form.add_error(None, message)


class ContactForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(
        max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        max_length=32, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    job_title = forms.CharField(max_length=150, required=False)
    company = _company_field()
    country = forms.CharField(
        max_length=2,
        min_length=2,
        required=False,
        help_text="Two-letter code, e.g. DE or US.",
        widget=forms.TextInput(attrs={"size": 2, "autocomplete": "country"}),
    )
    consent = forms.ChoiceField(choices=ConsentState.choices, initial=ConsentState.UNKNOWN)
    # Only on creation: afterwards the stage changes through its own form, which asks why.
    lifecycle_stage = forms.ChoiceField(
        choices=LifecycleStage.choices, initial=LifecycleStage.LEAD, label="Lifecycle stage"
    )
    owner = _owner_field()
    attributes = AttributesField()

    def __init__(
        self, *args: Any, contact: Contact | None = None, user: User, **kwargs: Any
    ) -> None:
        if contact is not None:
            initial = {name: getattr(contact, name) for name in self.EDITABLE}
            kwargs.setdefault("initial", {**initial, "attributes": _stored_attributes(contact)})
        super().__init__(*args, **kwargs)
        self.fields["attributes"].stored = _stored_attributes(contact)
        self.contact = contact
        self.user = user
        if contact is not None:
            del self.fields["lifecycle_stage"]
            del self.fields["owner"]  # ownership changes through assign_owner, with its trail
        elif user.is_rep:
            del self.fields["owner"]  # a rep's new contact is theirs

    EDITABLE = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "job_title",
        "company",
        "country",
        "consent",
    )

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("email") or data.get("first_name") or data.get("last_name")):
            raise ValidationError("Give the contact at least a name or an email address.")
        return data

    def save(self, *, actor: User) -> Contact | None:
        """Create or update through the services; None (with errors on the form) if refused."""
        values = {name: self.cleaned_data[name] for name in self.EDITABLE}
        values["attributes"] = self.cleaned_data["attributes"]
        try:
            if self.contact is None:
                owner = actor if actor.is_rep else self.cleaned_data.get("owner")
                return services.create_contact(
                    actor=actor,
                    source="manual",
                    owner=owner,
                    lifecycle_stage=self.cleaned_data["lifecycle_stage"],
                    **values,
                )
            return services.update_contact(contact=self.contact, actor=actor, **values)
        except LeadflowError as exc:
            attach_service_error(self, exc)
            return None


class StageForm(forms.Form):
    to_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="New stage")
    reason = forms.CharField(
        required=False,
        max_length=500,
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why this stage? (optional)"}),
    )


class OwnerForm(forms.Form):
    owner = _owner_field()


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=10_000,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Add a note about this contact…"}),
        error_messages={"required": "Write something before saving the note."},
    )


class CompanyForm(forms.Form):
    name = forms.CharField(max_length=200)
    domain = forms.CharField(
        max_length=253, required=False, help_text="e.g. acme.com; one company per domain."
    )
    industry = forms.CharField(max_length=100, required=False)
    size = forms.IntegerField(required=False, min_value=0, max_value=10_000_000, label="Employees")
    country = forms.CharField(
        max_length=2, min_length=2, required=False, help_text="Two-letter code, e.g. DE or US."
    )

    attributes = AttributesField()

    FIELDS = ("name", "domain", "industry", "size", "country", "attributes")

    def __init__(self, *args: Any, company: Company | None = None, **kwargs: Any) -> None:
        if company is not None:
            initial = {name: getattr(company, name) for name in self.FIELDS}
            kwargs.setdefault("initial", {**initial, "attributes": _stored_attributes(company)})
        super().__init__(*args, **kwargs)
        self.fields["attributes"].stored = _stored_attributes(company)
        self.company = company

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def save(self, *, actor: User) -> Company | None:
        values = {name: self.cleaned_data[name] for name in self.FIELDS}
        try:
            if self.company is None:
                return services.create_company(actor=actor, **values)
            return services.update_company(company=self.company, actor=actor, **values)
        except LeadflowError as exc:
            attach_service_error(self, exc)
            return None
