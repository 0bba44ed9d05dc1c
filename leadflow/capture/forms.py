"""Forms of the capture screens: they parse and check input with the API's rules
(capture/schemas.py) and hand clean values to the services.

The builder and the page editor are plain forms, not ModelForms, for the reason given in
contacts/forms.py: the services are the only write path, and they take the fields and
blocks as lists of dicts.
"""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from leadflow.capture.models import (
    ChannelRule,
    Event,
    FieldKind,
    Form,
    InboundSource,
    LandingPage,
    LeadMagnet,
    RuleField,
    WebhookEndpoint,
    WebhookEvent,
    slug_validator,
)
from leadflow.contacts.models import Campaign, Channel, LifecycleStage

CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "job_title", "country")
MAX_FIELDS = 50
MAX_BLOCKS = 50
MAX_OPTIONS = 100
MAX_MAPPING_LINES = 50
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
URL_RE = r"^https?://\S+$"
url_validator = RegexValidator(URL_RE, "Enter an address starting with http:// or https://.")
field_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*$",
    "Start with a lower-case letter; then lower-case letters, digits and _ (e.g. first_name).",
)
attribute_re = re.compile(r"^attr\.[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def _slug_field(prefix: str) -> forms.CharField:
    return forms.CharField(
        max_length=64,
        validators=[slug_validator],
        label="Address",
        help_text=f"{prefix}<address>. Lower-case letters, digits and hyphens; it never changes.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _text(max_length: int, *, required: bool = False, label: str = "", **kw: Any):
    return forms.CharField(max_length=max_length, required=required, label=label or None, **kw)


def _area(max_length: int, rows: int = 3, **kw: Any) -> forms.CharField:
    return forms.CharField(
        max_length=max_length, required=False, widget=forms.Textarea(attrs={"rows": rows}), **kw
    )


def check_maps_to(value: str) -> str:
    """A contact field, a custom attribute (attr.NAME) or blank: schemas._check_maps_to."""
    value = value.strip()
    if value in ("", *CONTACT_FIELDS) or attribute_re.match(value):
        return value
    raise ValidationError(
        "Use a contact field (email, first_name, …) or attr.NAME, or leave it blank."
    )


# ---------------------------------------------------------------- form builder


class FormSettingsForm(forms.Form):
    """The form's own settings. The address is set once: it is pasted into other sites."""

    name = _text(200, required=True, label="Name", help_text="Only your team sees this.")
    slug = _slug_field("/f/")
    submit_label = _text(60, required=True, label="Button text", initial="Submit")
    thank_you_message = _area(
        2000, rows=2, initial="Thank you! We will be in touch.", label="Thank-you message"
    )
    redirect_url = _text(
        2000,
        label="Redirect to",
        validators=[url_validator],
        help_text="Optional: send people to this page instead of showing the message.",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    double_opt_in = forms.BooleanField(
        required=False,
        label="Double opt-in",
        help_text="Email a confirmation link; nobody is subscribed until they click it.",
    )
    lifecycle_stage = forms.ChoiceField(
        choices=LifecycleStage.choices,
        initial=LifecycleStage.LEAD,
        label="Stage for new people",
        help_text="People already in your database keep their stage.",
    )
    lead_magnet = forms.ModelChoiceField(
        queryset=LeadMagnet.objects.order_by("name"),
        required=False,
        empty_label="None",
        label="Lead magnet",
        help_text="Given on the thank-you page and by email.",
    )
    event = forms.ModelChoiceField(
        queryset=Event.objects.order_by("-starts_at"),
        required=False,
        empty_label="None",
        label="Event",
        help_text="Submitting registers the person for it.",
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"),
        required=False,
        empty_label="None",
        label="Campaign",
        help_text="Credited when a visit carries no UTM campaign.",
    )
    min_fill_seconds = forms.IntegerField(
        min_value=0,
        max_value=600,
        initial=2,
        label="Minimum fill time (seconds)",
        help_text="Faster submissions are treated as bots.",
    )
    is_published = forms.BooleanField(
        required=False, initial=True, label="Published", help_text="Unpublished forms answer 404."
    )

    SETTINGS = (
        "name",
        "submit_label",
        "thank_you_message",
        "redirect_url",
        "double_opt_in",
        "lifecycle_stage",
        "lead_magnet",
        "event",
        "campaign",
        "min_fill_seconds",
        "is_published",
    )

    def __init__(self, *args: Any, instance: Form | None = None, **kwargs: Any) -> None:
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.SETTINGS}
            initial["slug"] = instance.slug
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            # The API has no way to move a form (FormPatch has no slug): the address is in
            # other people's sites and emails.
            del self.fields["slug"]

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.SETTINGS}


class FieldRowForm(forms.Form):
    """One field of the form being built (schemas.FormFieldIn)."""

    label = forms.CharField(
        max_length=200,
        label="Label",
        widget=forms.TextInput(
            attrs={"data-role": "field-label", "placeholder": "e.g. Work email"}
        ),
    )
    name = forms.CharField(
        max_length=64,
        validators=[field_name_validator],
        label="Key",
        widget=forms.TextInput(attrs={"spellcheck": "false", "data-role": "field-name"}),
    )
    kind = forms.ChoiceField(
        choices=FieldKind.choices,
        initial=FieldKind.TEXT,
        label="Type",
        widget=forms.Select(attrs={"data-role": "field-kind"}),
    )
    required = forms.BooleanField(required=False, label="Required")
    maps_to = forms.CharField(
        max_length=80,
        required=False,
        label="Saves to",
        widget=forms.TextInput(attrs={"list": "maps-to-options", "placeholder": "Not saved"}),
    )
    options = _area(
        MAX_OPTIONS * 201,
        rows=3,
        label="Options",
        help_text="One per line.",
    )
    placeholder = _text(200, label="Placeholder")
    default_value = _text(500, label="Default value")
    consent_text = _area(
        2000, rows=2, label="Consent wording", help_text="The exact words a person agrees to."
    )
    max_length = forms.IntegerField(min_value=1, max_value=10_000, initial=500, label="Max length")
    order = forms.IntegerField(
        min_value=0,
        max_value=10_000,
        required=False,
        label="Order",
        widget=forms.NumberInput(attrs={"data-role": "order"}),
    )

    def clean_maps_to(self) -> str:
        return check_maps_to(self.cleaned_data["maps_to"])

    def clean_options(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["options"].splitlines()]
        options = [line for line in lines if line]
        if len(options) > MAX_OPTIONS:
            raise ValidationError(f"Keep it to {MAX_OPTIONS} options.")
        if any(len(option) > 200 for option in options):
            raise ValidationError("Keep each option under 200 characters.")
        return options

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == FieldKind.SELECT and not data.get("options"):
            self.add_error("options", "A select needs at least one option.")
        return data

    def spec(self) -> dict[str, Any]:
        """The dict services.create_form and update_form take for this field."""
        data = self.cleaned_data
        kind = data["kind"]
        return {
            "name": data["name"],
            "label": data["label"],
            "kind": kind,
            "required": data["required"],
            "maps_to": data["maps_to"],
            "options": data["options"] if kind == FieldKind.SELECT else [],
            "placeholder": data["placeholder"],
            "default_value": data["default_value"],
            "consent_text": data["consent_text"] if kind == FieldKind.CONSENT else "",
            "max_length": data["max_length"],
        }


class _OrderedFormSet(forms.BaseFormSet):
    """Rows kept in their "order" (the JS renumbers it; without JS people type numbers)."""

    def live_forms(self) -> list[forms.Form]:
        rows = [
            f
            for f in self.forms
            # An added row left empty is valid with no data: it is skipped, like a deleted one.
            if f.is_valid()
            and f.cleaned_data
            and not (self.can_delete and self._should_delete_form(f))
        ]
        return sorted(
            rows,
            key=lambda f: (f.cleaned_data.get("order") is None, f.cleaned_data.get("order") or 0),
        )


class BaseFieldFormSet(_OrderedFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: dict[str, forms.Form] = {}
        for row in self.live_forms():
            name = row.cleaned_data["name"]
            if name in seen:
                row.add_error("name", "Another field already uses this key.")
            seen[name] = row
        live = self.live_forms()
        if not live:
            raise ValidationError("Add at least one field.")
        if not any(row.cleaned_data["kind"] == FieldKind.EMAIL for row in live):
            raise ValidationError(
                "Add an Email field: it is how Leadflow finds or creates the contact."
            )

    def specs(self) -> list[dict[str, Any]]:
        return [row.spec() for row in self.live_forms()]


FieldFormSet = forms.formset_factory(
    FieldRowForm,
    formset=BaseFieldFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_FIELDS,
    validate_max=True,
    absolute_max=MAX_FIELDS,
)


def field_initial(form: Form) -> list[dict[str, Any]]:
    return [
        {
            "label": f.label,
            "name": f.name,
            "kind": f.kind,
            "required": f.required,
            "maps_to": f.maps_to,
            "options": "\n".join(f.options or []),
            "placeholder": f.placeholder,
            "default_value": f.default_value,
            "consent_text": f.consent_text,
            "max_length": f.max_length,
            "order": position,
        }
        for position, f in enumerate(form.fields.order_by("position", "id"))
    ]


# A new form starts with what almost every form needs: who they are and their email.
STARTER_FIELDS = [
    {
        "label": "Email",
        "name": "email",
        "kind": FieldKind.EMAIL,
        "required": True,
        "maps_to": "email",
        "max_length": 254,
        "order": 0,
    },
    {
        "label": "First name",
        "name": "first_name",
        "kind": FieldKind.TEXT,
        "maps_to": "first_name",
        "max_length": 100,
        "order": 1,
    },
]


# ---------------------------------------------------------------- landing pages


class PageSettingsForm(forms.Form):
    title = _text(200, required=True, label="Title", help_text="The browser and share title.")
    slug = _slug_field("/p/")
    description = _text(
        300,
        label="Description",
        help_text="Shown by search engines and when the link is shared.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    form = forms.ModelChoiceField(
        queryset=Form.objects.order_by("name"),
        required=False,
        empty_label="No form",
        label="Form",
        help_text="Shown where the page has a Form block.",
    )
    is_published = forms.BooleanField(
        required=False, label="Published", help_text="Drafts are only visible to your team."
    )

    SETTINGS = ("title", "description", "form", "is_published")

    def __init__(self, *args: Any, instance: LandingPage | None = None, **kwargs: Any) -> None:
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.SETTINGS}
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            del self.fields["slug"]  # LandingPagePatch has no slug either: the URL is shared

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.SETTINGS}


BLOCK_TYPES = [
    ("headline", "Headline"),
    ("text", "Text"),
    ("image", "Image"),
    ("form", "Form"),
    ("button", "Button"),
]


class BlockRowForm(forms.Form):
    """One block of a page (schemas.Block)."""

    type = forms.ChoiceField(
        choices=BLOCK_TYPES,
        label="Block type",
        widget=forms.Select(attrs={"data-role": "block-type"}),
    )
    text = _area(5000, rows=2, label="Text")
    url = _text(
        2000,
        label="Link or image address",
        validators=[url_validator],
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    alt = _text(300, label="Image description (alt text)")
    order = forms.IntegerField(
        min_value=0,
        max_value=10_000,
        required=False,
        label="Order",
        widget=forms.NumberInput(attrs={"data-role": "order"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("type")
        if kind in ("headline", "text", "button") and not data.get("text"):
            self.add_error("text", "Write the text of this block.")
        if kind in ("image", "button") and not data.get("url") and "url" not in self.errors:
            self.add_error("url", "Give the address.")
        if kind == "image" and not data.get("alt"):
            self.add_error("alt", "Describe the image for people who cannot see it.")
        return data

    def block(self) -> dict[str, str]:
        data = self.cleaned_data
        kind = data["type"]
        block = {"type": kind}
        if kind in ("headline", "text", "button"):
            block["text"] = data["text"]
        if kind in ("image", "button"):
            block["url"] = data["url"]
        if kind == "image":
            block["alt"] = data["alt"]
        return block


class BaseBlockFormSet(_OrderedFormSet):
    def blocks(self) -> list[dict[str, str]]:
        return [row.block() for row in self.live_forms()]


BlockFormSet = forms.formset_factory(
    BlockRowForm,
    formset=BaseBlockFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_BLOCKS,
    validate_max=True,
    absolute_max=MAX_BLOCKS,
)


def block_initial(page: LandingPage) -> list[dict[str, Any]]:
    return [
        {
            "type": block.get("type", "text"),
            "text": block.get("text", ""),
            "url": block.get("url", ""),
            "alt": block.get("alt", ""),
            "order": position,
        }
        for position, block in enumerate(page.blocks or [])
        if isinstance(block, dict)
    ]


STARTER_BLOCKS = [
    {"type": "headline", "text": "", "order": 0},
    {"type": "text", "text": "", "order": 1},
    {"type": "form", "order": 2},
]


# ---------------------------------------------------------------- lead magnets, events


class LeadMagnetForm(forms.ModelForm):
    """A magnet has no workflow of its own (nothing is recorded when it changes), so the
    screen saves the row as the admin does."""

    url = forms.URLField(
        max_length=200,
        required=False,
        assume_scheme="https",
        label="Link to the asset",
        help_text="Where the e-book, whitepaper or video lives.",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    class Meta:
        model = LeadMagnet
        fields = ("name", "description", "url", "file")
        labels = {"file": "Or upload the file"}
        help_texts = {"file": "Stored by Leadflow and handed out by a signed, expiring link."}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and getattr(upload, "size", 0) > MAX_UPLOAD_BYTES:
            raise ValidationError("Keep the file under 50 MB, or link to it instead.")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("url") and not data.get("file") and "file" not in self.errors:
            self.add_error("url", "Give a link or upload a file.")
        return data


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = ("name", "description", "starts_at", "ends_at", "location", "capacity")
        labels = {"starts_at": "Starts", "ends_at": "Ends", "capacity": "Seats"}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "starts_at": DateTimeLocal(),
            "ends_at": DateTimeLocal(),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            self.add_error("ends_at", "The event must end after it starts.")
        return data


class AttendanceForm(forms.Form):
    file = forms.FileField(
        label="Attendance list (CSV)",
        help_text="A column of emails, with or without an “email” header; one person a line.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError("Keep the file under 50 MB.")
        return upload


# ---------------------------------------------------------------- integrations


def parse_mapping(text: str) -> dict[str, str]:
    """Lines of "our_field = their.json.path" into the source's field mapping."""
    mapping: dict[str, str] = {}
    errors = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        ours, sep, path = (part.strip() for part in line.partition("="))
        if not sep or not ours or not path:
            errors.append(f"Line {number}: write it as our_field = their.path.")
            continue
        try:
            check_maps_to(ours)
        except ValidationError:
            errors.append(f"Line {number}: “{ours}” is not a contact field or attr.NAME.")
            continue
        if len(path) > 200:
            errors.append(f"Line {number}: keep the path under 200 characters.")
            continue
        if ours in mapping:
            errors.append(f"Line {number}: “{ours}” is mapped twice.")
            continue
        mapping[ours] = path
    if errors:
        raise ValidationError(errors)
    if not mapping:
        raise ValidationError("Map at least the email, e.g. email = lead.email")
    if len(mapping) > MAX_MAPPING_LINES:
        raise ValidationError(f"Keep it to {MAX_MAPPING_LINES} lines.")
    if "email" not in mapping:
        raise ValidationError("Map the email: a lead without one cannot become a contact.")
    return mapping


class InboundSourceForm(forms.Form):
    name = _text(100, required=True, label="Name", help_text="e.g. LinkedIn Lead Gen Forms")
    slug = _slug_field("/in/")
    field_mapping = forms.CharField(
        max_length=20_000,
        label="Field mapping",
        help_text="One line each: our_field = their.json.path. Our fields: email, first_name, "
        "last_name, phone, job_title, country or attr.NAME. In a list, key=value picks the "
        "item whose key has that value, digits pick by position.",
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "spellcheck": "false",
                "class": "mono",
                "placeholder": "email = lead.email\nfirst_name = lead.first_name",
            }
        ),
    )
    id_path = _text(
        200,
        required=True,
        label="Lead id path",
        initial="id",
        help_text="Where their own lead id is, so a resent lead is not counted twice.",
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("name"),
        required=False,
        empty_label="Other",
        label="Channel",
        help_text="Credited as the touch of every lead from this source.",
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="None"
    )
    lifecycle_stage = forms.ChoiceField(
        choices=LifecycleStage.choices, initial=LifecycleStage.LEAD, label="Stage for new people"
    )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if InboundSource.objects.filter(slug=slug).exists():
            raise ValidationError(f"A source with the address /in/{slug} already exists.")
        return slug

    def clean_field_mapping(self) -> dict[str, str]:
        return parse_mapping(self.cleaned_data["field_mapping"])


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(
        max_length=500,
        validators=[url_validator],
        label="URL",
        help_text="Leadflow POSTs JSON here, signed with the secret shown after saving.",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        error_messages={"required": "Pick at least one event to send."},
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "is_active")
        labels = {"is_active": "Active"}


class ChannelRuleForm(forms.ModelForm):
    class Meta:
        model = ChannelRule
        fields = ("priority", "field", "value", "channel")
        labels = {"field": "When", "value": "Equals", "channel": "Credit to"}
        help_texts = {"priority": "Lowest first."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.order_by("name")
        self.fields["channel"].empty_label = None
        self.fields["field"].choices = RuleField.choices
        self.fields["value"].widget.attrs["placeholder"] = "newsletter, or *.example.com"

    def clean_value(self) -> str:
        # Rules match the whole value, lower-cased (attribution._matches).
        value = self.cleaned_data["value"].strip().lower()
        if not value:
            raise ValidationError("Give the value to match.")
        return value
