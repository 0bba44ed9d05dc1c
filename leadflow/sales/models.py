"""Deals: what a contact may buy, for how much, and how it ended."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DealStage(models.TextChoices):
    QUALIFICATION = "qualification", "Qualification"
    DISCOVERY = "discovery", "Discovery"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_DEAL_STAGES = [
    DealStage.QUALIFICATION,
    DealStage.DISCOVERY,
    DealStage.PROPOSAL,
    DealStage.NEGOTIATION,
]


class Deal(models.Model):
    name = models.CharField(max_length=200)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="deals")
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(
        max_length=20, choices=DealStage.choices, default=DealStage.QUALIFICATION
    )
    expected_close_on = models.DateField(null=True, blank=True)
    won_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(max_length=200, blank=True)
    # The opportunity's id in the CRM it came from: what a re-import matches first.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-created_at"], name="deal_of_contact"),
            models.Index(fields=["stage", "expected_close_on"], name="deal_stage_close"),
            models.Index(fields=["won_at"], name="deal_won_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="deal_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(stage="won") | models.Q(won_at__isnull=False),
                name="won_deal_has_won_at",
            ),
            models.CheckConstraint(
                condition=~models.Q(stage="lost") | models.Q(lost_at__isnull=False),
                name="lost_deal_has_lost_at",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_DEAL_STAGES
