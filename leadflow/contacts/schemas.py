"""What the contacts API reads and writes: bounded inputs, flat outputs.

Every input is bounded to what its column holds, so a bad request is a 422 here and never a
database error (a 500) later: lengths match the model, ids fit a bigint, text carries no NUL
(PostgreSQL refuses it) and JSON stays small, finite and encodable.
"""

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from ninja.errors import ValidationError
from pydantic import AfterValidator, ConfigDict, StringConstraints

from leadflow.contacts.models import ActivityKind, ConsentState, LifecycleStage
from leadflow.contacts.normalise import InvalidEmail, validate_email_address
from leadflow.contacts.selectors import CONTACT_SORTS, DEFAULT_SORT

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
# Attributes and activity data are free-form JSON; this keeps one row from growing without end.
MAX_JSON_CHARS = 16_384
MAX_JSON_DEPTH = 10
MAX_PAGE = 500

# A database id: positive and within a bigint, so no lookup overflows the driver.
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description="Rows per page, 1 to 500.")]
Score = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


def check_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a lone surrogate (JSON allows "\ud800") cannot be
    # encoded as UTF-8: either would fail in the database driver as a 500 instead of a 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def text(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> Any:
    """A trimmed string that fits a column of `max_length` characters."""
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=pattern
        ),
        AfterValidator(check_text),
    ]


def _upper(value: str) -> str:
    return value.upper()


# ISO 3166-1 alpha-2, or empty for "unknown"; stored upper-case.
Country = Annotated[text(2, pattern=r"^([A-Za-z]{2})?$"), AfterValidator(_upper)]


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        # json.loads accepts NaN and Infinity, but they are not JSON and PostgreSQL rejects them.
        raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def check_json_object(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value)
    if len(json.dumps(value)) > MAX_JSON_CHARS:
        raise ValueError(f"must be at most {MAX_JSON_CHARS} characters as JSON")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_object)]


def check_email(value: str | None) -> str | None:
    """The normalised address; empty means "no email" (the column is nullable)."""
    if value is None or not value.strip():
        return None
    try:
        return validate_email_address(value)
    except InvalidEmail as exc:
        raise ValueError(str(exc)) from None


Email = Annotated[text(254) | None, AfterValidator(check_email)]


def check_moment(value: datetime) -> datetime:
    # A naive time is read as UTC. Far-off years overflow when converted to UTC for storage.
    # The moment goes on in UTC: PostgreSQL refuses offsets beyond 15:59 that ISO 8601 and
    # Python allow ("+18:05").
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not 1900 <= value.year <= 2999:
        raise ValueError("must be between the years 1900 and 2999")
    return value.astimezone(UTC)


Moment = Annotated[datetime, AfterValidator(check_moment)]


def field_error(*loc: str | int, msg: str, kind: str = "value_error") -> ValidationError:
    """A 422 in the same shape as Ninja's own, for checks that need the database."""
    return ValidationError([{"type": kind, "loc": list(loc), "msg": msg}])


class InputSchema(Schema):
    # An unknown field is a client's mistake (a typo, a field of another version): say so.
    model_config = ConfigDict(extra="forbid")


# Outputs --------------------------------------------------------------------------------


class ValidationErrorOut(Schema):
    detail: list[dict[str, Any]] | str


class RefOut(Schema):
    id: int
    name: str


class UserRefOut(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.get_full_name() or obj.username


def _name_of(related: Any) -> str | None:
    return related.name if related is not None else None


class ContactOut(Schema):
    id: int
    email: str | None
    first_name: str
    last_name: str
    full_name: str
    phone: str
    job_title: str
    country: str
    company: RefOut | None
    owner: UserRefOut | None
    lifecycle_stage: str
    score: int
    consent: str
    consent_at: datetime | None
    attributes: dict[str, Any]
    external_id: str | None
    first_touch_channel: str | None = Field(None, description="Name of the first touch's channel.")
    first_touch_campaign: str | None = None
    last_touch_channel: str | None = None
    last_touch_campaign: str | None = None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_first_touch_channel(obj) -> str | None:
        return _name_of(obj.first_touch_channel)

    @staticmethod
    def resolve_first_touch_campaign(obj) -> str | None:
        return _name_of(obj.first_touch_campaign)

    @staticmethod
    def resolve_last_touch_channel(obj) -> str | None:
        return _name_of(obj.last_touch_channel)

    @staticmethod
    def resolve_last_touch_campaign(obj) -> str | None:
        return _name_of(obj.last_touch_campaign)

    @staticmethod
    def resolve_attributes(obj) -> dict[str, Any]:
        # Imports may have stored something other than an object; the API promises one.
        return obj.attributes if isinstance(obj.attributes, dict) else {"value": obj.attributes}


class ContactPageOut(Schema):
    items: list[ContactOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    prev_cursor: str | None = Field(
        description="Pass as `cursor` for the previous page; null on the first page."
    )


class ActivityOut(Schema):
    id: int
    kind: str
    occurred_at: datetime
    actor: UserRefOut | None
    channel: str | None = None
    campaign: str | None = None
    data: dict[str, Any] | list[Any] | str | int | float | bool | None

    @staticmethod
    def resolve_channel(obj) -> str | None:
        return _name_of(obj.channel)

    @staticmethod
    def resolve_campaign(obj) -> str | None:
        return _name_of(obj.campaign)


class StageChangeOut(Schema):
    id: int
    from_stage: str
    to_stage: str
    changed_at: datetime
    actor: UserRefOut | None
    source: str
    reason: str


class CompanyOut(Schema):
    id: int
    name: str
    domain: str | None
    industry: str
    size: int | None
    country: str
    external_id: str | None = Field(description="The company's id in the CRM it came from.")
    attributes: dict[str, Any] = Field(description="Custom attributes, e.g. from an import.")
    created_at: datetime
    updated_at: datetime


class CompanyPageOut(Schema):
    items: list[CompanyOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# Inputs ---------------------------------------------------------------------------------

ContactSort = Literal[tuple(CONTACT_SORTS)]  # type: ignore[valid-type]


class ContactListQuery(Schema):
    search: text(200) = Field(
        "", description="Words that must each appear in the email, a name or the company name."
    )
    stage: LifecycleStage | None = None
    owner: Id | None = Field(None, description="Only contacts owned by this user id.")
    unassigned: bool = Field(False, description="Only contacts without an owner.")
    channel: Id | None = Field(None, description="First-touch channel id.")
    campaign: Id | None = Field(None, description="First-touch campaign id.")
    company: Id | None = None
    score_min: Score | None = None
    score_max: Score | None = None
    sort: ContactSort = DEFAULT_SORT
    limit: Limit = 50
    cursor: text(1000) = Field("", description="`next_cursor` or `prev_cursor` of a page.")


class ContactIn(InputSchema):
    email: Email = None
    first_name: text(100) = ""
    last_name: text(100) = ""
    phone: text(32) = ""
    job_title: text(150) = ""
    country: Country = ""
    company_id: Id | None = None
    owner_id: Id | None = Field(
        None,
        description="Defaults to the caller when a sales rep creates the contact. "
        "Only managers and admins may name someone else.",
    )
    lifecycle_stage: LifecycleStage = LifecycleStage.LEAD
    score: Score = 0
    consent: ConsentState = ConsentState.UNKNOWN
    attributes: JsonObject = Field(default_factory=dict)
    external_id: text(100) | None = None


class ContactPatch(InputSchema):
    """Send only what changes. A field declared without `null` cannot be nulled (its column
    is not nullable); the default None here only means "not sent"."""

    email: Email = None
    first_name: text(100) = None
    last_name: text(100) = None
    phone: text(32) = None
    job_title: text(150) = None
    country: Country = None
    company_id: Id | None = None
    owner_id: Id | None = None
    lifecycle_stage: LifecycleStage = None
    stage_reason: text(2000) = Field(
        None, description="Why the lifecycle stage changes; kept in the stage history."
    )
    consent: ConsentState = None
    attributes: JsonObject = None
    external_id: text(100) | None = None


# Kinds an integration or a person may log. The others (created, stage changed, deal won...)
# are written by the services that make those changes, so the timeline cannot be told a
# stage changed when it did not.
LoggableKind = Literal[
    ActivityKind.PAGE_VIEW.value,
    ActivityKind.FORM_SUBMITTED.value,
    ActivityKind.EMAIL_SENT.value,
    ActivityKind.EMAIL_OPENED.value,
    ActivityKind.EMAIL_CLICKED.value,
    ActivityKind.CALL.value,
    ActivityKind.NOTE.value,
    ActivityKind.MEETING.value,
    ActivityKind.CUSTOM.value,
]


class ActivityIn(InputSchema):
    kind: LoggableKind
    occurred_at: Moment | None = Field(None, description="Defaults to now; naive times are UTC.")
    data: JsonObject = Field(default_factory=dict)


class TimelineQuery(Schema):
    kind: list[ActivityKind] | None = Field(None, description="Only these kinds.")
    limit: Limit = 50


class HistoryQuery(Schema):
    limit: Limit = 100


class CompanyListQuery(Schema):
    search: text(200) = Field("", description="Words that must each appear in name or domain.")
    limit: Limit = 50
    cursor: Id | None = Field(None, description="`next_cursor` of the previous page.")


class CompanyIn(InputSchema):
    name: text(200, min_length=1)
    domain: text(253, pattern=r"^[^\s/]*$") | None = None
    industry: text(100) = ""
    size: Annotated[int, Field(ge=0, le=INT_MAX)] | None = None
    country: Country = ""
    attributes: JsonObject = Field(default_factory=dict)


class CompanyPatch(InputSchema):
    name: text(200, min_length=1) = None
    domain: text(253, pattern=r"^[^\s/]*$") | None = None
    industry: text(100) = None
    size: Annotated[int, Field(ge=0, le=INT_MAX)] | None = None
    country: Country = None
    attributes: JsonObject = Field(None, description="Replaces the stored custom attributes.")
