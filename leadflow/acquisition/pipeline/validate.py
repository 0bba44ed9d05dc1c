"""Stage 4, validate: the reason a row cannot be used, or null when it can.

The email check is a vectorised syntax and domain-form test (RFC 5322 dot-atom local part,
a dotted domain of LDH labels, a letter TLD that is not reserved, RESERVED_TLDS) of the
address with its domain in ASCII (normalise.EMAIL_ASCII: "ann@bücher.de" is checked as
"ann@xn--bcher-kva.de"), close to what `email_validator` accepts with deliverability off
but without a Python call per row.
"""

import polars as pl

from leadflow.acquisition.pipeline.normalise import CREATED_AT_RAW, EMAIL_ASCII, UPDATED_AT_RAW
from leadflow.acquisition.pipeline.read import FIELD_COUNT

REASON = "_reason"

EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
MAX_EMAIL_LENGTH = 254
# Top-level domains that never reach a mailbox: reserved for tests and invalid names by
# RFC 2606 and RFC 6761 (.invalid, .test, .localhost) and for multicast DNS on a local
# network by RFC 6762 (.local). An address there is a placeholder, so it is refused like a
# malformed one. The documentation names (.example, example.com/.net/.org) are not: sample
# lists, the demo workspace (which an export and re-import must round-trip) and our own
# tests use them.
RESERVED_TLDS = ("invalid", "local", "localhost", "test")
RESERVED_DOMAIN = rf"\.(?:{'|'.join(RESERVED_TLDS)})$"

TOO_MANY_FIELDS = "row has more fields than the header"
MISSING_EMAIL = "missing email"
INVALID_EMAIL = "invalid email"
INVALID_DATE = "created_at is not a date"
INVALID_UPDATED_DATE = "updated_at is not a date"
NOTHING_TO_IDENTIFY = "no email, name or external id"


def too_long(lengths: dict[str, int]) -> tuple[pl.Expr, pl.Expr]:
    """Whether a row has a value longer than its column holds, and the reason, which names
    the first such column ("first_name longer than 100 characters"), so a person knows
    which cell to shorten."""
    checks = [
        ((pl.col(c).str.len_chars() > n).fill_null(False), f"{c} longer than {n} characters")
        for c, n in lengths.items()
    ]
    reason = pl.when(checks[0][0]).then(pl.lit(checks[0][1]))
    for check, text in checks[1:]:
        reason = reason.when(check).then(pl.lit(text))
    return pl.any_horizontal(check for check, _ in checks), reason.otherwise(None)


# Column widths of contacts.Contact and of the company, channel and campaign a row names
# (Company.name, Channel.name, Campaign.name), so a row never fails at insert time: on
# PostgreSQL a longer value stopped the whole file, and SQLite stored it whatever its length.
MAX_LENGTHS = {
    "first_name": 100,
    "last_name": 100,
    "job_title": 150,
    "external_id": 100,
    "company": 200,
    "channel": 100,
    "campaign": 200,
}


def validate_contacts(
    frame: pl.DataFrame, *, header_width: int, allow_no_email: bool
) -> pl.DataFrame:
    """Adds REASON: null for a usable row, else the first thing wrong with it."""
    email = pl.col("email")
    checked = pl.col(EMAIL_ASCII) if EMAIL_ASCII in frame.columns else email
    has_name = pl.col("first_name").is_not_null() | pl.col("last_name").is_not_null()
    has_identity = has_name | pl.col("external_id").is_not_null()
    value_too_long, too_long_reason = too_long(
        {c: n for c, n in MAX_LENGTHS.items() if c in frame.columns}
    )
    reason = (
        pl.when(pl.col(FIELD_COUNT) > header_width)
        .then(pl.lit(TOO_MANY_FIELDS))
        .when(email.is_null() & ~pl.lit(allow_no_email))
        .then(pl.lit(MISSING_EMAIL))
        .when(email.is_null() & ~has_identity)
        .then(pl.lit(NOTHING_TO_IDENTIFY))
        .when(
            email.is_not_null()
            & (
                ~checked.str.contains(EMAIL_PATTERN)
                | (checked.str.len_bytes() > MAX_EMAIL_LENGTH)
                | checked.str.contains(RESERVED_DOMAIN)
            )
        )
        .then(pl.lit(INVALID_EMAIL))
        .when(pl.col(CREATED_AT_RAW).is_not_null() & pl.col("created_at").is_null())
        .then(pl.lit(INVALID_DATE))
        .when(pl.col(UPDATED_AT_RAW).is_not_null() & pl.col("updated_at").is_null())
        .then(pl.lit(INVALID_UPDATED_DATE))
        .when(value_too_long)
        .then(too_long_reason)
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return frame.with_columns(reason.alias(REASON))


def split_rejects(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(usable rows, rejected rows)."""
    rejected = pl.col(REASON).is_not_null()
    return frame.filter(~rejected), frame.filter(rejected)
