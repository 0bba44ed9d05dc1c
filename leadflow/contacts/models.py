"""The hub of the funnel: people, their companies, where they came from, what happened to them."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Trim, Upper
from django.utils import timezone


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "Marketing qualified lead"
    SQL = "sql", "Sales qualified lead"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    ADVOCATE = "advocate", "Advocate"
    DISQUALIFIED = "disqualified", "Disqualified"


# The funnel's order; `disqualified` stands outside it.
FUNNEL_ORDER = [
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.CUSTOMER,
    LifecycleStage.ADVOCATE,
]
OPEN_STAGES = [
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
]


class ConsentState(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    PENDING = "pending", "Awaiting confirmation"
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ChannelKind(models.TextChoices):
    ORGANIC_SEARCH = "organic_search", "Organic search"
    PAID_SEARCH = "paid_search", "Paid search"
    SOCIAL = "social", "Social"
    PAID_SOCIAL = "paid_social", "Paid social"
    EMAIL = "email", "Email"
    REFERRAL = "referral", "Referral"
    DIRECT = "direct", "Direct"
    EVENTS = "events", "Events"
    BOUGHT_LIST = "bought_list", "Bought list"
    OUTBOUND = "outbound", "Outbound"
    OTHER = "other", "Other"


# Inbound generation against bought or outbound acquisition: the split managers compare.
ACQUISITION_KINDS = {ChannelKind.BOUGHT_LIST, ChannelKind.OUTBOUND}


class Channel(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.OTHER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_acquisition(self) -> bool:
        return self.kind in ACQUISITION_KINDS


class Campaign(models.Model):
    name = models.CharField(max_length=200, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="campaigns")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Vendor(models.Model):
    """A seller of lead lists: what a bought contact cost is traced back to its vendor."""

    name = models.CharField(max_length=200, unique=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Spend(models.Model):
    """Money spent on a campaign or a vendor on a day: the numerator of cost per lead."""

    spent_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="spend"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="spend"
    )
    note = models.CharField(max_length=200, blank=True)
    # What the export said besides date, amount and campaign: clicks, impressions, results.
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-spent_on"]
        verbose_name_plural = "spend"
        indexes = [models.Index(fields=["spent_on"], name="spend_by_day")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(campaign__isnull=False) | models.Q(vendor__isnull=False),
                name="spend_has_campaign_or_vendor",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="spend_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.spent_on}"


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, null=True, blank=True, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True, help_text="Number of employees")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    # The account's id in the CRM or list it came from: what a re-import matches first.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        indexes = [models.Index(Upper("name"), name="company_name_upper")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person. A "lead" is a contact in an early lifecycle stage, not a separate table."""

    # Normalised (trimmed, lower-cased) by services.normalise_email before it gets here, so
    # the unique index is what stops "Ann@X.com " from becoming a second contact. On
    # PostgreSQL email, phone and external_id are COLLATE "C" (migration 0016, outside
    # Django's state): an AlterField of one of them must set it again.
    email = models.CharField(max_length=254, null=True, blank=True, unique=True)
    other_emails = models.JSONField(default=list, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    # company, owner and first_touch_channel have no index of their own: the list's composite
    # indexes (contact_company, contact_owner, contact_channel) start with them and serve
    # the same look-ups, and every index is paid for by every insert (docs/benchmarks.md).
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    score = models.IntegerField(default=0)
    consent = models.CharField(
        max_length=10, choices=ConsentState.choices, default=ConsentState.UNKNOWN
    )
    consent_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Unique where set (constraint contact_external_id_unique): most contacts have none, and
    # a partial index is not written for them.
    external_id = models.CharField(max_length=100, null=True, blank=True)
    first_touch_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    first_touch_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # No index on the last touch nor on the vendor: nothing lists contacts by them (the list
    # filters by first touch; a list's contacts are found by source_import_id), and only
    # deleting a channel, campaign or vendor would read the table without one.
    last_touch_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    last_touch_campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    source_vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        db_index=False,
    )
    # The import (acquisition.ImportJob id) that created the contact: with the vendor, the
    # list it was bought in. A plain id, not a foreign key: contacts imports no funnel app.
    source_import_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    # Set when the email is checked (imports, forms): a role address (info@, sales@) reaches a
    # team, not a person; a disposable one (mailinator.com) will not be read for long.
    email_is_role = models.BooleanField(default=False, db_default=False)
    email_is_disposable = models.BooleanField(default=False, db_default=False)
    # Not auto_now_add: imports keep a contact's real creation date from the old system.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # What the list's search matches: "email first_name last_name company name", lower-cased.
    # Maintained by the database, not by Django: triggers (migration 0007) set it on every
    # insert and on every update of those columns, and a company rename updates its
    # contacts, so services, the admin, bulk_create and COPY imports all keep it right.
    # Whatever value Django holds or writes here is replaced; an instance's copy is stale
    # after a save until it is read again. PostgreSQL serves `search_text LIKE '%word%'`
    # through the trigram index contact_search_text_trgm (made by that migration, not
    # listed in Meta.indexes because SQLite has no GIN).
    search_text = models.TextField(editable=False, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The contacts list sorts by a column with the id as tie-breaker (keyset
            # pagination); each filter the list offers has an index that ends in that order.
            models.Index(fields=["-created_at", "-id"], name="contact_newest"),
            models.Index(fields=["lifecycle_stage", "-created_at", "-id"], name="contact_stage"),
            models.Index(fields=["owner", "-created_at", "-id"], name="contact_owner"),
            models.Index(
                fields=["first_touch_channel", "-created_at", "-id"], name="contact_channel"
            ),
            models.Index(fields=["-score", "-id"], name="contact_score"),
            models.Index(fields=["-updated_at", "-id"], name="contact_updated"),
            models.Index(fields=["last_name", "id"], name="contact_name"),
            models.Index(fields=["company", "-created_at"], name="contact_company"),
            # Imports look a row's last name up as written and upper-cased (lookup.py).
            models.Index(Upper("last_name"), name="contact_last_name_upper"),
            # Imports match a row without a known email by its E.164 phone.
            models.Index(fields=["phone"], name="contact_phone"),
            # Imports and deals find an address among the contacts' other emails
            # (acquisition/pipeline/lookup.py): only the few merged contacts have any, so
            # this index lists them and the look-up reads them, not the whole table.
            models.Index(
                fields=["id"], condition=~models.Q(other_emails=[]), name="contact_other_emails"
            ),
        ]
        constraints = [
            # Whatever path writes a contact (service, admin, bulk import), the stored email is
            # trimmed and lower-cased, so the unique index really means one contact per address.
            models.CheckConstraint(
                condition=models.Q(email__isnull=True) | models.Q(email=Lower(Trim("email"))),
                name="contact_email_normalised",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=models.Q(external_id__isnull=False),
                name="contact_external_id_unique",
                violation_error_message="A contact with this external id already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_lead(self) -> bool:
        return self.lifecycle_stage in OPEN_STAGES


class ActivityKind(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    FORM_SUBMITTED = "form_submitted", "Form submitted"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email clicked"
    CALL = "call", "Call"
    NOTE = "note", "Note"
    MEETING = "meeting", "Meeting"
    STAGE_CHANGED = "stage_changed", "Lifecycle stage changed"
    SCORE_CHANGED = "score_changed", "Score changed"
    OWNER_ASSIGNED = "owner_assigned", "Owner assigned"
    CREATED = "created", "Contact created"
    UPDATED = "updated", "Contact updated"
    CONSENT_CHANGED = "consent_changed", "Consent changed"
    ASSET_DOWNLOADED = "asset_downloaded", "Asset downloaded"
    EVENT_REGISTERED = "event_registered", "Registered for an event"
    EVENT_ATTENDED = "event_attended", "Attended an event"
    IMPORTED = "imported", "Imported"
    MERGED = "merged", "Merged"
    MERGE_UNDONE = "merge_undone", "Merge undone"
    DEAL_CREATED = "deal_created", "Deal created"
    DEAL_WON = "deal_won", "Deal won"
    DEAL_LOST = "deal_lost", "Deal lost"
    CUSTOM = "custom", "Custom event"


class Activity(models.Model):
    """One thing that happened to a contact. Append-only: rows are never edited."""

    # No index of its own: activity_timeline starts with the contact and serves the same
    # look-ups (a contact's activities, the cascade of its deletion).
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=30, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField()
    # actor, channel and campaign are indexed where set (partial indexes in Meta): imports
    # and automations write activities without an actor, and often without a campaign.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            # "the latest activities of a contact": the timeline.
            models.Index(fields=["contact", "-occurred_at", "-id"], name="activity_timeline"),
            # "activities of a kind in a time range": reports and engagement scoring.
            models.Index(fields=["kind", "occurred_at"], name="activity_kind_time"),
            *[
                models.Index(
                    fields=[field], condition=models.Q(**{f"{field}__isnull": False}), name=name
                )
                for field, name in (
                    ("actor", "activity_actor"),
                    ("channel", "activity_channel"),
                    ("campaign", "activity_campaign"),
                )
            ],
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("The activity timeline is append-only; record a new activity.")
        super().save(*args, **kwargs)


class StageChange(models.Model):
    """The lifecycle history: every change of stage, who or what made it, when and why."""

    # No index of its own: stage_change_history starts with the contact.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField()
    # Indexed where set (stage_change_actor): imports and scoring make changes without one.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # What made the change when no person did: "import", "scoring rule: ...", "deal won".
    source = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-changed_at"], name="stage_change_history"),
            models.Index(fields=["to_stage", "changed_at"], name="stage_change_to_time"),
            models.Index(
                fields=["actor"], condition=models.Q(actor__isnull=False), name="stage_change_actor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}"


class MergeSource(models.TextChoices):
    MANUAL = "manual", "By a person"
    DEDUPE = "dedupe", "Automatic (dedupe)"
    REVIEW = "review", "Review queue"
    IMPORT = "import", "Import"
    API = "api", "API"


class ContactMerge(models.Model):
    """One contact merged into another, with everything `undo_merge` needs to take it back.

    Contacts are kept as plain ids, not foreign keys: the duplicate is deleted by the merge and
    the survivor may be merged or deleted later, and this record must outlive both.
    """

    survivor_id = models.PositiveBigIntegerField(db_index=True)
    duplicate_id = models.PositiveBigIntegerField(db_index=True)
    # The duplicate's whole row (Django's serialised form), to recreate it with its own id.
    duplicate_snapshot = models.JSONField(default=dict)
    # {field attname: value before the merge} for every survivor field the merge changed,
    # and {field attname: value written}, so undo can tell whether someone changed it since.
    survivor_before = models.JSONField(default=dict)
    survivor_after = models.JSONField(default=dict)
    # {"app_label.Model.field": [row ids]}: the rows moved from the duplicate to the survivor.
    moved = models.JSONField(default=dict)
    # Rows that could not move (the survivor already had one: a second registration for the
    # same event) and were deleted with the duplicate, serialised so undo can put them back.
    dropped = models.JSONField(default=list)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=MergeSource.choices, default="manual")
    reason = models.TextField(blank=True)
    probability = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What undo could not restore because the survivor's value had changed since the merge.
    undo_notes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="contact_merge_newest")]

    def __str__(self) -> str:
        state = " (undone)" if self.undone_at else ""
        return f"Contact {self.duplicate_id} merged into {self.survivor_id}{state}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
