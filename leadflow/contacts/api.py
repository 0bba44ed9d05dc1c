"""/api/v1/contacts and /api/v1/companies: parse, load what the user may see, call, return.

Visibility is the whole permission model for contacts: every endpoint loads rows through
`list_visible_contacts`, so a contact a rep may not see answers 404, exactly as one that does
not exist (a 403 would tell them it does).
"""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from leadflow.accounts.models import User
from leadflow.accounts.selectors import list_active_reps
from leadflow.contacts import selectors, services
from leadflow.contacts.models import Activity, Company, Contact, StageChange
from leadflow.contacts.schemas import (
    BIGINT_MAX,
    INT_MAX,
    ActivityIn,
    ActivityOut,
    CompanyIn,
    CompanyListQuery,
    CompanyOut,
    CompanyPageOut,
    CompanyPatch,
    ContactIn,
    ContactListQuery,
    ContactOut,
    ContactPageOut,
    ContactPatch,
    HistoryQuery,
    Id,
    StageChangeOut,
    TimelineQuery,
    ValidationErrorOut,
    check_text,
    field_error,
)
from leadflow.errors import ErrorOut, NotAllowed

router = Router(tags=["contacts"])

READ = {401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
WRITE = {**READ, 403: ErrorOut, 409: ErrorOut}

# Everything ContactOut shows from other tables, fetched in the same query.
CONTACT_RELATED = (
    "company",
    "owner",
    "first_touch_channel",
    "first_touch_campaign",
    "last_touch_channel",
    "last_touch_campaign",
)
# A cursor for the previous page carries this prefix, so one `cursor` parameter serves both
# directions and the client never has to say which way it is going.
PREV = "prev."


def visible_contacts(request: HttpRequest) -> QuerySet[Contact]:
    return selectors.list_visible_contacts(user=request.auth).select_related(*CONTACT_RELATED)


def get_visible_contact(request: HttpRequest, contact_id: int) -> Contact:
    return get_object_or_404(visible_contacts(request), pk=contact_id)


def resolve_owner(actor: User, owner_id: int | None, *loc: str) -> User | None:
    """The user to own a contact or deal. Reps and marketing may only name themselves."""
    if owner_id is None:
        return None
    if owner_id != actor.pk and not actor.can_assign_leads:
        raise NotAllowed("Only sales managers and admins may assign work to someone else.")
    owner = list_active_reps().filter(pk=owner_id).first()
    if owner is None:
        raise field_error(*loc, msg="No active sales rep or manager has this id.")
    return owner


def resolve_company(company_id: int | None, *loc: str) -> Company | None:
    if company_id is None:
        return None
    company = selectors.list_companies().filter(pk=company_id).first()
    if company is None:
        raise field_error(*loc, msg="No company has this id.")
    return company


def read_contact_cursor(cursor: str, sort: str) -> tuple[str, bool]:
    """The selector's cursor and its direction, once its values are known to fit the sort.

    A cursor comes back from the client, so anything may be in it; a value of the wrong type
    or range would otherwise fail in the database instead of as a 422.
    """
    backwards = cursor.startswith(PREV)
    key = cursor.removeprefix(PREV)
    if not key:
        return "", False
    invalid = field_error("query", "cursor", msg="This page link is no longer valid.")
    try:
        value, last_id = selectors.decode_cursor(key)
    except selectors.InvalidCursor:
        raise invalid from None
    field_name, _ = selectors.CONTACT_SORTS[sort]
    field = Contact._meta.get_field(field_name)
    if isinstance(last_id, bool) or not 1 <= last_id <= BIGINT_MAX:
        raise invalid
    if field.get_internal_type() == "DateTimeField":
        ok = isinstance(value, str) and _is_storable_moment(value)
    elif field.get_internal_type() == "IntegerField":
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT_MAX
    else:
        ok = isinstance(value, str) and len(value) <= field.max_length and _is_text(value)
    if not ok:
        raise invalid
    return key, backwards


def _is_storable_moment(value: str) -> bool:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None and 1900 <= moment.year <= 2999


def _is_text(value: str) -> bool:
    try:
        check_text(value)
    except ValueError:
        return False
    return True


# Contacts ---------------------------------------------------------------------------------


@router.get("/contacts", response={200: ContactPageOut, **READ})
def list_contacts(request: HttpRequest, query: Query[ContactListQuery]) -> dict:
    """Contacts the caller may see, filtered, one keyset page at a time."""
    key, backwards = read_contact_cursor(query.cursor, query.sort)
    filters = selectors.ContactFilter(
        **query.dict(exclude={"sort", "limit", "cursor"}, exclude_none=True)
    )
    try:
        page = selectors.paginate_contacts(
            filters.apply(visible_contacts(request)),
            sort=query.sort,
            cursor=key,
            limit=query.limit,
            backwards=backwards,
        )
    except selectors.InvalidCursor as exc:
        raise field_error("query", "cursor", msg=str(exc)) from None
    return {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "prev_cursor": PREV + page.prev_cursor if page.prev_cursor else None,
    }


@router.post("/contacts", response={201: ContactOut, **WRITE})
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[Contact]:
    """A new contact; 409 when its email or external id is taken."""
    actor = request.auth
    fields = payload.dict(exclude={"company_id", "owner_id"})
    fields["company"] = resolve_company(payload.company_id, "body", "payload", "company_id")
    # A rep's new contact is theirs unless they say otherwise, so they can go on working it.
    owner_id = payload.owner_id
    if "owner_id" not in payload.model_fields_set and actor.is_rep:
        owner_id = actor.pk
    fields["owner"] = resolve_owner(actor, owner_id, "body", "payload", "owner_id")
    return Status(201, services.create_contact(actor=actor, source="api", **fields))


@router.get("/contacts/{contact_id}", response={200: ContactOut, **READ})
def get_contact(request: HttpRequest, contact_id: Id) -> Contact:
    return get_visible_contact(request, contact_id)


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **WRITE})
def update_contact(request: HttpRequest, contact_id: Id, payload: ContactPatch) -> Contact:
    """Change what is sent: profile fields, lifecycle stage (with a reason) and owner."""
    actor = request.auth
    contact = get_visible_contact(request, contact_id)
    changes = payload.dict(exclude_unset=True)
    stage = changes.pop("lifecycle_stage", None)
    reason = changes.pop("stage_reason", None) or ""
    if reason and stage is None:
        raise field_error(
            "body", "payload", "stage_reason", msg="Send it with the new lifecycle_stage."
        )
    if "company_id" in changes:
        changes["company"] = resolve_company(
            changes.pop("company_id"), "body", "payload", "company_id"
        )
    new_owner = "owner_id" in changes
    if new_owner:
        owner = resolve_owner(actor, changes.pop("owner_id"), "body", "payload", "owner_id")
    # One request, one outcome: a taken email must not leave the stage half changed.
    with transaction.atomic():
        if changes:
            services.update_contact(contact=contact, actor=actor, **changes)
        if stage is not None:
            services.change_stage(
                contact=contact, to_stage=stage, actor=actor, reason=reason, source="api"
            )
        if new_owner:
            services.assign_owner(contact=contact, owner=owner, actor=actor)
    return contact


@router.delete("/contacts/{contact_id}", response={204: None, **READ})
def delete_contact(request: HttpRequest, contact_id: Id) -> Status[None]:
    contact = get_visible_contact(request, contact_id)
    services.delete_contact(contact=contact, actor=request.auth)
    return Status(204, None)


@router.get("/contacts/{contact_id}/activities", response={200: list[ActivityOut], **READ})
def list_activities(
    request: HttpRequest, contact_id: Id, query: Query[TimelineQuery]
) -> list[Activity]:
    """The contact's timeline, newest first."""
    contact = get_visible_contact(request, contact_id)
    return list(selectors.list_timeline(contact=contact, kinds=query.kind, limit=query.limit))


@router.post("/contacts/{contact_id}/activities", response={201: ActivityOut, **WRITE})
def record_activity(request: HttpRequest, contact_id: Id, payload: ActivityIn) -> Status[Activity]:
    """Append to the timeline: a call, a meeting, a page view from your own site..."""
    contact = get_visible_contact(request, contact_id)
    activity = services.record_activity(
        contact=contact,
        kind=payload.kind,
        actor=request.auth,
        data=payload.data,
        occurred_at=payload.occurred_at,
    )
    return Status(201, activity)


@router.get("/contacts/{contact_id}/stage-history", response={200: list[StageChangeOut], **READ})
def list_stage_history(
    request: HttpRequest, contact_id: Id, query: Query[HistoryQuery]
) -> list[StageChange]:
    """Every lifecycle stage change, newest first: who or what made it, and why."""
    contact = get_visible_contact(request, contact_id)
    return list(selectors.list_stage_history(contact=contact)[: query.limit])


# Companies --------------------------------------------------------------------------------


@router.get("/companies", response={200: CompanyPageOut, **READ}, tags=["companies"])
def list_companies(request: HttpRequest, query: Query[CompanyListQuery]) -> dict:
    """Companies in id order, one keyset page at a time."""
    companies = selectors.list_companies(search=query.search).order_by("id")
    if query.cursor is not None:
        companies = companies.filter(pk__gt=query.cursor)
    rows = list(companies[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {"items": rows, "next_cursor": str(rows[-1].pk) if more else None}


@router.post("/companies", response={201: CompanyOut, **WRITE}, tags=["companies"])
def create_company(request: HttpRequest, payload: CompanyIn) -> Status[Company]:
    """A new company; 409 when its domain is taken."""
    return Status(201, services.create_company(actor=request.auth, **payload.dict()))


@router.get("/companies/{company_id}", response={200: CompanyOut, **READ}, tags=["companies"])
def get_company(request: HttpRequest, company_id: Id) -> Company:
    return get_object_or_404(selectors.list_companies(), pk=company_id)


@router.patch("/companies/{company_id}", response={200: CompanyOut, **WRITE}, tags=["companies"])
def update_company(request: HttpRequest, company_id: Id, payload: CompanyPatch) -> Company:
    company = get_object_or_404(selectors.list_companies(), pk=company_id)
    changes = payload.dict(exclude_unset=True)
    return services.update_company(company=company, actor=request.auth, **changes)


@router.delete("/companies/{company_id}", response={204: None, **WRITE}, tags=["companies"])
def delete_company(request: HttpRequest, company_id: Id) -> Status[None]:
    """Its contacts and deals stay, without a company. Sales reps may not delete companies."""
    company = get_object_or_404(selectors.list_companies(), pk=company_id)
    services.delete_company(company=company, actor=request.auth)
    return Status(204, None)
