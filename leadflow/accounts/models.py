"""Who works in Leadflow and what each may see: users, roles, teams, API keys, settings."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETING = "marketing", "Marketing"
    SALES_MANAGER = "sales_manager", "Sales manager"
    SALES_REP = "sales_rep", "Sales rep"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SALES_REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # How many open leads routing may give this rep at once (used by routing rules later).
    lead_capacity = models.PositiveIntegerField(default=200)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_rep(self) -> bool:
        """A rep sees only their own leads; everyone else sees the whole workspace."""
        return self.role == Role.SALES_REP and not self.is_superuser

    @property
    def is_workspace_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def can_assign_leads(self) -> bool:
        """Managers and admins route leads to reps; reps and marketing do not hand contacts
        (or deals) to someone else. The pages and the API both ask this."""
        return self.is_workspace_admin or self.role == Role.SALES_MANAGER

    @property
    def can_delete_records(self) -> bool:
        """Reps may not delete contacts or companies: they carry the workspace's history
        (touches, spend, attribution), so removing one is for marketing, managers, admins."""
        return not self.is_rep


class Workspace(models.Model):
    """The settings of this Leadflow installation. There is one row (pk=1)."""

    name = models.CharField(max_length=100, default="My workspace")
    default_currency = models.CharField(max_length=3, default="USD")
    reps_see_unassigned = models.BooleanField(
        default=True, help_text="Sales reps may see and work leads that have no owner yet."
    )

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A machine's credential. The secret is shown once; only its SHA-256 is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    # The public part of the key, so a key is found by an indexed lookup, not by hashing
    # the secret against every row.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name or 'key'} ({self.prefix}…) for {self.user}"
