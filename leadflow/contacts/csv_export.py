"""Contacts as a CSV file a spreadsheet opens safely, streamed a chunk of rows at a time.

Two rules hold for every CSV Leadflow writes (this export and the import rejects file):

- A text cell that a spreadsheet would run as a formula (one starting with = + - @, a tab or
  a carriage return) gets a leading apostrophe (OWASP "CSV injection"), so opening the
  file runs nothing: `=HYPERLINK("http://evil","click")` is written `'=HYPERLINK(...)`.
- The file starts with a UTF-8 byte order mark, so Excel reads it as UTF-8 rather than in
  the machine's code page.

The rows are read by id in chunks (keyset, `id > last ORDER BY id LIMIT n`), one query per
chunk with the names of the related rows joined in, so a million contacts never sit in
memory at once and the number of queries grows with the chunks, not with the contacts.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import QuerySet

from leadflow.accounts.models import User
from leadflow.contacts.models import Contact

# The characters a spreadsheet reads as the start of a formula; the rejects file (acquisition)
# uses the same pattern on its polars columns.
FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA_START = re.compile(FORMULA_START)

UTF8_BOM = "\ufeff"
CHUNK_SIZE = 2_000

# (header, what is read from the database). The related rows are read by name, joined into
# the chunk's query: a value, not an object, so nothing is loaded per row.
COLUMNS = (
    ("id", "id"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("phone", "phone"),
    ("job_title", "job_title"),
    ("company", "company__name"),
    ("country", "country"),
    ("lifecycle_stage", "lifecycle_stage"),
    ("score", "score"),
    ("owner", "owner__email"),
    ("consent", "consent"),
    ("email_is_role", "email_is_role"),
    ("email_is_disposable", "email_is_disposable"),
    ("external_id", "external_id"),
    ("first_touch_channel", "first_touch_channel__name"),
    ("first_touch_campaign", "first_touch_campaign__name"),
    ("last_touch_channel", "last_touch_channel__name"),
    ("source_vendor", "source_vendor__name"),
    ("source_import_id", "source_import_id"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("other_emails", "other_emails"),
    # Custom attributes vary from contact to contact (each import may bring its own), so
    # they go in one JSON column: a column per key would need a first pass over every
    # exported row just to learn the header, and one odd file could make it 500 wide.
    ("attributes", "attributes"),
)
HEADER = [name for name, _ in COLUMNS]
# A user without an email is named by the username instead.
_OWNER_USERNAME = "owner__username"
_FIELDS = [field for _, field in COLUMNS] + [_OWNER_USERNAME]
_OWNER = HEADER.index("owner")


def neutralise(value: str) -> str:
    """The text with a leading apostrophe if a spreadsheet would run it as a formula."""
    return "'" + value if _FORMULA_START.match(value) else value


def _cell(value: Any) -> str | int:
    """One cell as written: text neutralised; numbers as they are (digits and a sign are
    never a formula, and a score of -5 must stay a number a spreadsheet can sort)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return neutralise(str(value))


def _row(values: tuple) -> list[str | int]:
    row = list(values[:-1])
    row[_OWNER] = row[_OWNER] or values[-1]
    return [_cell(value) for value in row]


def iter_contact_chunks(contacts: QuerySet[Contact], *, chunk_size: int = CHUNK_SIZE) -> Iterator:
    """Lists of up to `chunk_size` contacts' cells, in id order, one query per list."""
    rows = contacts.order_by("id").values_list(*_FIELDS)
    last_id = 0
    while True:
        chunk = list(rows.filter(id__gt=last_id)[:chunk_size])
        if chunk:
            yield [_row(values) for values in chunk]
        if len(chunk) < chunk_size:
            return
        last_id = chunk[-1][0]


def stream_contacts_csv(contacts: QuerySet[Contact], *, chunk_size: int = CHUNK_SIZE) -> Iterator:
    """The CSV file as UTF-8 bytes: the BOM and the header, then one piece per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(UTF8_BOM)
    writer.writerow(HEADER)
    yield _drain(buffer)
    for chunk in iter_contact_chunks(contacts, chunk_size=chunk_size):
        writer.writerows(chunk)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def export_filename(day: date) -> str:
    return f"contacts-{day.isoformat()}.csv"


def can_export_contacts(user: User) -> bool:
    """Admins, marketing and sales managers. A rep may not: a file of every contact they can
    see is the easiest way to walk out with the book of business, and a rep has no bulk
    task that needs it (they work their leads in Leadflow)."""
    return user.is_authenticated and user.is_active and not user.is_rep
