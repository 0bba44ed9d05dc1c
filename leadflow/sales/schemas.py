"""What the deals API reads and writes. Bounds as in contacts.schemas: a 422, never a 500."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator

from leadflow.contacts.schemas import (
    Id,
    InputSchema,
    JsonObject,
    Limit,
    RefOut,
    UserRefOut,
    text,
)
from leadflow.sales.models import DealStage

CENTS = Decimal("0.01")

# Deal.amount is DECIMAL(14, 2) and may not be negative (a check constraint says so too).
# Quantised, so the answer to a write shows the amount as every later read will.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    AfterValidator(lambda amount: amount.quantize(CENTS)),
]


def _upper(value: str) -> str:
    return value.upper()


Currency = Annotated[
    text(3, min_length=3, pattern=r"^[A-Za-z]{3}$"),
    AfterValidator(_upper),
    Field(description="ISO 4217 code, e.g. USD."),
]


class ContactRefOut(Schema):
    id: int
    email: str | None
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.full_name


class DealOut(Schema):
    id: int
    name: str
    contact: ContactRefOut
    company: RefOut | None
    owner: UserRefOut | None
    amount: Decimal
    currency: str
    stage: str
    expected_close_on: date | None
    won_at: datetime | None
    lost_at: datetime | None
    lost_reason: str
    external_id: str | None = Field(description="The deal's id in the CRM it came from.")
    attributes: dict[str, Any] = Field(description="Custom attributes, e.g. from an import.")
    created_at: datetime
    updated_at: datetime


class DealPageOut(Schema):
    items: list[DealOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class DealListQuery(Schema):
    contact: Id | None = Field(None, description="Only this contact's deals.")
    stage: DealStage | None = None
    limit: Limit = 50
    cursor: Id | None = Field(None, description="`next_cursor` of the previous page.")


LOST_REASON_HELP = (
    "Why the deal was lost: required when the stage becomes lost; on a lost deal, corrects it."
)


ATTRIBUTES_HELP = "Custom attributes as one JSON object; sent, it replaces the stored one."


class DealIn(InputSchema):
    name: text(200, min_length=1)
    contact_id: Id
    company_id: Id | None = Field(None, description="Defaults to the contact's company.")
    owner_id: Id | None = Field(
        None,
        description="Defaults to the contact's owner. Only managers and admins may name "
        "someone other than themselves.",
    )
    amount: Amount = Decimal("0")
    currency: Currency = "USD"
    stage: DealStage = DealStage.QUALIFICATION
    expected_close_on: date | None = None
    lost_reason: text(200) = Field("", description=LOST_REASON_HELP)
    attributes: JsonObject = Field(default_factory=dict, description=ATTRIBUTES_HELP)


class DealPatch(InputSchema):
    """Send only what changes; None here means "not sent", and only nullable fields take null."""

    name: text(200, min_length=1) = None
    company_id: Id | None = None
    owner_id: Id | None = None
    amount: Amount = None
    currency: Currency = None
    stage: DealStage = None
    expected_close_on: date | None = None
    lost_reason: text(200) = Field(None, description=LOST_REASON_HELP)
    attributes: JsonObject = Field(None, description=ATTRIBUTES_HELP)
