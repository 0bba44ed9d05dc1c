"""Imports: upload, mapping review, progress, report, rejects download, undo.

For admins, marketing and sales managers; a rep gets 403 on every page. The pages read and
call `acquisition.jobs`; the file itself is run by a worker (`run_import` task).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from leadflow.accounts.models import Role, User
from leadflow.acquisition import jobs, progress
from leadflow.acquisition.forms import DELIMITERS, ENCODINGS, MappingForm, UploadForm
from leadflow.acquisition.models import ImportJob, ImportKind, ImportStatus
from leadflow.acquisition.services import options_from_json
from leadflow.errors import LeadflowError

IMPORTERS = {Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER}
PAGE_SIZE = 25
POLL_SECONDS = 1
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING)
# The worker's phases (progress.py), as a person reads them.
PHASES = {
    "reading": "reading and checking the file",
    "loading": "writing contacts",
}


def can_import(user: User) -> bool:
    return user.is_superuser or user.role in IMPORTERS


def importers_only(view: Callable) -> Callable:
    """Admins, marketing and sales managers; a rep gets 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_import(request.user):
            raise PermissionDenied("Only marketing, sales managers and admins import lists.")
        return view(request, *args, **kwargs)

    return wrapper


@importers_only
def import_list_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        ImportJob.objects.select_related("actor", "vendor").order_by("-created_at", "-id"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(request, "acquisition/imports/list.html", {"page": page, "jobs": page})


class LimitedUploadHandler(FileUploadHandler):
    """Stops reading an upload past the size limit, before it fills the disk."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = jobs.max_upload_bytes()
        self.received = 0
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            # Not a reset: the rest of the body is read and thrown away, so the browser gets
            # the form back with the reason rather than a dropped connection.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int):
        return None  # the next handlers (memory, then a temporary file on disk) keep the file


def _too_large_message() -> str:
    return (
        f"The file is larger than the {jobs.max_upload_bytes() // (1024 * 1024)} MB limit for an "
        "upload. Split it, or import it on the server with `leadflow import`."
    )


@csrf_exempt  # the upload handlers must be set before CSRF reads the body; checked below
@importers_only
def upload(request: HttpRequest) -> HttpResponse:
    limiter = LimitedUploadHandler(request)
    request.upload_handlers.insert(0, limiter)
    return _upload(request, limiter)


@csrf_protect
def _upload(request: HttpRequest, limiter: LimitedUploadHandler) -> HttpResponse:
    if request.method != "POST":
        return render(request, "acquisition/imports/upload.html", {"form": UploadForm()})
    form = UploadForm(request.POST, request.FILES)
    if limiter.too_large:
        form.is_valid()
        form.add_error("file", _too_large_message())
    elif form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            job = jobs.stage_upload(
                upload_file,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                name=upload_file.name,
                options=form.to_options(),
            )
        except LeadflowError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("acquisition:import_mapping", pk=job.pk)
    return render(request, "acquisition/imports/upload.html", {"form": form}, status=422)


@importers_only
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != ImportStatus.DRAFT:
        return redirect("acquisition:import_detail", pk=job.pk)
    options = options_from_json(job.options)
    if request.method == "POST" and request.POST.get("action") == "reread":
        try:
            jobs.reread_draft(
                job=job,
                encoding=request.POST.get("encoding") or None,
                delimiter=request.POST.get("delimiter") or None,
            )
        except LeadflowError as exc:
            messages.error(request, str(exc))
        return redirect("acquisition:import_mapping", pk=job.pk)
    try:
        preview = jobs.job_preview(job)
    except LeadflowError as exc:
        messages.error(request, str(exc))
        return render(request, "acquisition/imports/mapping.html", {"job": job, "form": None})
    form = MappingForm(request.POST or None, preview=preview, mapping=options.mapping)
    if request.method == "POST" and form.is_valid():
        chosen = options.__class__(**{**options.__dict__, "mapping": form.mapping()})
        try:
            jobs.start_import(job=job, options=chosen, actor=request.user)
        except LeadflowError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("acquisition:import_detail", pk=job.pk)
    context = {
        "job": job,
        "form": form,
        "preview": preview,
        "options": options,
        "delimiter_label": jobs.delimiter_label(preview.delimiter),
        "encodings": ENCODINGS,
        "delimiters": DELIMITERS,
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "acquisition/imports/mapping.html", context, status=status)


def _progress_context(job: ImportJob) -> dict:
    snapshot = progress.read_progress(job.pk) or {}
    done, total = snapshot.get("done", 0), snapshot.get("total", 0)
    return {
        "job": job,
        "snapshot": snapshot,
        "phase": PHASES.get(snapshot.get("phase", ""), snapshot.get("phase", "starting")),
        "done": done,
        "total": total,
        "percent": int(done * 100 / total) if total else 0,
        "cancel_pending": jobs.cancel_pending(job) or progress.cancel_requested(job.pk),
        "notes": (job.report or {}).get("notes", []),
        "poll_seconds": POLL_SECONDS,
    }


@importers_only
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("actor", "vendor", "undone_by"), pk=pk)
    if job.status == ImportStatus.DRAFT:
        return redirect("acquisition:import_mapping", pk=job.pk)
    if job.status in ACTIVE:
        return render(request, "acquisition/imports/progress.html", _progress_context(job))
    report = job.report or {}
    reasons = sorted(
        (report.get("rejected_by_reason") or {}).items(), key=lambda item: (-item[1], item[0])
    )
    context = {
        "job": job,
        "report": report,
        "reasons": reasons,
        "examples": report.get("reject_examples") or [],
        "undo": report.get("undo"),
        "notes": report.get("notes", []),
        "has_rejects": jobs.rejects_file(job) is not None,
        "delimiter_label": jobs.delimiter_label(report.get("delimiter") or ","),
        "warnings": [(k, v) for k, v in (report.get("warnings") or {}).items() if v],
        "details": jobs.report_details(report),
    }
    return render(request, "acquisition/imports/report.html", context)


@importers_only
def progress_partial(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by the progress page; once the job is over, sends the browser to the report."""
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status not in ACTIVE:
        response = HttpResponse("")
        response["HX-Redirect"] = reverse("acquisition:import_detail", args=[job.pk])
        return response
    return render(request, "acquisition/imports/_progress.html", _progress_context(job))


@require_POST
@importers_only
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        job = jobs.cancel_import(job=job, actor=request.user)
    except LeadflowError as exc:
        messages.error(request, str(exc))
        return redirect("acquisition:import_detail", pk=job.pk)
    if job.status == ImportStatus.RUNNING:
        messages.info(request, "Cancelling: the import stops at its next batch and rolls back.")
        return redirect("acquisition:import_detail", pk=job.pk)
    messages.success(request, f"Import #{job.pk} was cancelled; nothing was imported.")
    return redirect("acquisition:index")


@importers_only
def rejects(request: HttpRequest, pk: int) -> FileResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    path = jobs.rejects_file(job)
    if path is None:
        raise Http404("This import has no rejects file.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-rejects.csv",
        content_type="text/csv; charset=utf-8",
    )


def undo_summary(job: ImportJob, result: jobs.UndoResult) -> str:
    if job.kind == ImportKind.CONTACTS:
        kept = f"; {len(result.kept)} kept because they were worked" if result.kept else ""
        return (
            f"{result.deleted} new contacts deleted, {result.restored} changed contacts "
            f"restored{kept}"
        )
    parts = [
        f"{counts.get('deleted', 0)} {name} deleted"
        + (f", {counts['restored']} restored" if counts.get("restored") else "")
        for name, counts in result.records.items()
    ]
    if result.kept_records:
        parts.append(f"{len(result.kept_records)} kept because they were worked")
    return "; ".join(parts) or "nothing was left to take back"


@importers_only
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("vendor", "spend"), pk=pk)
    if request.method == "POST":
        try:
            result = jobs.undo_import(job=job, actor=request.user)
        except LeadflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Import #{job.pk} undone: {undo_summary(job, result)}.")
        return redirect("acquisition:import_detail", pk=job.pk)
    if job.status != ImportStatus.SUCCEEDED:
        return redirect("acquisition:import_detail", pk=job.pk)
    return render(request, "acquisition/imports/undo.html", {"job": job})


urlpatterns = [
    path("imports/", import_list_page, name="index"),
    path("imports/new/", upload, name="import_upload"),
    path("imports/<int:pk>/", detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", mapping, name="import_mapping"),
    path("imports/<int:pk>/progress/", progress_partial, name="import_progress"),
    path("imports/<int:pk>/cancel/", cancel, name="import_cancel"),
    path("imports/<int:pk>/rejects.csv", rejects, name="import_rejects"),
    path("imports/<int:pk>/undo/", undo, name="import_undo"),
]
