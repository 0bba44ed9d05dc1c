"""Imports in the browser: upload a small list, confirm the mapping, watch it run, read the
report, undo it. Screenshots of each page land in test-artifacts/."""

import pytest

from leadflow.acquisition import progress
from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.acquisition.tests.test_import_jobs import run_worker
from leadflow.contacts.models import Contact
from leadflow.tests_browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST = "\n".join(
    [
        "E-mail,First Name,Last Name,Phone No.,Company,Country,Lead Source",
        "ann@example.com,Ann,Smith,(415) 555-0100,Acme Rockets,USA,Webinar",
        "bob@example.com,Bob,Jones,,Globex,United Kingdom,Trade show",
        "carl@example,Carl,Bad,,,,Cold list",
        "dina@example.com,Dina,Okafor,+44 20 7946 0958,Initech,GB,Trade show",
        "ann@example.com,Ann,Smith,,,,Webinar",
        ",No,Email,,,,Cold list",
    ]
)


def test_upload_review_run_report_and_undo(signed_in, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    page = signed_in
    source = tmp_path / "Trade show leads.csv"
    source.write_text(LIST + "\n")

    page.goto("/imports/")
    page.get_by_role("heading", name="Bring in a list of contacts").wait_for()
    screenshot(page, "imports-empty")

    page.get_by_role("link", name="Import a list").first.click()
    page.get_by_label("Vendor", exact=True).fill("ListCo")
    page.get_by_label("Cost per lead").fill("2.50")
    page.get_by_label("Campaign", exact=True).fill("Trade show 2026")
    page.get_by_label("File", exact=True).set_input_files(str(source))
    screenshot(page, "imports-upload")
    page.get_by_role("button", name="Upload and review").click()

    page.get_by_role("heading", name="Review the mapping").wait_for()
    assert page.get_by_label("E-mail").input_value() == "email"
    assert page.get_by_label("Lead Source").input_value() == "channel"
    screenshot(page, "imports-mapping")
    page.get_by_role("button", name="Start import").click()

    page.get_by_text("Waiting for a worker").wait_for()
    job = ImportJob.objects.get()
    # Seen while the worker is busy: a progress bar fed by the worker's progress file.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    progress.ProgressReporter(job.pk, 1).update(phase="loading", total=5, done=2)
    page.get_by_text("Writing contacts: 2 of 5 rows (40%)").wait_for()
    screenshot(page, "imports-progress")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    progress.clear(job.pk)

    run_worker()

    # The polling page moves on to the report by itself.
    page.get_by_role("heading", name="Rejected rows").wait_for()
    assert page.get_by_role("cell", name="invalid email").is_visible()
    screenshot(page, "imports-report")
    assert Contact.objects.count() == 3

    page.get_by_role("link", name="Undo import").click()
    page.get_by_role("heading", name="Undo this import?").wait_for()
    screenshot(page, "imports-undo-confirm")
    page.get_by_role("button", name="Undo import").click()
    page.get_by_role("heading", name="Undone").wait_for()
    screenshot(page, "imports-undone")
    assert Contact.objects.count() == 0

    page.goto("/imports/")
    page.locator("#imports-table").wait_for()
    screenshot(page, "imports-list")


def test_a_restarted_import_says_so_and_undo_keeps_worked_contacts(signed_in, settings, tmp_path):
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from leadflow.acquisition import jobs
    from leadflow.acquisition.services import ImportOptions
    from leadflow.contacts.models import Activity, ActivityKind

    settings.DATA_DIR = tmp_path / "data"
    page = signed_in
    job = jobs.stage_upload(
        SimpleUploadedFile("Spring webinar.csv", (LIST + "\n").encode()),
        actor=page.user,
        kind="contacts",
    )
    jobs.start_import(job=job, options=ImportOptions(), actor=page.user)
    # The worker that took it died: no progress file and a start long ago.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, attempts=1, started_at=timezone.now() - timedelta(hours=1)
    )
    jobs.recover_stalled_imports()
    run_worker()
    ann = Contact.objects.get(email="ann@example.com")
    Activity.objects.create(
        contact=ann, kind=ActivityKind.CALL, occurred_at=timezone.now(), actor=page.user
    )

    page.goto(f"/imports/{job.pk}/")
    page.get_by_text("Restarted after a worker crash").wait_for()
    page.get_by_role("link", name="Undo import").click()
    page.get_by_role("button", name="Undo import").click()
    page.get_by_role("heading", name="Undone").wait_for()
    assert page.get_by_text("1 contact kept").is_visible()
    screenshot(page, "imports-undone-kept")
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


CRM_EXPORT = "\n".join(
    [
        "Record ID,Name,Email,Phone Number,Lifecycle Stage,Contact owner,Country/Region",
        "101,Dr. Maria Garcia,maria@globex.io,+34 612 345 678,Marketing Qualified Lead,"
        "dana@acme.org,Spain",
        '102,"Chen, Wei",wei@initech.cn,555-0199,customer,Nobody,Frankreich',
        "103,Hans van der Berg,hans@acme.de,030 1234567,Lead,,Deutschland",
    ]
)


def test_a_crm_export_maps_full_names_stages_and_owners_and_reports_what_it_kept(
    signed_in, settings, tmp_path, django_user_model
):
    settings.DATA_DIR = tmp_path / "data"
    django_user_model.objects.create_user("dana", email="dana@acme.org")
    page = signed_in
    source = tmp_path / "hubspot-export.csv"
    source.write_text(CRM_EXPORT + "\n")

    page.goto("/imports/new/")
    page.get_by_label("File", exact=True).set_input_files(str(source))
    page.get_by_role("button", name="Upload and review").click()
    page.get_by_role("heading", name="Review the mapping").wait_for()
    assert page.get_by_label("Name", exact=True).input_value() == "full_name"
    assert page.get_by_label("Lifecycle Stage").input_value() == "lifecycle_stage"
    assert page.get_by_label("Contact owner").input_value() == "owner"
    screenshot(page, "imports-mapping-crm-export")
    page.get_by_role("button", name="Start import").click()
    page.get_by_text("Waiting for a worker").wait_for()
    run_worker()

    page.get_by_text("phone not understood (kept as attribute phone_as_entered)").wait_for()
    assert page.get_by_text("owner not found (kept as attribute owner_as_entered)").is_visible()
    screenshot(page, "imports-report-crm-export")
    maria = Contact.objects.get(email="maria@globex.io")
    assert (maria.first_name, maria.last_name, maria.lifecycle_stage) == ("Maria", "Garcia", "mql")
    assert maria.owner.username == "dana"
    hans = Contact.objects.get(email="hans@acme.de")
    assert (hans.phone, hans.country) == ("+49301234567", "DE")
