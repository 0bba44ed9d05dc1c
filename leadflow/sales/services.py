"""Writes to deals. Winning or losing records the date and reason and tells the timeline."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.contacts.models import ActivityKind, Contact
from leadflow.contacts.services import record_activity
from leadflow.errors import LeadflowError
from leadflow.sales import events
from leadflow.sales.models import Deal, DealStage

DEAL_FIELDS = (
    "name",
    "company",
    "owner",
    "amount",
    "currency",
    "expected_close_on",
    "stage",
    "attributes",
)


class InvalidDeal(LeadflowError):
    status_code = 422


def _emit(signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(Deal, **kwargs))


@transaction.atomic
def create_deal(*, contact: Contact, actor: User | None, **fields: Any) -> Deal:
    stage = fields.pop("stage", DealStage.QUALIFICATION)
    lost_reason = fields.pop("lost_reason", "")
    fields.setdefault("company", contact.company)
    fields.setdefault("owner", contact.owner)
    if fields.get("amount") is not None and Decimal(fields["amount"]) < 0:
        raise InvalidDeal("amount: a deal cannot be worth less than nothing.")
    deal = Deal.objects.create(contact=contact, **fields)
    record_activity(
        contact=contact,
        kind=ActivityKind.DEAL_CREATED,
        actor=actor,
        data={
            "deal_id": deal.pk,
            "name": deal.name,
            "amount": str(deal.amount),
            "currency": deal.currency,
        },
    )
    _emit(events.deal_created, deal_id=deal.pk, contact_id=contact.pk)
    if stage != DealStage.QUALIFICATION:
        move_deal(deal=deal, stage=stage, actor=actor, lost_reason=lost_reason)
    return deal


@transaction.atomic
def move_deal(*, deal: Deal, stage: str, actor: User | None, lost_reason: str = "") -> Deal:
    if stage not in DealStage.values:
        raise InvalidDeal(f"stage: unknown deal stage {stage!r}")
    if stage == deal.stage:
        return deal
    now = timezone.now()
    deal.stage = stage
    deal.won_at = now if stage == DealStage.WON else None
    deal.lost_at = now if stage == DealStage.LOST else None
    deal.lost_reason = lost_reason if stage == DealStage.LOST else ""
    deal.save()
    if stage == DealStage.WON:
        record_activity(
            contact=deal.contact,
            kind=ActivityKind.DEAL_WON,
            actor=actor,
            data={"deal_id": deal.pk, "amount": str(deal.amount), "currency": deal.currency},
        )
        _emit(
            events.deal_won,
            deal_id=deal.pk,
            contact_id=deal.contact_id,
            amount=str(deal.amount),
            currency=deal.currency,
        )
    elif stage == DealStage.LOST:
        record_activity(
            contact=deal.contact,
            kind=ActivityKind.DEAL_LOST,
            actor=actor,
            data={"deal_id": deal.pk, "reason": lost_reason},
        )
        _emit(events.deal_lost, deal_id=deal.pk, contact_id=deal.contact_id, reason=lost_reason)
    return deal


@transaction.atomic
def update_deal(*, deal: Deal, actor: User | None, **changes: Any) -> Deal:
    stage = changes.pop("stage", None)
    lost_reason = changes.pop("lost_reason", None)
    unknown = set(changes) - set(DEAL_FIELDS)
    if unknown:
        raise InvalidDeal(f"These fields cannot be changed: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(deal, field, value)
    if lost_reason is not None and deal.stage == DealStage.LOST and stage in (None, deal.stage):
        # Correcting why a lost deal was lost is an edit, not a move.
        deal.lost_reason = lost_reason
    deal.save()
    if stage is not None:
        move_deal(deal=deal, stage=stage, actor=actor, lost_reason=lost_reason or "")
    return deal


@transaction.atomic
def delete_deal(*, deal: Deal, actor: User | None) -> None:
    deal.delete()
