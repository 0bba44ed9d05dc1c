"""Stage 6b, the changes to existing contacts that match.plan_changes decided, written.

Per batch: the contacts (only the columns some change in the batch touches), one
ImportChange per contact with the values before and after (what undo restores), and one
activity per contact: MERGED for a merge, UPDATED for an update, both naming the fields.
The caller holds the transaction.

Django's `bulk_update` writes a `CASE WHEN id = ... THEN ...` per column and row, which
took 70 s for 47,000 contacts; here PostgreSQL gets one `UPDATE ... FROM unnest(arrays)`
per batch and SQLite one prepared `UPDATE` run for every row (`executemany`). A stage the
import changes gets its StageChange (source "import"), as every stage move does.
"""

import json
from collections.abc import Callable, Iterable, Iterator

from django.db import connection
from django.utils import timezone

from leadflow.acquisition.models import ImportChange, ImportChangeAction
from leadflow.acquisition.pipeline.match import Change
from leadflow.contacts.models import Activity, ActivityKind, StageChange
from leadflow.contacts.services import bulk_record_activities

BATCH_SIZE = 5000

# The columns an import may write, with their PostgreSQL array type; only these names are
# ever put into the statements below.
COLUMN_TYPES = {
    "email": "text",
    "first_name": "text",
    "last_name": "text",
    "phone": "text",
    "job_title": "text",
    "country": "text",
    "external_id": "text",
    "company_id": "bigint",
    "attributes": "jsonb",
    "other_emails": "jsonb",
    "email_is_role": "boolean",
    "email_is_disposable": "boolean",
    "lifecycle_stage": "text",
    "owner_id": "bigint",
}
JSON_COLUMNS = ("attributes", "other_emails")

Progress = Callable[[int], None]


def _batches(changes: list[Change], size: int) -> Iterator[list[Change]]:
    for start in range(0, len(changes), size):
        yield changes[start : start + size]


def _resolve_company(change: Change, company_ids: dict[str, int]) -> None:
    """Fills in the id of the company the change names (created by load.ensure_companies)."""
    if change.company is None:
        return
    company_id = company_ids.get(change.company.upper())
    change.values["company_id"] = company_id
    change.written["company_id"] = company_id
    if company_id == change.previous.get("company_id"):
        # The named company turned out to be the one the contact has: nothing to write.
        del change.previous["company_id"], change.written["company_id"]


def _value(column: str, value):
    return json.dumps(value) if column in JSON_COLUMNS else value


def write_contacts(batch: list[Change], columns: list[str], now) -> None:
    """Each change's values for `columns`, and its updated_at (the row's date, else now),
    in one go."""
    unknown = set(columns) - set(COLUMN_TYPES)
    if unknown:
        raise ValueError(f"Not an importable column: {sorted(unknown)}")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [[c.contact_id for c in batch]]
            arrays += [[_value(col, c.values[col]) for c in batch] for col in columns]
            arrays.append([c.updated_at or now for c in batch])
            types = [
                "bigint",
                *("text" if COLUMN_TYPES[c] == "jsonb" else COLUMN_TYPES[c] for c in columns),
                "timestamptz",
            ]
            casts = {c: "::jsonb" if COLUMN_TYPES[c] == "jsonb" else "" for c in columns}
            sets = ", ".join(f"{c} = v.{c}{casts[c]}" for c in columns)
            unnest = ", ".join(f"%s::{t}[]" for t in types)
            sql = (
                f"UPDATE contacts_contact AS c SET {sets}, updated_at = v._updated_at "  # noqa: S608
                f"FROM unnest({unnest}) AS v(id, {', '.join(columns)}, _updated_at) "
                "WHERE c.id = v.id"
            )
            cursor.execute(sql, arrays)
        else:
            sets = ", ".join(f"{c} = %s" for c in columns)
            sql = f"UPDATE contacts_contact SET {sets}, updated_at = %s WHERE id = %s"  # noqa: S608
            cursor.executemany(
                sql,
                [
                    [
                        *(_value(col, c.values[col]) for col in columns),
                        c.updated_at or now,
                        c.contact_id,
                    ]
                    for c in batch
                ],
            )


def _activity(change: Change, *, job_id: int, file_name: str, now) -> Activity:
    merged = change.action == ImportChangeAction.MERGED
    return Activity(
        contact_id=change.contact_id,
        kind=ActivityKind.MERGED if merged else ActivityKind.UPDATED,
        occurred_at=now,
        data={
            "source": "import",
            "import_job": job_id,
            "file": file_name,
            "line": change.line,
            "fields": sorted(change.written),
        },
    )


def _record_stage_changes(batch: list[Change], *, job_id: int, file_name: str, now) -> None:
    """A StageChange for every contact whose stage the batch moved (those an earlier chunk
    of this file created too: their history goes on from the stage they were created at)."""
    StageChange.objects.bulk_create(
        (
            StageChange(
                contact_id=c.contact_id,
                from_stage=c.previous["lifecycle_stage"],
                to_stage=c.written["lifecycle_stage"],
                changed_at=now,
                source="import",
                reason=f"Imported from {file_name} (import #{job_id}), line {c.line}",
            )
            for c in batch
            if "lifecycle_stage" in c.written
        ),
        batch_size=BATCH_SIZE,
    )


def apply_changes(
    plan: Iterable[Change],
    *,
    job_id: int,
    file_name: str,
    company_ids: dict[str, int],
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Writes the planned changes; returns (contacts updated, contacts merged)."""
    now = timezone.now()
    counts = {ImportChangeAction.UPDATED: 0, ImportChangeAction.MERGED: 0}
    for batch in _batches(list(plan), BATCH_SIZE):
        size = len(batch)
        for change in batch:
            _resolve_company(change, company_ids)
        batch = [c for c in batch if c.written]
        if not batch:
            if progress:
                progress(size)
            continue
        write_contacts(batch, sorted({f for c in batch for f in c.written}), now)
        _record_stage_changes(batch, job_id=job_id, file_name=file_name, now=now)
        # A contact an earlier chunk of this file created is deleted whole by undo: its
        # fills need no record and no activity of their own.
        batch = [c for c in batch if not c.same_import]
        ImportChange.objects.bulk_create(
            (
                ImportChange(
                    job_id=job_id,
                    contact_id=c.contact_id,
                    action=c.action,
                    line=c.line,
                    previous=c.previous,
                    written=c.written,
                )
                for c in batch
            ),
            batch_size=BATCH_SIZE,
        )
        bulk_record_activities(
            _activity(c, job_id=job_id, file_name=file_name, now=now) for c in batch
        )
        for change in batch:
            counts[change.action] += 1
        if progress:
            progress(size)
    return counts[ImportChangeAction.UPDATED], counts[ImportChangeAction.MERGED]
