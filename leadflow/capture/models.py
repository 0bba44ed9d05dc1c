"""Inbound lead generation: forms, landing pages, what visitors submitted, how channels are told."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import LifecycleStage

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
    "Use lower-case letters, digits and hyphens (it becomes part of a public URL).",
)


class FieldKind(models.TextChoices):
    TEXT = "text", "Text"
    TEXTAREA = "textarea", "Long text"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    SELECT = "select", "Select"
    CHECKBOX = "checkbox", "Checkbox"
    HIDDEN = "hidden", "Hidden"
    CONSENT = "consent", "Consent checkbox"


class LeadMagnet(models.Model):
    """Something of value given in exchange for contact details: an e-book, a whitepaper."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True, help_text="Where the asset lives, if not uploaded.")
    file = models.FileField(upload_to="magnets/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """A webinar or event people register for through a form."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=300, blank=True, help_text="An address or a URL.")
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gte=models.F("starts_at")),
                name="event_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Registration(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="event_registrations"
    )
    registered_at = models.DateTimeField(default=timezone.now)
    attended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "contact"], name="one_registration_each")
        ]

    def __str__(self) -> str:
        return f"{self.contact} at {self.event}"


class Form(models.Model):
    name = models.CharField(max_length=200)
    slug = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    submit_label = models.CharField(max_length=60, default="Submit")
    thank_you_message = models.TextField(default="Thank you! We will be in touch.")
    redirect_url = models.URLField(blank=True, help_text="Send people here after submitting.")
    double_opt_in = models.BooleanField(
        default=False,
        help_text="Ask for confirmation by email; the contact subscribes only once confirmed.",
    )
    lead_magnet = models.ForeignKey(
        LeadMagnet, null=True, blank=True, on_delete=models.SET_NULL, related_name="forms"
    )
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="forms",
        help_text="Submitting this form registers the person for the event.",
    )
    # Submissions without UTM parameters are credited to this campaign, if set.
    campaign = models.ForeignKey(
        "contacts.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The stage a person who is new to us starts in: "subscriber" for a newsletter,
    # "lead" for a demo request or gated content.
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    min_fill_seconds = models.PositiveSmallIntegerField(
        default=2, help_text="Faster submissions of the rendered form are treated as bots."
    )
    is_published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FormField(models.Model):
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(
        max_length=64,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Lower-case letters, digits, _.")],
        help_text="The key the value is posted under, e.g. first_name.",
    )
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=FieldKind.choices, default=FieldKind.TEXT)
    required = models.BooleanField(default=False)
    # A contact field ("first_name"), a custom attribute ("attr.industry"), or blank to keep
    # the value on the submission and the timeline only.
    maps_to = models.CharField(max_length=80, blank=True)
    options = models.JSONField(default=list, blank=True, help_text="Choices of a select.")
    placeholder = models.CharField(max_length=200, blank=True)
    default_value = models.CharField(max_length=500, blank=True)
    consent_text = models.TextField(blank=True, help_text="The wording a person agrees to.")
    max_length = models.PositiveIntegerField(default=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["form", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "name"], name="form_field_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.form}: {self.label}"


class LandingPage(models.Model):
    """A hosted page at /p/<slug>, built from blocks (headline, text, image, form, button)."""

    slug = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    title = models.CharField(max_length=200, help_text="The browser title and share title.")
    description = models.CharField(max_length=300, blank=True, help_text="For search and shares.")
    # [{"type": "headline", "text": ...}, {"type": "text", "text": ...},
    #  {"type": "image", "url": ..., "alt": ...}, {"type": "form"},
    #  {"type": "button", "text": ..., "url": ...}]
    blocks = models.JSONField(default=list, blank=True)
    form = models.ForeignKey(
        Form, null=True, blank=True, on_delete=models.SET_NULL, related_name="landing_pages"
    )
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    AWAITING_CONFIRMATION = "unconfirmed", "Awaiting email confirmation"
    PROCESSED = "processed", "Processed"
    INVALID = "invalid", "Invalid"
    SPAM = "spam", "Spam"
    FAILED = "failed", "Failed (kept for retry)"


class Submission(models.Model):
    """What a visitor sent, stored as received before anything else happens to it, so a
    failure further down never loses a lead."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
    )
    status = models.CharField(
        max_length=12, choices=SubmissionStatus.choices, default=SubmissionStatus.RECEIVED
    )
    data = models.JSONField(default=dict)
    errors = models.JSONField(default=dict, blank=True)
    # UTM parameters, referrer, landing page and visitor id, as they arrived.
    context = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["form", "-received_at"], name="submission_of_form"),
            models.Index(fields=["status", "received_at"], name="submission_status"),
        ]

    def __str__(self) -> str:
        return f"{self.form} at {self.received_at:%Y-%m-%d %H:%M}"


class RuleField(models.TextChoices):
    UTM_MEDIUM = "utm_medium", "UTM medium"
    UTM_SOURCE = "utm_source", "UTM source"
    REFERRER_DOMAIN = "referrer_domain", "Referrer domain"


class ChannelRule(models.Model):
    """An editable rule telling which channel a touch came from. Rules are tried by
    priority (lowest first) before the built-in defaults in capture/attribution.py."""

    priority = models.PositiveSmallIntegerField(default=100)
    field = models.CharField(max_length=20, choices=RuleField.choices)
    # Matches the whole value, case-insensitively; a leading "*." matches any sub-domain.
    value = models.CharField(max_length=200)
    channel = models.ForeignKey("contacts.Channel", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()} = {self.value} → {self.channel}"


class TrackingKind(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    EVENT = "event", "Custom event"


class TrackingEvent(models.Model):
    """A page view or custom event from the tracking script or pixel, stored as it arrived.

    This is the hot path (thousands a second), so the endpoint writes one row and nothing
    else; joining visits to contacts and copying them onto timelines happens in bulk, in
    the worker (see services.attach_visits).
    """

    visitor_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=TrackingKind.choices)
    name = models.CharField(max_length=100, blank=True)
    url = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set once the event is on the contact's timeline, so attaching is idempotent.
    attached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["visitor_id", "occurred_at"], name="tracking_visitor"),
            models.Index(fields=["occurred_at"], name="tracking_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.url}"


class Visitor(models.Model):
    """A first-party visitor id, known to be a contact once they identify themselves."""

    visitor_id = models.CharField(max_length=64, unique=True)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="visitors"
    )
    identified_at = models.DateTimeField(default=timezone.now)
    # How they identified: "form:<slug>", "email-click", ...
    identified_by = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.visitor_id


class WebhookEvent(models.TextChoices):
    CONTACT_CREATED = "contact.created", "Contact created"
    CONTACT_UPDATED = "contact.updated", "Contact updated"
    FORM_SUBMITTED = "form.submitted", "Form submitted"
    STAGE_CHANGED = "contact.stage_changed", "Lifecycle stage changed"
    DEAL_WON = "deal.won", "Deal won"


class WebhookEndpoint(models.Model):
    """An integration's URL that receives the events it subscribed to, signed with HMAC."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # Kept as given: Leadflow signs every delivery with it, so it cannot be a one-way hash.
    # Admins see it once when created and can roll it.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list, help_text="Event names, e.g. contact.created.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    RETRYING = "retrying", "Failed, will retry"
    FAILED = "failed", "Failed, gave up"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_response = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_of_endpoint"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint} ({self.status})"


class InboundSource(models.Model):
    """A lead-ads platform or other tool that POSTs leads as JSON to /in/<slug>."""

    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    # SHA-256 of the shared secret; the secret itself is shown once when made.
    secret_hash = models.CharField(max_length=64)
    # Our field -> a path into their JSON: {"email": "lead.email",
    # "first_name": "field_data.name=first_name.values.0", "attr.budget": "answers.budget"}.
    field_mapping = models.JSONField(default=dict)
    # Where the sender's own lead id is, so a resent lead is recognised: "lead.id".
    id_path = models.CharField(max_length=200, default="id")
    channel = models.ForeignKey(
        "contacts.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        "contacts.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InboundLead(models.Model):
    """A lead as a source sent it, kept before processing; unique per sender's lead id."""

    source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="leads")
    external_id = models.CharField(max_length=200)
    payload = models.JSONField()
    status = models.CharField(
        max_length=12, choices=SubmissionStatus.choices, default=SubmissionStatus.RECEIVED
    )
    errors = models.JSONField(default=dict, blank=True)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="inbound_lead_once_per_sender_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.external_id}"
