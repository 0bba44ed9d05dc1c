"""Imports of bought lists and history: one ImportJob row per run, so the UI can show history."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", "Contacts"
    COMPANIES = "companies", "Companies"
    DEALS = "deals", "Deals"
    ACTIVITIES = "activities", "Activities"
    SPEND = "spend", "Spend"


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Awaiting review"  # uploaded in the UI, mapping not confirmed yet
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    UNDONE = "undone", "Undone"


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", "Skip"  # leave the contact as it is
    UPDATE = "update", "Update"  # the file's non-empty values replace the contact's
    MERGE = "merge", "Merge"  # fill empty fields; a conflicting value keeps the newer one


class ImportJob(models.Model):
    """One run of `leadflow import` (or, later, of an upload in the UI) and what it did."""

    file_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    # The options as given (mapping, policy, encoding...), so a run can be explained later.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vendor = models.ForeignKey(
        "contacts.Vendor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    spend = models.ForeignKey(
        "contacts.Spend", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_read = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_in_file = models.PositiveIntegerField(default=0)
    skipped_in_database = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    rejects_path = models.CharField(max_length=500, blank=True)
    # An upload from the UI is kept under $LEADFLOW_DATA_DIR/imports until the job is done, so
    # a worker (on any machine sharing the data dir) can read it.
    stored_path = models.CharField(max_length=500, blank=True)
    rows_total = models.PositiveIntegerField(default=0)  # for progress; 0 = not known yet
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # restarts after a worker died
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cost_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    cost_per_new_lead = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    # The whole report as printed by `--format json`: rejects by reason, examples, timings.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="import_job_newest_created"),
            models.Index(fields=["status"], name="import_job_status"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.file_name} ({self.status})"


class ImportChangeAction(models.TextChoices):
    UPDATED = "updated", "Updated"
    MERGED = "merged", "Merged"


class ImportChange(models.Model):
    """An existing contact an import changed, with the values it had before: undo restores them.

    (Contacts an import created carry its id in `Contact.source_import_id`; undo deletes them.)
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    contact_id = models.PositiveBigIntegerField(db_index=True)  # the contact may be gone since
    action = models.CharField(max_length=10, choices=ImportChangeAction.choices)
    line = models.PositiveIntegerField(null=True, blank=True)
    # {field: value before} for every field the import wrote, attributes as a whole dict.
    previous = models.JSONField(default=dict)
    # {field: value written}, so undo can tell whether someone changed the field since.
    written = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["job", "id"], name="import_change_job")]

    def __str__(self) -> str:
        return f"{self.action} contact {self.contact_id} (import #{self.job_id})"


class ImportRecordAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"


class ImportRecord(models.Model):
    """A row an import of companies, deals, activities or spend created or changed: what
    undo takes back. (Contact imports have `Contact.source_import_id` and ImportChange.)

    `model` is the row's "app_label.model" (deals live in sales, which this app may not
    import); a change keeps {field: value before} and {field: value written}, as JSON.
    Imported activities are not listed one by one: they carry the job's id in their data.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    model = models.CharField(max_length=60)
    object_id = models.PositiveBigIntegerField()
    action = models.CharField(max_length=10, choices=ImportRecordAction.choices)
    previous = models.JSONField(default=dict, blank=True)
    written = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "model", "action"], name="import_record_job")]

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.object_id} (import #{self.job_id})"


class CandidateStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    MERGED = "merged", "Merged by a person"
    AUTO_MERGED = "auto_merged", "Merged automatically"
    # Not a duplicate: a person said so, or undid the merge. Later runs do not propose it again.
    DISMISSED = "dismissed", "Not a duplicate"


class DuplicateCandidate(models.Model):
    """A pair of contacts `leadflow dedupe` found alike, and what became of it.

    The contacts are plain ids, the lower one first: a merge deletes one of them and this row
    must stay as the record of the decision (and a dismissed pair must stay dismissed).
    """

    contact_a_id = models.PositiveBigIntegerField()
    contact_b_id = models.PositiveBigIntegerField(db_index=True)
    probability = models.FloatField()
    # {comparison: agreement level} as the matcher saw it ("name:first": "close"): why they match.
    levels = models.JSONField(default=dict, blank=True)
    fields = models.JSONField(default=list, blank=True)  # the fields the run matched on
    status = models.CharField(
        max_length=12, choices=CandidateStatus.choices, default=CandidateStatus.PENDING
    )
    merge = models.ForeignKey(
        "contacts.ContactMerge", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)  # the last run that proposed it

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_a_id", "contact_b_id"], name="one_candidate_per_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(contact_a_id__lt=models.F("contact_b_id")),
                name="candidate_pair_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-probability", "id"], name="candidate_queue"),
        ]

    def __str__(self) -> str:
        return f"Contacts {self.contact_a_id} and {self.contact_b_id} ({self.status})"
