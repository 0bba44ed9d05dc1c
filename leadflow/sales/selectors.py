"""Reads about deals, limited to what the user may see."""

from django.db.models import QuerySet

from leadflow.accounts.models import User
from leadflow.contacts.selectors import list_visible_contacts
from leadflow.sales.models import Deal


def list_visible_deals(*, user: User) -> QuerySet[Deal]:
    """A rep sees the deals of the contacts they may see; everyone else sees all."""
    deals = Deal.objects.select_related("contact", "company", "owner")
    if user.is_rep:
        deals = deals.filter(contact__in=list_visible_contacts(user=user))
    return deals


def list_contact_deals(*, contact_id: int) -> QuerySet[Deal]:
    return (
        Deal.objects.filter(contact_id=contact_id)
        .select_related("owner")
        .order_by("-created_at", "-id")
    )
