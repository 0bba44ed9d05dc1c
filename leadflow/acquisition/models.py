"""Imports of bought lists and history: one ImportJob row per run, so the UI can show history."""

from django.conf import settings
from django.db import models


class ImportKind(models.TextChoices):
    CONTACTS = "contacts", "Contacts"
    COMPANIES = "companies", "Companies"
    DEALS = "deals", "Deals"
    ACTIVITIES = "activities", "Activities"
    SPEND = "spend", "Spend"


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


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
    rejects_path = models.CharField(max_length=500, blank=True)
    cost_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    cost_per_new_lead = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    # The whole report as printed by `--format json`: rejects by reason, examples, timings.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at", "-id"], name="import_job_newest")]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.file_name} ({self.status})"
