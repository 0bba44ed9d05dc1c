"""Which fields a dedupe matches on, and how each one is compared."""

import re
from dataclasses import dataclass

from leadflow.errors import LeadflowError

# How a field is normalised, blocked on and compared:
#   email  lower-cased; exact or one typo; its own blocking key
#   phone  digits only, the last 9 (country and trunk prefixes differ); exact or one typo
#   name   a person's first and last name, compared as a pair that may be swapped
#   text   free text (company, street, town): Jaro-Winkler levels
#   code   short identifiers (postcode, birth date, national id): exact, 1 or 2 edits
#   exact  a small vocabulary (country, state): equal or not
KINDS = ("email", "phone", "name", "text", "code", "exact")


class UnknownField(LeadflowError):
    """A field name that is neither a contact field nor `attr.NAME`."""


@dataclass(frozen=True)
class Field:
    """One thing to match on: `name` as the user wrote it, the frame `columns` it reads."""

    name: str
    kind: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UnknownField(f"{self.name}: unknown kind {self.kind!r} (one of {KINDS})")
        if len(self.columns) != (2 if self.kind == "name" else 1):
            raise UnknownField(f"{self.name}: a {self.kind} field reads the wrong columns")


# Contact fields by their CLI name: (kind, frame columns). The frame loader (frame.py) knows
# which model column each frame column comes from.
CONTACT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "email": ("email", ("email",)),
    "phone": ("phone", ("phone",)),
    "name": ("name", ("first_name", "last_name")),
    "first_name": ("text", ("first_name",)),
    "last_name": ("text", ("last_name",)),
    "company": ("text", ("company",)),
    "job_title": ("text", ("job_title",)),
    "country": ("exact", ("country",)),
}
DEFAULT_FIELDS = "email,phone,name,company,country"

ATTRIBUTE = re.compile(r"^attr\.([A-Za-z0-9_\-]+)$")
# Custom attributes that look like identifiers are compared as codes, the rest as text;
# `attr.NAME:kind` says it explicitly.
CODE_LIKE = re.compile(r"post|zip|code|birth|dob|date|_id$|^id|number|ssn|vat|iban", re.I)
# Codes that are one person's own (a birth date, a national id), not a household's (a
# postcode, a street number) or a company's (a VAT or registration number): see
# `compare.Comparison.personal`.
PERSONAL_LIKE = re.compile(r"birth|dob|ssn|soc_sec|social_sec|passport|national", re.I)


def parse_fields(spec: str | None) -> list[Field]:
    """`email,phone,name,attr.postcode,attr.segment:exact` -> Fields (in that order)."""
    fields: list[Field] = []
    for raw in (DEFAULT_FIELDS if spec is None else spec).split(","):
        raw = raw.strip()
        if not raw:
            continue
        name, _, kind = raw.partition(":")
        if name in CONTACT_FIELDS:
            default_kind, columns = CONTACT_FIELDS[name]
            if kind and (kind == "name") != (default_kind == "name"):
                raise UnknownField(f"{name} cannot be compared as {kind}")
            fields.append(Field(name, kind or default_kind, columns))
        elif ATTRIBUTE.match(name):
            guessed = "code" if CODE_LIKE.search(name.removeprefix("attr.")) else "text"
            if kind == "name":
                raise UnknownField(f"{name}: only `name` is compared as a name")
            fields.append(Field(name, kind or guessed, (name,)))
        else:
            known = ", ".join(CONTACT_FIELDS)
            raise UnknownField(f"Unknown field {name!r}: use one of {known}, or attr.NAME")
    if not fields:
        raise UnknownField("No fields to match on: name one or more, as in email,phone,name")
    if len({f.name for f in fields}) != len(fields):
        raise UnknownField("A field is listed twice")
    return fields
