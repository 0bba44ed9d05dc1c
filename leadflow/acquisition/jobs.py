"""Imports as background jobs: stage an upload, review its mapping, run, cancel, recover, undo.

The life of a job from the UI (or `leadflow import --background`):

    stage_upload -> DRAFT -> start_import -> QUEUED -> (worker) run_queued_import -> RUNNING
        -> SUCCEEDED | FAILED | CANCELLED;  SUCCEEDED -> undo_import -> UNDONE

A run is one database transaction (see `services.import_list`), so a worker that dies
mid-file leaves nothing behind: `recover_stalled_imports` finds such a job and queues it
again from the start, at most `IMPORT_MAX_ATTEMPTS` times. Progress and cancel go through
files in the data dir (`progress.py`), never through the database the run holds locked.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.acquisition import progress
from leadflow.acquisition.kinds import AFTER_UNDO, RUNNERS
from leadflow.acquisition.models import (
    ImportChange,
    ImportJob,
    ImportKind,
    ImportRecord,
    ImportRecordAction,
    ImportStatus,
)
from leadflow.acquisition.pipeline.mapping import (
    ATTR_PREFIX,
    SKIP,
    attribute_slug,
    fields_of,
    plan_mapping,
)
from leadflow.acquisition.pipeline.read import CANDIDATE_DELIMITERS, open_table
from leadflow.acquisition.services import (
    ROLLED_BACK,
    ImportCancelled,
    ImportNotSupported,
    ImportOptions,
    ImportSuperseded,
    check_options,
    import_list,
    options_from_json,
    options_json,
)
from leadflow.contacts.models import Activity, ActivityKind, Contact, Spend, StageChange
from leadflow.errors import LeadflowError

logger = logging.getLogger("leadflow.acquisition.jobs")

PREVIEW_ROWS = 5
SAMPLE_CHARS = 200  # of each sample value kept for the review page
UPLOAD_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx"}
CHUNK = 1024 * 1024
RESTARTED = f"Restarted after a worker crash: {ROLLED_BACK}."


# Read at call time, so tests can override them (see settings.py for their meaning).
def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_BYTES


def stalled_after() -> timedelta:
    return settings.IMPORT_STALLED_AFTER


def max_attempts() -> int:
    return settings.IMPORT_MAX_ATTEMPTS


class UploadTooLarge(LeadflowError):
    status_code = 413


class ImportStateError(LeadflowError):
    """The job is not in a state that allows this (start a running job, undo twice...)."""

    status_code = 409


def uploads_dir() -> Path:
    path = progress.imports_dir() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- staging and preview ----------------------------------------------------------------


@dataclass
class Preview:
    """What the mapping review shows: read from the first bytes of the file, never all of it."""

    encoding: str
    delimiter: str
    headers: list[str]
    samples: dict[str, list[str]]
    proposed: dict[str, str]  # header -> field, as plan_mapping would map it
    kind: str = ImportKind.CONTACTS
    sheet: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def stage_upload(
    file: IO[bytes],
    *,
    actor: User | None,
    kind: str = ImportKind.CONTACTS,
    name: str | None = None,
    options: ImportOptions | None = None,
    max_bytes: int | None = None,
) -> ImportJob:
    """Save an uploaded file under the data dir and make a DRAFT job for its review.

    `max_bytes` defaults to the upload limit of the UI (the CLI, on the server, sets none).

    The stored name is generated (`uploads/<random>.csv`): the user's file name is only ever
    shown, never used as a path. A file over the size limit, or one that cannot be read as a
    table, is refused and removed at once.
    """
    if kind not in RUNNERS:
        raise ImportNotSupported(f"Imports of {kind} are not supported yet.")
    display = Path(name or getattr(file, "name", "") or "upload").name[:255] or "upload"
    suffix = Path(display).suffix.lower()
    target = uploads_dir() / f"{secrets.token_hex(16)}{suffix if suffix in UPLOAD_SUFFIXES else ''}"
    limit, written = (max_upload_bytes() if max_bytes is None else max_bytes), 0
    chunks = file.chunks(CHUNK) if hasattr(file, "chunks") else iter(lambda: file.read(CHUNK), b"")
    try:
        with target.open("xb") as out:
            for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise UploadTooLarge(
                        f"The file is larger than the {limit // (1024 * 1024)} MB limit "
                        "for an upload; split it, or import it with `leadflow import`."
                    )
                out.write(chunk)
        options = options or ImportOptions(kind=kind)
        preview = read_preview(
            target,
            kind=kind,
            encoding=options.encoding,
            delimiter=options.delimiter,
            sheet=options.sheet,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(
        file_name=display,
        kind=kind,
        options={**options_json(options), "kind": kind, "dry_run": False},
        actor=actor,
        currency=options.currency,
        status=ImportStatus.DRAFT,
        stored_path=str(target),
        report={"preview": preview.as_dict()},
    )
    return job


def read_preview(
    path: Path,
    *,
    kind: str = ImportKind.CONTACTS,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> Preview:
    """The header, a few sample values per column and the proposed mapping of a file.

    A text file is read only as far as its first rows, so a big upload previews at once;
    the full checks run with the import itself. (A workbook's sheet is read whole by the
    reader; the preview is kept on the job so that is done once per upload.)
    """
    with open_table(
        Path(path), encoding=encoding, delimiter=delimiter, sheet=sheet, chunk_rows=PREVIEW_ROWS
    ) as stream:
        first = next(stream.chunks, None)
        headers = list(stream.headers)
        found = (stream.encoding, stream.delimiter, stream.sheet)
    samples = {
        header: [
            v[:SAMPLE_CHARS] for v in (first[header] if first is not None else []) if v.strip()
        ]
        for header in headers
    }
    return Preview(
        encoding=found[0],
        delimiter=found[1],
        headers=headers,
        samples=samples,
        proposed=plan_mapping(headers, {}, kind=kind),
        kind=kind,
        sheet=found[2],
    )


def column_choices(header: str, kind: str = ImportKind.CONTACTS) -> list[tuple[str, str]]:
    """The fields a column may go to in the review: every field of the kind, its own custom
    attribute, or skip."""
    choices = [(name, name.replace("_", " ").capitalize()) for name in fields_of(kind)]
    slug = attribute_slug(header)
    return [*choices, (f"{ATTR_PREFIX}{slug}", f"Attribute: {slug}"), (SKIP, "Skip this column")]


def job_preview(job: ImportJob) -> Preview:
    """The draft's preview, as kept when it was uploaded (or last read again)."""
    kept = (job.report or {}).get("preview")
    if kept and kept.get("headers") is not None:
        return Preview(**kept)
    options = options_from_json(job.options)
    return read_preview(
        Path(job.stored_path),
        kind=job.kind,
        encoding=options.encoding,
        delimiter=options.delimiter,
        sheet=options.sheet,
    )


def reread_draft(*, job: ImportJob, encoding: str | None, delimiter: str | None) -> Preview:
    """Read a draft again with another encoding or delimiter (None: detect)."""
    if job.status != ImportStatus.DRAFT:
        raise ImportStateError(f"Import #{job.pk} is {job.get_status_display().lower()}.")
    options = options_from_json(job.options)
    preview = read_preview(
        Path(job.stored_path),
        kind=job.kind,
        encoding=encoding,
        delimiter=delimiter,
        sheet=options.sheet,
    )
    job.options = {**job.options, "encoding": encoding, "delimiter": delimiter, "mapping": {}}
    job.report = {**(job.report or {}), "preview": preview.as_dict()}
    job.save(update_fields=["options", "report"])
    return preview


# --- start, run, cancel -------------------------------------------------------------------


@transaction.atomic
def start_import(*, job: ImportJob, options: ImportOptions, actor: User | None) -> ImportJob:
    """Confirm a draft's mapping and options and queue it for a worker."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.DRAFT:
        raise ImportStateError(f"Import #{job.pk} is {job.get_status_display().lower()}.")
    options = ImportOptions(**{**options.__dict__, "kind": job.kind, "dry_run": False})
    check_options(options)
    preview = job_preview(job)
    # InvalidMapping before anything is queued
    plan_mapping(preview.headers, options.mapping, kind=job.kind)
    job.options = options_json(options)
    job.currency = options.currency
    job.status = ImportStatus.QUEUED
    job.actor = job.actor or actor
    job.save(update_fields=["options", "currency", "status", "actor"])
    _enqueue(job)
    return job


def _enqueue(job: ImportJob) -> None:
    """Queue the run in this transaction: with the database task backend the task row and the
    job's QUEUED status commit together, so a worker never sees one without the other."""
    from leadflow.acquisition.tasks import run_import

    result = run_import.enqueue(job_id=job.pk)
    job.task_id = str(result.id)[:64]
    job.save(update_fields=["task_id"])


def run_queued_import(*, job_id: int) -> str:
    """The body of the `run_import` task: run a queued job with progress, cancel and fencing."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status != ImportStatus.QUEUED:
        return "nothing to do"
    if progress.cancel_requested(job.pk):
        _close(job, ImportStatus.CANCELLED, "Cancelled before it started; nothing was imported.")
        return ImportStatus.CANCELLED
    # A conditional update: if recovery or a cancel changed the job meanwhile, we do not run.
    attempt = job.attempts + 1
    taken = ImportJob.objects.filter(
        pk=job.pk, status=ImportStatus.QUEUED, attempts=job.attempts
    ).update(status=ImportStatus.RUNNING, attempts=attempt, started_at=timezone.now(), error="")
    if not taken:
        return "nothing to do"
    job.refresh_from_db()
    reporter = progress.ProgressReporter(job.pk, attempt)
    reporter.start()
    outcome = ImportStatus.FAILED
    try:
        import_list(
            path=Path(job.stored_path),
            options=options_from_json(job.options),
            actor=job.actor,
            progress=reporter.factory,
            job=job,
            checkpoint=reporter.check,
        )
        outcome = ImportStatus.SUCCEEDED
    except ImportCancelled:
        outcome = ImportStatus.CANCELLED
        ImportJob.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
    except ImportSuperseded:
        # The newer attempt owns the job, its upload and its progress file: touch none.
        reporter.stop(phase="superseded")
        return "superseded by a newer attempt"
    except LeadflowError:
        pass  # a bad file or bad options: import_list saved the job as failed with the reason
    except Exception:
        _wind_up(job, reporter, outcome)  # import_list recorded the failure on the job
        raise
    except BaseException:
        # The worker is being stopped (a second SIGTERM, Ctrl+C): the transaction rolled back
        # and the job stays "running" with its upload, for recovery to queue it again.
        reporter.stop(phase="interrupted")
        raise
    _wind_up(job, reporter, outcome)
    return outcome


def _wind_up(job: ImportJob, reporter: progress.ProgressReporter, outcome: str) -> None:
    reporter.stop(phase=outcome)
    _discard_upload(job)
    progress.clear(job.pk)


def _close(job: ImportJob, status: str, message: str) -> None:
    job.status, job.error, job.finished_at = status, message, timezone.now()
    if status == ImportStatus.CANCELLED:
        job.cancel_requested_at = job.cancel_requested_at or timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "cancel_requested_at"])
    _discard_upload(job)
    progress.clear(job.pk)


def _discard_upload(job: ImportJob) -> None:
    """The uploaded file holds personal data: it is kept only while the job may still run."""
    if job.stored_path:
        path = Path(job.stored_path)
        if path.parent == uploads_dir():
            path.unlink(missing_ok=True)


def cancel_import(*, job: ImportJob, actor: User | None) -> ImportJob:
    """Cancel a draft, a queued or a running import.

    A running import is told through a file (the database is locked by its transaction on
    SQLite): the worker sees it at its next batch, rolls everything back and marks the job
    cancelled. A draft or a queued job is cancelled here at once.
    """
    if job.status not in (ImportStatus.DRAFT, ImportStatus.QUEUED, ImportStatus.RUNNING):
        raise ImportStateError(
            f"Import #{job.pk} is {job.get_status_display().lower()}; only a draft, queued "
            "or running import can be cancelled."
        )
    progress.request_cancel(job.pk)
    if job.status == ImportStatus.RUNNING:
        return job
    with transaction.atomic():
        changed = ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportStatus.DRAFT, ImportStatus.QUEUED]
        ).update(
            status=ImportStatus.CANCELLED,
            cancel_requested_at=timezone.now(),
            finished_at=timezone.now(),
            error=f"Cancelled by {actor or 'a user'} before it started; nothing was imported.",
        )
    job.refresh_from_db()
    if changed:
        _discard_upload(job)
        progress.clear(job.pk)
    return job


def discard_draft(job: ImportJob) -> None:
    """Forget a draft that was never started (the CLI's, when its options are refused)."""
    if job.status != ImportStatus.DRAFT:
        raise ImportStateError(f"Import #{job.pk} is {job.get_status_display().lower()}.")
    _discard_upload(job)
    job.delete()


def cancel_pending(job: ImportJob) -> bool:
    """True while a cancel was asked and the worker has not acted on it yet."""
    return job.status == ImportStatus.RUNNING and progress.cancel_requested(job.pk)


# --- recovery -----------------------------------------------------------------------------


@dataclass
class Recovery:
    job_id: int
    action: str  # "requeued", "failed" or "expired"
    reason: str


def recover_stalled_imports(*, now: datetime | None = None) -> list[Recovery]:
    """Re-queue (or, after too many attempts, fail) jobs whose worker died.

    A running job is dead when its worker's process is gone (same machine) or its progress
    file has not been written for `IMPORT_STALLED_AFTER`. Its run was one transaction that
    never committed, so running it again from the start doubles nothing and loses nothing.
    A queued job whose task ended, vanished or was claimed by a worker that died is queued
    again too.
    """
    now = now or timezone.now()
    limit = stalled_after()
    done: list[Recovery] = []
    for job in ImportJob.objects.filter(status=ImportStatus.RUNNING).order_by("pk"):
        snapshot = progress.read_progress(job.pk)
        if snapshot is None:
            stalled = job.started_at is None or now - job.started_at > limit
            why = "no progress was ever written"
        elif progress.worker_is_gone(snapshot):
            stalled, why = True, f"worker process {snapshot.get('pid')} is gone"
        else:
            age = progress.heartbeat_age(snapshot, now)
            stalled, why = age > limit.total_seconds(), f"no heartbeat for {age:.0f} s"
        if stalled:
            recovered = _requeue_or_fail(job, why)
            if recovered:
                done.append(recovered)
    for job in ImportJob.objects.filter(status=ImportStatus.QUEUED).order_by("pk"):
        why = _lost_task(job, now, limit)
        if why:
            recovered = _requeue_or_fail(job, why)
            if recovered:
                done.append(recovered)
    done += expire_abandoned_drafts(now=now)
    for item in done:
        logger.warning("import #%s %s: %s", item.job_id, item.action, item.reason)
    return done


def expire_abandoned_drafts(*, now: datetime | None = None) -> list[Recovery]:
    """Cancel uploads left at the mapping review for `IMPORT_DRAFT_EXPIRES_AFTER`, deleting
    the uploaded file: a bought list is personal data, not to be kept on disk by accident."""
    cutoff = (now or timezone.now()) - settings.IMPORT_DRAFT_EXPIRES_AFTER
    expired = []
    for job in ImportJob.objects.filter(status=ImportStatus.DRAFT, created_at__lt=cutoff):
        cancel_import(job=job, actor=None)
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.CANCELLED).update(
            error="Left at the mapping review and expired; the uploaded file was deleted."
        )
        expired.append(Recovery(job.pk, "expired", "abandoned at the mapping review"))
    return expired


def _lost_task(job: ImportJob, now: datetime, limit: timedelta) -> str | None:
    from django_tasks.exceptions import TaskResultDoesNotExist

    from leadflow.acquisition.tasks import run_import

    try:
        result = run_import.get_result(job.task_id) if job.task_id else None
    except (TaskResultDoesNotExist, NotImplementedError, ValueError):
        result = None
    if result is None:
        return "its task is missing" if job.task_id else "it was never given a task"
    status = str(result.status).rsplit(".", 1)[-1].upper()
    if status in {"SUCCESSFUL", "FAILED"}:
        return f"its task ended ({status.lower()}) without running it"
    if status == "RUNNING" and result.started_at and now - result.started_at > limit:
        return "the worker that took it stopped before starting it"
    return None


def _requeue_or_fail(job: ImportJob, why: str) -> Recovery | None:
    """Compare-and-set on (status, attempts), so a run that just finished is left alone."""
    with transaction.atomic():
        base = ImportJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts)
        notes = [*(job.report or {}).get("notes", [])]
        if job.status == ImportStatus.RUNNING and job.attempts >= max_attempts():
            message = (
                f"The worker stopped {job.attempts} times while importing ({why}); "
                f"{ROLLED_BACK}. Import the file again, perhaps in smaller parts."
            )
            if not base.update(
                status=ImportStatus.FAILED, error=message, finished_at=timezone.now()
            ):
                return None
            job.refresh_from_db()
            _discard_upload(job)
            progress.clear(job.pk)
            return Recovery(job.pk, "failed", why)
        if job.status == ImportStatus.RUNNING:
            notes.append(f"{RESTARTED} (attempt {job.attempts}: {why})")
        report = {**(job.report or {}), "notes": notes}
        if not base.update(status=ImportStatus.QUEUED, error="", report=report):
            return None
        job.refresh_from_db()
        progress.clear(job.pk)
        _enqueue(job)
    return Recovery(job.pk, "requeued", why)


# --- undo ---------------------------------------------------------------------------------


@dataclass
class UndoResult:
    deleted: int = 0
    kept: list[dict[str, Any]] = field(default_factory=list)  # {contact_id, reasons}
    restored: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # {contact_id, fields}
    missing: int = 0  # changed contacts deleted since
    spend_deleted: bool = False
    # Contacts moved on again, after their stage was put back, by what they kept (a deal).
    moved_by_kept: int = 0
    # Imports of the other kinds, by what was taken back ("companies", "deals", "spend",
    # "stage changes", "activities"): {"deleted", "kept", "restored", "conflicts"}.
    records: dict[str, dict[str, int]] = field(default_factory=dict)
    # Rows kept (someone has worked them since), {record, id, reason}, the first ones.
    kept_records: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "kept": self.kept,
            "restored": self.restored,
            "conflicts": self.conflicts,
            "missing": self.missing,
            "spend_deleted": self.spend_deleted,
            "moved_by_kept": self.moved_by_kept,
            "records": self.records,
            "kept_records": self.kept_records,
        }


# Activities that machines add on their own (scoring, lifecycle rules, routing, the import
# itself): they do not mean a person has worked the contact.
AUTOMATIC_KINDS = (
    ActivityKind.IMPORTED,
    ActivityKind.SCORE_CHANGED,
    ActivityKind.STAGE_CHANGED,
    ActivityKind.OWNER_ASSIGNED,
    ActivityKind.UPDATED,
)
REVIEWED_KEPT = 200  # how many kept contacts the undo result lists by id


def undo_import(*, job: ImportJob, actor: User | None) -> UndoResult:
    """Take an import back: its new contacts, its changes to existing ones, its list cost.

    A new contact someone has worked since (a note, a call, an email, a deal, a form, an
    owner or stage set by a person...) is kept and listed, not deleted. A field the import
    filled is restored only if it still holds what the import wrote; a newer value is kept
    and reported. All of it in one transaction; a second undo is refused.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.UNDONE:
            raise ImportStateError(f"Import #{job.pk} was already undone.")
        if job.status != ImportStatus.SUCCEEDED:
            raise ImportStateError(
                f"Import #{job.pk} is {job.get_status_display().lower()}; only a finished "
                "import can be undone."
            )
        result = UndoResult()
        if job.kind != ImportKind.CONTACTS:
            _undo_records(job, actor, result)
            _finish_undo(job, actor, result, kept_total=len(result.kept_records))
            return result
        created = Contact.objects.filter(source_import_id=job.pk)
        kept = _worked_contacts(created)
        result.kept = [
            {"contact_id": pk, "reasons": reasons}
            for pk, reasons in sorted(kept.items())[:REVIEWED_KEPT]
        ]
        doomed = created.exclude(pk__in=list(kept))
        # Timeline rows first, by query: Contact.delete() would load every row to cascade.
        Activity.objects.filter(contact__in=doomed).delete()
        StageChange.objects.filter(contact__in=doomed).delete()
        result.deleted, _ = doomed.delete()
        if kept:
            Contact.objects.filter(pk__in=list(kept)).update(source_import_id=None)
        _restore_changes(job, actor, result)
        if job.spend_id:
            Spend.objects.filter(pk=job.spend_id).delete()
            result.spend_deleted = True
        job.spend = None  # deleted above (the foreign key is SET_NULL)
        _finish_undo(job, actor, result, kept_total=len(kept))
    return result


def _finish_undo(job: ImportJob, actor: User | None, result: UndoResult, *, kept_total: int):
    job.status = ImportStatus.UNDONE
    job.undone_at, job.undone_by = timezone.now(), actor
    job.report = {**(job.report or {}), "undo": {**result.as_dict(), "kept_total": kept_total}}
    job.save(update_fields=["status", "undone_at", "undone_by", "report", "spend"])


# What an import of another kind created, deleted in this order (a stage change before
# nothing, a deal before its company), and how the undo result names each.
RECORD_NAMES = {
    "contacts.stagechange": "stage changes",
    "sales.deal": "deals",
    "contacts.spend": "spend",
    "contacts.company": "companies",
}


def _undo_records(job: ImportJob, actor: User | None, result: UndoResult) -> None:
    """Take back an import of companies, deals, activities or spend: the activities it
    wrote (they carry its id), the values it changed unless someone changed them since, the
    rows it created unless someone has worked them since, and the contacts it moved (their
    lifecycle stage, their first and last touch), as a contact import's changes are."""
    records = ImportRecord.objects.filter(job=job)
    kept_ids: dict[str, list[int]] = {}
    activities = _delete_imported_activities(job, records)
    if activities:
        result.records["activities"] = {"deleted": activities}
    for label, name in RECORD_NAMES.items():
        model = apps.get_model(label)
        counts = {"deleted": 0, "kept": 0, "restored": 0, "conflicts": 0}
        updated = records.filter(model=label, action=ImportRecordAction.UPDATED).order_by("-id")
        for record_batch in _batches(updated):
            _restore_records(model, record_batch, counts)
        created = records.filter(model=label, action=ImportRecordAction.CREATED)
        for ids in _batches(created.values_list("object_id", flat=True)):
            kept = _worked_records(model, ids, job)
            for pk, reason in sorted(kept.items()):
                if len(result.kept_records) < REVIEWED_KEPT:
                    result.kept_records.append({"record": name, "id": pk, "reason": reason})
            counts["kept"] += len(kept)
            kept_ids.setdefault(label, []).extend(kept)
            doomed = [pk for pk in ids if pk not in kept]
            _, deleted = model._base_manager.filter(pk__in=doomed).delete()
            counts["deleted"] += deleted.get(model._meta.label, 0)
        if any(counts.values()):
            result.records[name] = counts
    _restore_changes(job, actor, result)
    after_undo = AFTER_UNDO.get(job.kind)
    if after_undo and kept_ids:
        result.moved_by_kept = after_undo(kept_ids, actor)


def _delete_imported_activities(job: ImportJob, records) -> int:
    """Delete the activities the import wrote, but not the timeline of a deal it created
    that stays (someone changed it since): a kept deal keeps its "deal created" and
    "deal won" entries. How many were deleted."""
    Deal = apps.get_model("sales", "Deal")
    imported = Activity.objects.filter(data__import_job=job.pk)
    created_deals = records.filter(model="sales.deal", action=ImportRecordAction.CREATED)
    keep: set[int] = set()
    for ids in _batches(created_deals.values_list("object_id", flat=True)):
        kept_deals = list(_worked_records(Deal, ids, job))
        if kept_deals:
            rows = imported.filter(data__deal_id__in=kept_deals)
            keep.update(rows.values_list("pk", flat=True))
    if not keep:
        return imported.delete()[0]
    doomed = [pk for pk in imported.values_list("pk", flat=True) if pk not in keep]
    return sum(
        Activity.objects.filter(pk__in=doomed[at : at + 900]).delete()[0]
        for at in range(0, len(doomed), 900)
    )


def _batches(rows, size: int = 900):
    """A query's rows, `size` at a time."""
    batch = []
    for row in rows.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _worked_records(model, ids: list[int], job: ImportJob) -> dict[int, str]:
    """The created rows to keep, and why: a company that contacts or deals now point at, a
    deal or spend entry someone has changed since the import."""
    label = model._meta.label_lower
    if label == "contacts.company":
        kept = {}
        for pk in Contact.objects.filter(company_id__in=ids).values_list("company_id", flat=True):
            kept[pk] = "has contacts"
        deals = apps.get_model("sales", "Deal")._base_manager
        for pk in deals.filter(company_id__in=ids).values_list("company_id", flat=True):
            kept.setdefault(pk, "has deals")
        return kept
    if label == "sales.deal" and job.finished_at:
        changed = model._base_manager.filter(pk__in=ids, updated_at__gt=job.finished_at)
        return dict.fromkeys(changed.values_list("pk", flat=True), "changed since the import")
    return {}


def _restore_records(model, records: list[ImportRecord], counts: dict[str, int]) -> None:
    """Put back what the import wrote into rows of `model`, field by field, unless someone
    changed the field since (then it is kept, and counted as a conflict)."""
    rows = model._base_manager.in_bulk([r.object_id for r in records])
    for record in records:
        row = rows.get(record.object_id)
        if row is None:
            continue
        restored, newer = [], False
        for name, before in record.previous.items():
            field_ = model._meta.get_field(name)
            attname = field_.attname
            current = getattr(row, attname)
            if current == _field_value(field_, record.written.get(name)):
                setattr(row, attname, _field_value(field_, before))
                restored.append(attname)
            elif current != _field_value(field_, before):
                newer = True
        if restored:
            row.save(update_fields=restored)
            counts["restored"] += 1
        counts["conflicts"] += newer


def _field_value(field_, value):
    """A value kept as JSON (see kinds.base.as_json) as the field holds it."""
    if value is None or field_.get_internal_type() == "JSONField":
        return value
    return field_.to_python(value)


def _worked_contacts(created) -> dict[int, list[str]]:
    """Contacts of `created` that something other than the import has touched, and why."""
    reasons: dict[int, list[str]] = {}

    def add(ids, reason: str) -> None:
        for pk in ids:
            reasons.setdefault(pk, []).append(reason)

    by_person = Activity.objects.filter(
        Q(actor__isnull=False) | ~Q(kind__in=AUTOMATIC_KINDS), contact=OuterRef("pk")
    ).exclude(kind=ActivityKind.IMPORTED)
    add(
        created.filter(Exists(by_person)).values_list("pk", flat=True),
        "has activity since the import (notes, calls, emails, visits...)",
    )
    staged = StageChange.objects.filter(contact=OuterRef("pk"), actor__isnull=False)
    add(
        created.filter(Exists(staged)).values_list("pk", flat=True),
        "its lifecycle stage was set by a person",
    )
    # An owner the list named came with the import; one assigned since (assign_owner, by a
    # person or by routing) leaves an OWNER_ASSIGNED entry.
    assigned = Activity.objects.filter(contact=OuterRef("pk"), kind=ActivityKind.OWNER_ASSIGNED)
    add(
        created.filter(Exists(assigned), owner__isnull=False).values_list("pk", flat=True),
        "has an owner",
    )
    # Rows of other apps (deals, registrations, form submissions...) found through the model
    # graph, so this app imports none of the later funnel apps.
    for relation in Contact._meta.get_fields(include_hidden=True):
        if not (relation.one_to_many or relation.one_to_one) or not relation.auto_created:
            continue
        model = relation.related_model
        if model in (Activity, StageChange) or model is Contact:
            continue
        rows = model._base_manager.filter(**{relation.field.name: OuterRef("pk")})
        add(
            created.filter(Exists(rows)).values_list("pk", flat=True),
            f"has {model._meta.verbose_name_plural}",
        )
    return reasons


FIELD_ALIASES = {"company": "company_id", "owner": "owner_id"}


def _restore_changes(job: ImportJob, actor: User | None, result: UndoResult) -> None:
    """The fields the import changed on existing contacts, back as they were unless changed
    since. A contacts import's stage moves stay in the history (each with its StageChange),
    so their undo gets a StageChange too; the other kinds delete theirs (ImportRecord)."""
    record_stages = job.kind == ImportKind.CONTACTS
    # Newest first: a contact an import changed twice goes back through both.
    changes = list(ImportChange.objects.filter(job=job).order_by("-id"))
    contacts = Contact.objects.in_bulk([c.contact_id for c in changes])
    now = timezone.now()
    activities, stage_changes = [], []
    for change in changes:
        contact = contacts.get(change.contact_id)
        if contact is None:
            result.missing += 1
            continue
        restored, kept_newer = [], []
        for name, before in (change.previous or {}).items():
            attname = FIELD_ALIASES.get(name, name)
            if not hasattr(contact, attname):
                continue
            field_ = Contact._meta.get_field(attname)
            written = _field_value(field_, (change.written or {}).get(name))
            before = _field_value(field_, before)  # a date kept as JSON text, as a date
            current = getattr(contact, attname)
            if name == "attributes":
                value, newer = _restore_attributes(current or {}, before or {}, written or {})
                if value != current:
                    contact.attributes = value
                    restored.append(name)
                if newer:
                    kept_newer.append(name)
            elif _same(current, written):
                setattr(contact, attname, before if before is not None else _empty(attname))
                restored.append(name)
            elif not _same(current, before):
                kept_newer.append(name)
        if restored:
            contact.save(update_fields=[FIELD_ALIASES.get(n, n) for n in restored])
            result.restored += 1
            if record_stages and "lifecycle_stage" in restored:
                stage_changes.append(
                    StageChange(
                        contact=contact,
                        from_stage=change.written["lifecycle_stage"],
                        to_stage=contact.lifecycle_stage,
                        changed_at=now,
                        actor=actor,
                        source="import undo",
                        reason=f"Undo of import #{job.pk}",
                    )
                )
            activities.append(
                Activity(
                    contact=contact,
                    kind=ActivityKind.UPDATED,
                    occurred_at=now,
                    actor=actor,
                    data={"source": "import undo", "import_job": job.pk, "restored": restored},
                )
            )
        if kept_newer:
            result.conflicts.append({"contact_id": contact.pk, "fields": kept_newer})
    Activity.objects.bulk_create(activities, batch_size=1000)
    StageChange.objects.bulk_create(stage_changes, batch_size=1000)


def _restore_attributes(current: dict, before: dict, written: dict) -> tuple[dict[str, Any], bool]:
    """Attributes the import added or changed go back, unless someone changed them since."""
    value, newer = dict(current), False
    for key, wrote in written.items():
        if key in before and before[key] == wrote:
            continue  # the import did not change this one
        if key not in value:
            continue  # removed since: nothing to take back
        if value[key] != wrote:
            newer = True
            continue
        if key in before:
            value[key] = before[key]
        else:
            del value[key]
    return value, newer


def _same(a: Any, b: Any) -> bool:
    return (a or None) == (b or None) if isinstance(a, str | type(None)) else a == b


def _empty(attname: str) -> Any:
    field_ = next(f for f in Contact._meta.concrete_fields if f.attname == attname)
    return None if field_.null else ""


# --- reading a job for the screens --------------------------------------------------------


def rejects_file(job: ImportJob) -> Path | None:
    """The job's own rejects CSV if it exists under the imports folder, else None.

    The path comes from the job row, never from the request, and is checked to sit inside
    `$LEADFLOW_DATA_DIR/imports`, so no other file can ever be served through it.
    """
    if not job.rejects_path:
        return None
    root = progress.imports_dir().resolve()
    with suppress(OSError, ValueError):
        path = Path(job.rejects_path).resolve(strict=True)
        if path.is_relative_to(root) and path.is_file() and path.suffix == ".csv":
            return path
    return None


def delimiter_label(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, delimiter)


# Report details that are for the benchmark and the logs, not for the person reading it.
TECHNICAL_DETAILS = ("seconds_by_stage", "chunks looked up again (keys added meanwhile)")
DETAIL_LABELS = {
    "by_kind": "Activities by kind",
    "amount_by_currency": "Amount by currency",
    "sheet": "Sheet",
}


def report_details(report: dict) -> list[tuple[str, str]]:
    """What a kind's import did besides its counts (a deal import's wins and the contacts
    it moved, an activity import's kinds, a spend import's amounts), as (label, value) for
    the report page: counts that are not zero, and each breakdown on one line."""
    kinds = dict(ActivityKind.choices)
    rows = []
    for key, value in (report.get("details") or {}).items():
        if key in TECHNICAL_DETAILS or value in (0, None, "", {}):
            continue
        label = DETAIL_LABELS.get(key, key[:1].upper() + key[1:])
        if isinstance(value, dict):
            parts = [(kinds.get(k, k), v) for k, v in value.items() if v not in (0, "0")]
            if not parts:
                continue
            value = ", ".join(f"{name} {_number(v)}" for name, v in parts)
        else:
            value = _number(value)
        rows.append((label, value))
    return rows


def _number(value: Any) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


__all__ = [
    "CANDIDATE_DELIMITERS",
    "ImportStateError",
    "Preview",
    "Recovery",
    "UndoResult",
    "UploadTooLarge",
    "cancel_import",
    "column_choices",
    "job_preview",
    "read_preview",
    "recover_stalled_imports",
    "rejects_file",
    "run_queued_import",
    "stage_upload",
    "start_import",
    "undo_import",
]
