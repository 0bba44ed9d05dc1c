"""/api/v1/deals: parse, load what the user may see, call a sales service, return.

A rep sees the deals of the contacts they may see; any other deal answers 404, as if it did
not exist, like contacts do.
"""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from leadflow.contacts.api import READ, WRITE, resolve_company, resolve_owner
from leadflow.contacts.schemas import Id, field_error
from leadflow.contacts.selectors import list_visible_contacts
from leadflow.sales import selectors, services
from leadflow.sales.models import Deal, DealStage
from leadflow.sales.schemas import DealIn, DealListQuery, DealOut, DealPageOut, DealPatch

router = Router(tags=["deals"])


def get_visible_deal(request: HttpRequest, deal_id: int) -> Deal:
    return get_object_or_404(selectors.list_visible_deals(user=request.auth), pk=deal_id)


def check_lost_reason(*, was_lost: bool, will_be_lost: bool, lost_reason: str | None) -> None:
    """A lost deal says why (the reports group losses by reason); only a lost deal has one.
    `lost_reason` is None when not sent; sent to a deal that stays lost, it corrects it."""
    loc = ("body", "payload", "lost_reason")
    if will_be_lost and (lost_reason == "" or (lost_reason is None and not was_lost)):
        raise field_error(*loc, msg="Say why the deal was lost.")
    if lost_reason and not will_be_lost:
        raise field_error(*loc, msg="Only a lost deal has a lost reason.")


@router.get("/deals", response={200: DealPageOut, **READ})
def list_deals(request: HttpRequest, query: Query[DealListQuery]) -> dict:
    """Deals the caller may see, newest first, one keyset page at a time."""
    deals = selectors.list_visible_deals(user=request.auth).order_by("-id")
    if query.contact is not None:
        deals = deals.filter(contact_id=query.contact)
    if query.stage is not None:
        deals = deals.filter(stage=query.stage)
    if query.cursor is not None:
        deals = deals.filter(pk__lt=query.cursor)
    rows = list(deals[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {"items": rows, "next_cursor": str(rows[-1].pk) if more else None}


@router.post("/deals", response={201: DealOut, **WRITE})
def create_deal(request: HttpRequest, payload: DealIn) -> Status[Deal]:
    """A deal for a contact the caller may see; company and owner default to the contact's."""
    actor = request.auth
    contact = (
        list_visible_contacts(user=actor)
        .select_related("company", "owner")
        .filter(pk=payload.contact_id)
        .first()
    )
    if contact is None:
        # The same answer for "no such contact" and "not yours": nothing leaks.
        raise field_error(
            "body", "payload", "contact_id", msg="No contact you can see has this id."
        )
    check_lost_reason(
        was_lost=False,
        will_be_lost=payload.stage == DealStage.LOST,
        lost_reason=payload.lost_reason or None,
    )
    fields = payload.dict(exclude={"contact_id", "company_id", "owner_id"})
    if "company_id" in payload.model_fields_set:
        fields["company"] = resolve_company(payload.company_id, "body", "payload", "company_id")
    if "owner_id" in payload.model_fields_set:
        fields["owner"] = resolve_owner(actor, payload.owner_id, "body", "payload", "owner_id")
    return Status(201, services.create_deal(contact=contact, actor=actor, **fields))


@router.get("/deals/{deal_id}", response={200: DealOut, **READ})
def get_deal(request: HttpRequest, deal_id: Id) -> Deal:
    return get_visible_deal(request, deal_id)


@router.patch("/deals/{deal_id}", response={200: DealOut, **WRITE})
def update_deal(request: HttpRequest, deal_id: Id, payload: DealPatch) -> Deal:
    """Change what is sent; a new stage goes through the pipeline rules (won, lost + reason)."""
    actor = request.auth
    deal = get_visible_deal(request, deal_id)
    changes = payload.dict(exclude_unset=True)
    check_lost_reason(
        was_lost=deal.stage == DealStage.LOST,
        will_be_lost=changes.get("stage", deal.stage) == DealStage.LOST,
        lost_reason=changes.get("lost_reason"),
    )
    if "company_id" in changes:
        changes["company"] = resolve_company(
            changes.pop("company_id"), "body", "payload", "company_id"
        )
    if "owner_id" in changes:
        changes["owner"] = resolve_owner(
            actor, changes.pop("owner_id"), "body", "payload", "owner_id"
        )
    return services.update_deal(deal=deal, actor=actor, **changes)


@router.delete("/deals/{deal_id}", response={204: None, **READ})
def delete_deal(request: HttpRequest, deal_id: Id) -> Status[None]:
    deal = get_visible_deal(request, deal_id)
    services.delete_deal(deal=deal, actor=request.auth)
    return Status(204, None)
