"""Reads about contacts: what a user may see, the list's filters, keyset pages, the timeline."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower

from leadflow.accounts.models import User
from leadflow.accounts.selectors import get_workspace
from leadflow.contacts.models import Activity, Company, ConsentState, Contact, StageChange

# Sort keys a list may ask for, each a column that, with the id as tie-breaker, has an index.
CONTACT_SORTS = {
    "newest": ("created_at", True),
    "oldest": ("created_at", False),
    "score": ("score", True),
    "score_asc": ("score", False),
    "name": ("last_name", False),
    "name_desc": ("last_name", True),
    "updated": ("updated_at", True),
}
DEFAULT_SORT = "newest"
# Counting past this many rows costs more than a person gains from the exact figure.
COUNT_CAP = 10_000
# A search's count stops sooner: a common word ("Smith", 7% of contacts) has tens of
# thousands of matches, and finding 10,000 of them costs more than the page itself;
# "1,000+" says as much to someone narrowing a search down.
SEARCH_COUNT_CAP = 1_000
# A search word this long matches anywhere; a shorter one at the start of a word.
SEARCH_SUBSTRING_MIN = 3


def list_visible_contacts(*, user: User) -> QuerySet[Contact]:
    """The contacts this user may see and edit: reps their own (and unassigned ones when the
    workspace allows it); marketing, managers and admins everything."""
    contacts = Contact.objects.all()
    if not user.is_authenticated or not user.is_active:
        return contacts.none()
    if user.is_rep:
        mine = Q(owner=user)
        if get_workspace().reps_see_unassigned:
            mine |= Q(owner__isnull=True)
        contacts = contacts.filter(mine)
    return contacts


def can_edit_contact(*, user: User, contact: Contact) -> bool:
    return list_visible_contacts(user=user).filter(pk=contact.pk).exists()


@dataclass(frozen=True)
class ContactFilter:
    """The list's filters, shared by the pages and the API so both answer alike."""

    search: str = ""
    stage: str = ""
    owner: int | None = None
    unassigned: bool = False
    channel: int | None = None
    campaign: int | None = None
    company: int | None = None
    score_min: int | None = None
    score_max: int | None = None

    def apply(self, contacts: QuerySet[Contact]) -> QuerySet[Contact]:
        if self.search:
            contacts = search_contacts(contacts, self.search)
        if self.stage:
            contacts = contacts.filter(lifecycle_stage=self.stage)
        if self.unassigned:
            contacts = contacts.filter(owner__isnull=True)
        elif self.owner is not None:
            contacts = contacts.filter(owner_id=self.owner)
        if self.channel is not None:
            contacts = contacts.filter(first_touch_channel_id=self.channel)
        if self.campaign is not None:
            contacts = contacts.filter(first_touch_campaign_id=self.campaign)
        if self.company is not None:
            contacts = contacts.filter(company_id=self.company)
        if self.score_min is not None:
            contacts = contacts.filter(score__gte=self.score_min)
        if self.score_max is not None:
            contacts = contacts.filter(score__lte=self.score_max)
        return contacts

    @property
    def active(self) -> bool:
        return any(
            (
                self.search,
                self.stage,
                self.owner is not None,
                self.unassigned,
                self.channel is not None,
                self.campaign is not None,
                self.company is not None,
                self.score_min is not None,
                self.score_max is not None,
            )
        )


def search_contacts(contacts: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """Every word must appear, in any case, in the email, the first or last name or the
    company's name, all held lower-cased in `Contact.search_text` (kept by the database,
    migration 0007): a word of three letters or more anywhere (`LIKE '%word%'`), a shorter
    one at the start of one of those ("jo" finds Jones and Jo, not Bjorn). Trigrams index
    both forms on PostgreSQL, while a one- or two-letter substring could only be found by
    reading every contact. The word is lower-cased by the database's lower(), which the
    triggers use, so both sides fold case alike (SQLite folds ASCII letters only)."""
    for word in text.split()[:5]:
        word = word[:100]
        if len(word) >= SEARCH_SUBSTRING_MIN:
            contacts = contacts.filter(search_text__contains=Lower(Value(word)))
        else:
            contacts = contacts.filter(
                Q(search_text__startswith=Lower(Value(word)))
                | Q(search_text__contains=Lower(Value(" " + word)))
            )
    return contacts


class InvalidCursor(ValueError):
    pass


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("This page link is no longer valid.") from exc
    if not isinstance(values, list) or len(values) != 2 or not isinstance(values[1], int):
        raise InvalidCursor("This page link is no longer valid.")
    return values


def _cursor_values(values: list[Any], field: str) -> tuple[Any, int]:
    """The cursor's sort value as the column's type; a link edited by hand, or made for
    another sort, is refused instead of reaching the database as the wrong type."""
    value, last_id = values
    try:
        if field.endswith("_at"):
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError("naive time")
        elif field == "score":
            if type(value) is not int:
                raise ValueError("not an integer")
        elif not isinstance(value, str):
            raise ValueError("not text")
    except (TypeError, ValueError) as exc:
        raise InvalidCursor("This page link is no longer valid.") from exc
    if not 0 < last_id < 2**63:
        raise InvalidCursor("This page link is no longer valid.")
    return value, last_id


@dataclass
class Page:
    items: list
    next_cursor: str | None
    prev_cursor: str | None


def paginate_contacts(
    contacts: QuerySet[Contact],
    *,
    sort: str = DEFAULT_SORT,
    cursor: str = "",
    limit: int = 50,
    backwards: bool = False,
) -> Page:
    """One page in keyset order: the query seeks to the cursor through the sort's index
    instead of skipping OFFSET rows, so page 20,000 costs what page 1 does."""
    field, descending = CONTACT_SORTS.get(sort, CONTACT_SORTS[DEFAULT_SORT])
    # Reading backwards (the "previous" link) walks the same index the other way.
    walk_desc = descending != backwards
    if cursor:
        value, last_id = _cursor_values(decode_cursor(cursor), field)
        op = "lt" if walk_desc else "gt"
        bound = "lte" if walk_desc else "gte"
        # `field <= v` bounds the index scan; the OR only breaks ties within v.
        contacts = contacts.filter(**{f"{field}__{bound}": value}).filter(
            Q(**{f"{field}__{op}": value}) | Q(**{"id__" + op: last_id})
        )
    prefix = "-" if walk_desc else ""
    rows = list(contacts.order_by(f"{prefix}{field}", f"{prefix}id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    if not rows:
        return Page(items=[], next_cursor=None, prev_cursor=None)

    def key(contact: Contact) -> str:
        return encode_cursor([getattr(contact, field), contact.pk])

    has_next = more if not backwards else True
    has_prev = bool(cursor) if not backwards else more
    return Page(
        items=rows,
        next_cursor=key(rows[-1]) if has_next else None,
        prev_cursor=key(rows[0]) if has_prev else None,
    )


def count_contacts_capped(contacts: QuerySet[Contact], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many, up to `cap`; the flag says the true figure is larger."""
    count = contacts.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


def list_timeline(
    *, contact: Contact, kinds: list[str] | None = None, limit: int = 50
) -> QuerySet[Activity]:
    """The contact's latest activities, newest first, through the timeline index."""
    activities = Activity.objects.filter(contact=contact).select_related(
        "actor", "channel", "campaign"
    )
    if kinds:
        activities = activities.filter(kind__in=kinds)
    return activities.order_by("-occurred_at", "-id")[:limit]


def list_stage_history(*, contact: Contact) -> QuerySet[StageChange]:
    return contact.stage_changes.select_related("actor").order_by("-changed_at", "-id")


def list_companies(*, search: str = "") -> QuerySet[Company]:
    companies = Company.objects.all()
    for word in search.split()[:5]:
        companies = companies.filter(Q(name__icontains=word) | Q(domain__icontains=word))
    return companies.order_by("name", "id")


def list_marketable_contacts() -> QuerySet[Contact]:
    """Who may receive marketing email: a confirmed consent and an address. Nurture sends
    through this and nothing else, so a contact who never agreed is never mailed."""
    return Contact.objects.filter(consent=ConsentState.GRANTED, email__isnull=False)
