"""Imports as background jobs: stage, start, run in the worker, cancel, recover, undo."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from leadflow.acquisition import jobs, progress
from leadflow.acquisition.models import (
    ImportChange,
    ImportChangeAction,
    ImportJob,
    ImportStatus,
)
from leadflow.acquisition.pipeline.mapping import InvalidMapping
from leadflow.acquisition.pipeline.read import UnreadableFile
from leadflow.acquisition.services import ImportOptions, ImportSuperseded, import_list
from leadflow.contacts.models import Activity, ActivityKind, Contact, Spend
from leadflow.contacts.tests.factories import ContactFactory

# The worker claims tasks in transactions of its own: real transactions, not the test's.
pytestmark = pytest.mark.django_db(transaction=True)

LIST = (
    "E-mail,First Name,Last Name,Company,Shoe Size\n"
    "ann@example.com,Ann,Smith,Acme,38\n"
    "bob@example.com,Bob,Jones,,44\n"
    "not-an-email,Carl,Bad,,40\n"
)
ROOT = Path(__file__).resolve().parents[3]


def upload(text: str = LIST, name: str = "list.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def run_worker() -> None:
    """Every queued task, through the worker's own code path (as `leadflow worker` runs it)."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def staged(marketer, text: str = LIST, **options) -> ImportJob:
    return jobs.stage_upload(
        upload(text), actor=marketer, kind="contacts", options=ImportOptions(**options)
    )


def test_staging_keeps_the_file_under_a_generated_name_and_proposes_a_mapping(marketer):
    job = jobs.stage_upload(upload(name="../../etc/passwd.csv"), actor=marketer, kind="contacts")

    assert job.status == ImportStatus.DRAFT
    assert job.file_name == "passwd.csv"
    stored = Path(job.stored_path)
    assert stored.parent == jobs.uploads_dir()
    assert stored.name != "passwd.csv" and stored.suffix == ".csv"
    assert stored.read_text() == LIST
    preview = jobs.job_preview(job)
    assert preview.headers == ["E-mail", "First Name", "Last Name", "Company", "Shoe Size"]
    assert preview.proposed["E-mail"] == "email"
    assert preview.proposed["Shoe Size"] == "attr.shoe_size"
    assert preview.samples["First Name"] == ["Ann", "Bob", "Carl"]


def test_the_preview_reads_only_the_start_of_a_big_file(marketer, tmp_path):
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(20_000))  # ~500 KB
    preview = jobs.read_preview(_write(tmp_path, "email,first_name\n" + rows))

    assert preview.headers == ["email", "first_name"]
    assert len(preview.samples["email"]) == jobs.PREVIEW_ROWS


def test_an_upload_over_the_limit_is_refused_and_not_kept(marketer, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    with pytest.raises(jobs.UploadTooLarge, match="limit"):
        jobs.stage_upload(upload(LIST * 5), actor=marketer, kind="contacts")

    assert not list(jobs.uploads_dir().iterdir())
    assert not ImportJob.objects.exists()


def test_an_unreadable_upload_is_refused_and_not_kept(marketer):
    with pytest.raises(UnreadableFile, match="XLSX"):
        jobs.stage_upload(upload("PK\x03\x04rest"), actor=marketer, kind="contacts")

    assert not list(jobs.uploads_dir().iterdir())


def test_a_started_import_runs_in_the_worker_and_reports(marketer):
    job = staged(marketer, vendor="ListCo", cost_per_lead=Decimal("2.50"))

    jobs.start_import(
        job=job,
        options=ImportOptions(vendor="ListCo", cost_per_lead=Decimal("2.50")),
        actor=marketer,
    )
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    assert DBTaskResult.objects.filter(pk=job.task_id, status="READY").exists()

    run_worker()

    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED
    assert (job.created_count, job.rejected_count, job.attempts) == (2, 1, 1)
    assert job.cost_per_new_lead == Decimal("2.5")
    assert job.report["rejected_by_reason"] == {"invalid email": 1}
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ann@example.com",
        "bob@example.com",
    }
    # The upload (personal data) and the progress files are gone once the job is done.
    assert not Path(job.stored_path).exists()
    assert progress.read_progress(job.pk) is None


def test_the_reviewed_mapping_is_what_runs(marketer):
    job = staged(marketer)
    mapping = {"Shoe Size": "skip", "Company": "attr.employer"}

    jobs.start_import(job=job, options=ImportOptions(mapping=mapping), actor=marketer)
    run_worker()

    ann = Contact.objects.get(email="ann@example.com")
    assert ann.attributes == {"employer": "Acme"}
    assert ann.company is None


def test_a_mapping_naming_a_missing_column_is_refused_before_queueing(marketer):
    job = staged(marketer)
    with pytest.raises(InvalidMapping):
        jobs.start_import(job=job, options=ImportOptions(mapping={"Nope": "email"}), actor=marketer)

    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT
    assert not DBTaskResult.objects.exists()


def test_a_job_cannot_be_started_twice(marketer):
    job = staged(marketer)
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)

    with pytest.raises(jobs.ImportStateError):
        jobs.start_import(job=job, options=ImportOptions(), actor=marketer)


def test_a_queued_import_cancelled_never_runs(marketer):
    job = staged(marketer)
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)

    jobs.cancel_import(job=job, actor=marketer)
    run_worker()

    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert job.cancel_requested_at is not None
    assert not Contact.objects.exists()
    assert not Path(job.stored_path).exists()


def test_a_running_import_cancelled_at_a_batch_rolls_everything_back(marketer):
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(2500))
    job = staged(marketer, "email,first_name\n" + rows, vendor="V", total_cost=Decimal(9))
    jobs.start_import(
        job=job, options=ImportOptions(vendor="V", total_cost=Decimal(9)), actor=marketer
    )
    real_tick = progress.ProgressReporter.tick

    def tick_then_cancel(self, rows):
        # A person presses Cancel while the first batch of 1,000 is already inserted.
        job.status = ImportStatus.RUNNING
        jobs.cancel_import(job=job, actor=marketer)
        real_tick(self, rows)

    progress.ProgressReporter.tick = tick_then_cancel
    try:
        run_worker()
    finally:
        progress.ProgressReporter.tick = real_tick

    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert "rolled back" in job.error
    assert job.cancel_requested_at is not None
    assert not Contact.objects.exists()
    assert not Spend.objects.exists()
    assert not progress.cancel_requested(job.pk)


def test_finished_imports_cannot_be_cancelled(marketer):
    job = staged(marketer)
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)
    run_worker()

    with pytest.raises(jobs.ImportStateError):
        jobs.cancel_import(job=ImportJob.objects.get(pk=job.pk), actor=marketer)


def test_a_run_taken_for_dead_rolls_back_instead_of_committing_a_second_copy(write_list):
    def bump_attempts(total):
        # Meanwhile recovery took this run for dead and handed the job to a new attempt.
        ImportJob.objects.filter(status=ImportStatus.RUNNING).update(attempts=7)
        return None

    with pytest.raises(ImportSuperseded):
        import_list(path=write_list(LIST), options=ImportOptions(), progress=bump_attempts)

    assert not Contact.objects.exists()
    # Not marked failed: the job belongs to the newer attempt.
    assert ImportJob.objects.get().status == ImportStatus.RUNNING


# --- recovery -----------------------------------------------------------------------------


def _running(marketer, *, heartbeat_age: timedelta, pid: int | None = None) -> ImportJob:
    job = staged(marketer)
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, attempts=1, started_at=timezone.now() - heartbeat_age
    )
    reporter = progress.ProgressReporter(job.pk, 1)
    if pid is not None:
        reporter.state["pid"] = pid
    reporter.write()
    snapshot = progress.read_progress(job.pk)
    snapshot["heartbeat_at"] = (timezone.now() - heartbeat_age).isoformat()
    progress.progress_path(job.pk).write_text(json.dumps(snapshot))
    return ImportJob.objects.get(pk=job.pk)


def test_a_job_with_a_live_heartbeat_is_left_alone(marketer):
    job = _running(marketer, heartbeat_age=timedelta(seconds=10))

    assert jobs.recover_stalled_imports() == []
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING


def test_a_job_whose_heartbeat_stopped_is_queued_again_and_then_runs(marketer):
    job = _running(marketer, heartbeat_age=timedelta(minutes=30))

    [recovery] = jobs.recover_stalled_imports()

    assert (recovery.job_id, recovery.action) == (job.pk, "requeued")
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    assert "rolled back" in job.report["notes"][0]
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.created_count) == (ImportStatus.SUCCEEDED, 2, 2)
    assert "Restarted after a worker crash" in job.report["notes"][0]


def test_a_job_whose_worker_process_is_gone_is_recovered_at_once(marketer):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _running(marketer, heartbeat_age=timedelta(seconds=1), pid=dead.pid)

    [recovery] = jobs.recover_stalled_imports()

    assert recovery.action == "requeued"
    assert "is gone" in recovery.reason


def test_a_job_that_keeps_crashing_fails_after_the_last_attempt(marketer, settings):
    settings.IMPORT_MAX_ATTEMPTS = 1
    job = _running(marketer, heartbeat_age=timedelta(hours=1))

    [recovery] = jobs.recover_stalled_imports()

    assert recovery.action == "failed"
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "stopped 1 times" in job.error and "rolled back" in job.error
    assert not Path(job.stored_path).exists()


def test_a_queued_job_whose_task_was_lost_is_queued_again(marketer):
    job = staged(marketer)
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)
    DBTaskResult.objects.all().delete()

    [recovery] = jobs.recover_stalled_imports()

    assert "missing" in recovery.reason
    run_worker()
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED


def test_a_worker_stopped_mid_import_leaves_the_job_and_its_file_for_recovery(marketer, settings):
    job = staged(marketer)
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)
    real_tick = progress.ProgressReporter.tick

    def stopped(self, rows):
        raise KeyboardInterrupt  # a second SIGTERM makes the worker exit inside the task

    progress.ProgressReporter.tick = stopped
    try:
        run_worker()
    finally:
        progress.ProgressReporter.tick = real_tick

    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING
    assert not Contact.objects.exists()
    assert Path(job.stored_path).exists()
    settings.IMPORT_STALLED_AFTER = timedelta(0)
    [recovery] = jobs.recover_stalled_imports()
    assert recovery.action == "requeued"
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.created_count, job.attempts) == (ImportStatus.SUCCEEDED, 2, 2)


def _write(tmp_path: Path, text: str, name: str = "big.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


PRELUDE = (
    "import os, sys, json, django;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'leadflow.settings');"
    "django.setup();"
)


def _subprocess_env(tmp_path: Path, data_dir: Path) -> dict:
    env = {**os.environ, "LEADFLOW_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop(progress.PAUSE_ENV, None)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        # The tests' SQLite database lives in memory: the processes get a file of their own.
        env["LEADFLOW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    else:
        env["LEADFLOW_DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


def _python(code: str, env: dict) -> str:
    done = subprocess.run(  # noqa: S603 (the test's own interpreter and code)
        [sys.executable, "-c", PRELUDE + code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _leadflow(*args: str, env: dict, **popen) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (the project's own `leadflow` script)
        [str(Path(sys.executable).with_name("leadflow")), *args], env=env, cwd=ROOT, **popen
    )


def test_a_worker_killed_mid_file_imports_no_row_twice_and_loses_none(tmp_path, settings):
    """The real thing: a worker process SIGKILLed with 1,000 of 2,500 rows inserted."""
    rows = 2500
    data_dir = tmp_path / "crash-data"
    settings.DATA_DIR = data_dir
    env = _subprocess_env(tmp_path, data_dir)
    if connection.vendor == "sqlite":
        assert _leadflow("migrate", "-v0", env=env).wait() == 0
    big = _write(
        tmp_path, "email,first_name\n" + "".join(f"p{i}@x.org,P{i}\n" for i in range(rows))
    )
    job_id = int(
        _python(
            "from leadflow.acquisition import jobs;"
            "from leadflow.acquisition.services import ImportOptions;"
            f"job = jobs.stage_upload(open({str(big)!r}, 'rb'), actor=None, kind='contacts');"
            "jobs.start_import(job=job, options=ImportOptions(), actor=None);"
            "print(job.pk)",
            env,
        )
    )

    worker = _leadflow(
        "worker",
        "--until-idle",
        env={**env, progress.PAUSE_ENV: "1000"},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("w"),
    )
    try:
        while worker.poll() is None:
            snapshot = progress.read_progress(job_id) or {}
            if snapshot.get("phase") == "paused by the test hook":
                break
            time.sleep(0.2)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        worker.send_signal(signal.SIGKILL)  # also when an assert failed: never leave it behind
        worker.wait()
    # Paused inside the import's transaction with rows written: by batches of 1,000 on
    # SQLite, by one COPY of them all on PostgreSQL.
    assert snapshot["total"] == rows and 1000 <= snapshot["done"] <= rows

    state = f"j = ImportJob.objects.get(pk={job_id});" + (
        "print(json.dumps({'status': j.status, 'attempts': j.attempts,"
        " 'created': j.created_count, 'notes': j.report.get('notes', []),"
        " 'contacts': Contact.objects.count(),"
        " 'emails': Contact.objects.values('email').distinct().count(),"
        " 'imported': Activity.objects.filter(kind='imported').count()}))"
    )
    imports = (
        "from leadflow.acquisition.models import ImportJob;"
        "from leadflow.contacts.models import Contact, Activity;"
    )
    after_kill = json.loads(_python(imports + state, env))
    assert after_kill["status"] == "running"
    assert after_kill["contacts"] == 0  # the half-done transaction died with the worker

    recovered = _python(
        "from leadflow.acquisition import jobs;"
        "print(json.dumps([r.__dict__ for r in jobs.recover_stalled_imports()]))",
        env,
    )
    [recovery] = json.loads(recovered)
    assert recovery["action"] == "requeued" and "is gone" in recovery["reason"]
    assert _leadflow("worker", "--until-idle", "-v0", env=env).wait() == 0

    final = json.loads(_python(imports + state, env))
    assert final["status"] == "succeeded"
    assert final["attempts"] == 2
    assert final["contacts"] == final["emails"] == final["created"] == rows
    assert final["imported"] == rows
    assert "Restarted after a worker crash" in final["notes"][0]


# --- undo ---------------------------------------------------------------------------------


def _imported(marketer, text: str = LIST, **options) -> ImportJob:
    job = staged(marketer, text, **options)
    jobs.start_import(job=job, options=ImportOptions(**options), actor=marketer)
    run_worker()
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED, job.error
    return job


def test_undo_deletes_the_new_contacts_and_the_list_cost(marketer):
    job = _imported(marketer, vendor="ListCo", total_cost=Decimal("10"))
    assert Spend.objects.count() == 1

    result = jobs.undo_import(job=job, actor=marketer)

    assert result.deleted == 2 and result.spend_deleted
    assert not Contact.objects.exists()
    assert not Activity.objects.exists()
    assert not Spend.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert job.undone_by == marketer and job.undone_at is not None
    assert job.report["undo"]["deleted"] == 2


def test_undo_keeps_and_reports_contacts_worked_since(marketer, rep):
    job = _imported(marketer)
    ann = Contact.objects.get(email="ann@example.com")
    Activity.objects.create(
        contact=ann, kind=ActivityKind.NOTE, occurred_at=timezone.now(), actor=rep
    )
    bob = Contact.objects.get(email="bob@example.com")
    Activity.objects.create(  # a machine's score change is not work
        contact=bob, kind=ActivityKind.SCORE_CHANGED, occurred_at=timezone.now()
    )

    result = jobs.undo_import(job=job, actor=marketer)

    assert result.deleted == 1
    assert [k["contact_id"] for k in result.kept] == [ann.pk]
    assert "activity" in result.kept[0]["reasons"][0]
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_undo_keeps_contacts_with_a_deal(marketer, rep):
    # By the app registry: acquisition may not import the sales app (import-linter).
    deal_model = apps.get_model("sales", "Deal")

    job = _imported(marketer)
    ann = Contact.objects.get(email="ann@example.com")
    deal_model.objects.create(name="Ann's first order", contact=ann)

    result = jobs.undo_import(job=job, actor=marketer)

    assert result.kept == [{"contact_id": ann.pk, "reasons": ["has deals"]}]


def test_undo_restores_what_an_import_changed_unless_changed_since(marketer):
    job = _imported(marketer)
    same = ContactFactory(email="same@example.com", phone="", job_title="", attributes={})
    newer = ContactFactory(email="newer@example.com", phone="")
    ImportChange.objects.create(
        job=job,
        contact_id=same.pk,
        action=ImportChangeAction.UPDATED,
        previous={"phone": "", "attributes": {}},
        written={"phone": "+14155550100", "attributes": {"size": "38"}},
    )
    ImportChange.objects.create(
        job=job,
        contact_id=newer.pk,
        action=ImportChangeAction.MERGED,
        previous={"phone": ""},
        written={"phone": "+14155550101"},
    )
    Contact.objects.filter(pk=same.pk).update(phone="+14155550100", attributes={"size": "38"})
    Contact.objects.filter(pk=newer.pk).update(phone="+14155550199")  # edited after the import

    result = jobs.undo_import(job=job, actor=marketer)

    same.refresh_from_db()
    newer.refresh_from_db()
    assert (same.phone, same.attributes) == ("", {})
    assert newer.phone == "+14155550199"
    assert result.restored == 1
    assert result.conflicts == [{"contact_id": newer.pk, "fields": ["phone"]}]
    assert Activity.objects.filter(contact=same, data__source="import undo").exists()


def test_undo_is_refused_twice_and_for_unfinished_imports(marketer):
    job = _imported(marketer)
    jobs.undo_import(job=job, actor=marketer)

    with pytest.raises(jobs.ImportStateError, match="already undone"):
        jobs.undo_import(job=job, actor=marketer)
    with pytest.raises(jobs.ImportStateError, match="only a finished"):
        jobs.undo_import(job=staged(marketer), actor=marketer)


def test_the_cli_queues_a_file_in_the_background(marketer, tmp_path):
    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "import",
        str(_write(tmp_path, LIST, "l.csv")),
        "--kind",
        "contacts",
        "--background",
        "--format",
        "json",
        stdout=out,
    )

    job = ImportJob.objects.get(pk=json.loads(out.getvalue())["job_id"])
    assert job.status == ImportStatus.QUEUED and job.file_name == "l.csv"
    run_worker()
    assert Contact.objects.count() == 2


def test_a_workbook_upload_previews_its_sheet_and_imports(marketer, tmp_path):
    from leadflow.acquisition.tests.test_import_xlsx import write_xlsx

    book = write_xlsx(
        tmp_path / "leads.xlsx",
        {"Leads": {1: ["Email", "Name"], 2: ["ann@example.com", "Ann"], 3: ["bob@x.org", "Bob"]}},
    )
    with book.open("rb") as handle:
        job = jobs.stage_upload(handle, actor=marketer, kind="contacts", name="leads.xlsx")

    preview = jobs.job_preview(job)
    assert (preview.headers, preview.sheet) == (["Email", "Name"], "Leads")
    assert preview.samples["Email"] == ["ann@example.com", "bob@x.org"]
    assert Path(job.stored_path).suffix == ".xlsx"
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)
    run_worker()
    assert Contact.objects.count() == 2


def test_the_cli_refuses_a_bad_mapping_in_the_background_and_keeps_nothing(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="does not have"):
        call_command(
            "import",
            str(_write(tmp_path, LIST, "l.csv")),
            "--kind",
            "contacts",
            "--map",
            "Nope=email",
            "--background",
            stdout=io.StringIO(),
        )

    assert not ImportJob.objects.exists()
    assert not list(jobs.uploads_dir().iterdir())


def test_an_upload_abandoned_at_the_review_expires_and_its_file_is_deleted(marketer, settings):
    settings.IMPORT_DRAFT_EXPIRES_AFTER = timedelta(hours=24)
    stale, fresh = staged(marketer), staged(marketer)
    ImportJob.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=25))

    recovered = jobs.recover_stalled_imports()

    assert [(r.job_id, r.action) for r in recovered] == [(stale.pk, "expired")]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == ImportStatus.CANCELLED and "expired" in stale.error
    assert not Path(stale.stored_path).exists() or stale.stored_path == ""
    assert fresh.status == ImportStatus.DRAFT and Path(fresh.stored_path).exists()
