"""The import screens: roles, upload, mapping review, progress, report, rejects, undo."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from leadflow.acquisition import jobs, progress
from leadflow.acquisition.models import ImportJob, ImportStatus
from leadflow.acquisition.services import ImportOptions
from leadflow.acquisition.tests.test_import_jobs import LIST, run_worker
from leadflow.contacts.models import Contact, Spend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marketer_client(marketer) -> Client:
    client = Client()
    client.force_login(marketer)
    return client


def _upload(client: Client, text: str = LIST, **fields):
    data = {
        "kind": "contacts",
        "on_duplicate": "skip",
        "currency": "usd",
        **fields,
        # Last, as in the page: a file over the limit stops the parsing, not the fields before.
        "file": SimpleUploadedFile("bought list.csv", text.encode(), content_type="text/csv"),
    }
    return client.post(reverse("acquisition:import_upload"), data)


def _mapping_post(job: ImportJob, **choices) -> dict:
    preview = jobs.job_preview(job)
    chosen = {**preview.proposed, **choices}
    return {f"col_{i}": chosen[h] for i, h in enumerate(preview.headers)}


def test_reps_get_403_on_every_import_page(rep_client, marketer):
    job = jobs.stage_upload(
        SimpleUploadedFile("l.csv", LIST.encode()), actor=marketer, kind="contacts"
    )
    names = ["import_detail", "import_mapping", "import_progress", "import_rejects", "import_undo"]
    urls = [reverse("acquisition:index"), reverse("acquisition:import_upload")]
    urls += [reverse(f"acquisition:{name}", args=[job.pk]) for name in names]
    for url in urls:
        assert rep_client.get(url).status_code == 403, url
    assert rep_client.post(reverse("acquisition:import_cancel", args=[job.pk])).status_code == 403
    assert _upload(rep_client).status_code == 403


@pytest.mark.parametrize("who", ["admin_client_", "manager_client", "marketer_client"])
def test_admins_managers_and_marketing_see_the_empty_list(request, who):
    response = request.getfixturevalue(who).get(reverse("acquisition:index"))

    assert response.status_code == 200
    assert b"Bring in a list of contacts" in response.content
    assert reverse("acquisition:import_upload").encode() in response.content


def test_the_list_costs_a_fixed_number_of_queries(
    marketer_client, marketer, django_assert_num_queries
):
    for _ in range(3):
        jobs.stage_upload(
            SimpleUploadedFile("l.csv", LIST.encode()), actor=marketer, kind="contacts"
        )
    # session, user, count, page of jobs with actor and vendor
    with django_assert_num_queries(4):
        response = marketer_client.get(reverse("acquisition:index"))
    assert response.content.count(b"l.csv") == 3


def test_upload_review_run_report_rejects_and_undo(marketer_client, marketer):
    response = _upload(marketer_client, vendor="ListCo", cost_per_lead="2.50")

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("acquisition:import_mapping", args=[job.pk])
    assert job.file_name == "bought list.csv" and job.status == ImportStatus.DRAFT

    page = marketer_client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "E-mail" in html and "ann@example.com" in html  # the header and a sample value
    assert 'value="email" selected' in html
    assert 'value="attr.shoe_size" selected' in html

    started = marketer_client.post(
        response["Location"], _mapping_post(job, **{"Shoe Size": "skip"})
    )
    assert started.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    progress_page = marketer_client.get(reverse("acquisition:import_detail", args=[job.pk]))
    assert b"Waiting for a worker" in progress_page.content
    assert b"hx-trigger" in progress_page.content

    run_worker()

    poll = marketer_client.get(reverse("acquisition:import_progress", args=[job.pk]))
    assert poll["HX-Redirect"] == reverse("acquisition:import_detail", args=[job.pk])
    report = marketer_client.get(reverse("acquisition:import_detail", args=[job.pk]))
    html = report.content.decode()
    assert report.status_code == 200
    assert "New contacts" in html and "invalid email" in html and "2.50 USD" in html
    assert Contact.objects.get(email="ann@example.com").attributes == {}

    rejects = marketer_client.get(reverse("acquisition:import_rejects", args=[job.pk]))
    assert rejects.status_code == 200
    assert rejects["Content-Disposition"].startswith("attachment")
    body = b"".join(rejects.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("line,reason")
    assert "not-an-email" in body

    confirm = marketer_client.get(reverse("acquisition:import_undo", args=[job.pk]))
    assert b"delete the <b>2</b> contacts" in confirm.content
    undone = marketer_client.post(reverse("acquisition:import_undo", args=[job.pk]), follow=True)
    assert b"new contacts deleted" in undone.content
    assert not Contact.objects.exists() and not Spend.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.UNDONE

    again = marketer_client.post(reverse("acquisition:import_undo", args=[job.pk]), follow=True)
    assert b"already undone" in again.content


def test_a_bad_cost_keeps_what_was_typed_and_says_why(marketer_client):
    response = _upload(marketer_client, cost_per_lead="2", total_cost="100", campaign="Spring")

    assert response.status_code == 422
    assert b"not both" in response.content
    assert b'value="Spring"' in response.content
    assert not ImportJob.objects.exists()


def test_an_upload_over_the_limit_is_refused_with_a_clear_message(marketer_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    big = "email\n" + "x" * (2 * 1024 * 1024)

    response = _upload(marketer_client, big, vendor="Kept")

    assert response.status_code == 422
    assert b"larger than the 1 MB limit" in response.content
    assert b'value="Kept"' in response.content  # the fields before the file still arrived
    assert not ImportJob.objects.exists()
    assert not list(jobs.uploads_dir().iterdir())


def test_an_unreadable_upload_says_why(marketer_client):
    response = _upload(marketer_client, "PK\x03\x04 binary")

    assert response.status_code == 422
    assert b"XLSX" in response.content


def test_a_conflicting_mapping_is_shown_beside_the_table(marketer_client, marketer):
    job = jobs.stage_upload(
        SimpleUploadedFile("l.csv", LIST.encode()), actor=marketer, kind="contacts"
    )

    response = marketer_client.post(
        reverse("acquisition:import_mapping", args=[job.pk]),
        _mapping_post(job, **{"First Name": "email"}),
    )

    assert response.status_code == 422
    assert b"Two columns map to the same field" in response.content
    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT


def test_reading_again_with_another_delimiter(marketer_client, marketer):
    job = jobs.stage_upload(
        SimpleUploadedFile("l.csv", b"email;name\na@x.org;A\n"), actor=marketer, kind="contacts"
    )
    url = reverse("acquisition:import_mapping", args=[job.pk])

    marketer_client.post(url, {"action": "reread", "delimiter": ",", "encoding": ""})

    assert b"email;name" in marketer_client.get(url).content
    marketer_client.post(url, {"action": "reread", "delimiter": ";", "encoding": ""})
    assert b"email;name" not in marketer_client.get(url).content


def test_a_running_import_shows_its_progress_and_can_be_cancelled(marketer_client, marketer):
    job = jobs.stage_upload(
        SimpleUploadedFile("l.csv", LIST.encode()), actor=marketer, kind="contacts"
    )
    jobs.start_import(job=job, options=ImportOptions(), actor=marketer)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    reporter = progress.ProgressReporter(job.pk, 1)
    reporter.update(phase="loading", total=4000, done=1000)

    poll = marketer_client.get(reverse("acquisition:import_progress", args=[job.pk]))
    assert b"1,000 of 4,000 rows (25%)" in poll.content
    assert b'max="4000" value="1000"' in poll.content

    marketer_client.post(reverse("acquisition:import_cancel", args=[job.pk]))

    assert progress.cancel_requested(job.pk)
    poll = marketer_client.get(reverse("acquisition:import_progress", args=[job.pk]))
    assert b"Cancelling" in poll.content


def test_a_draft_can_be_discarded(marketer_client, marketer):
    job = jobs.stage_upload(
        SimpleUploadedFile("l.csv", LIST.encode()), actor=marketer, kind="contacts"
    )

    response = marketer_client.post(reverse("acquisition:import_cancel", args=[job.pk]))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert not jobs.uploads_dir().joinpath(job.stored_path).exists()


@pytest.mark.parametrize(
    "stored",
    [
        "/etc/passwd",
        "{data}/imports/../secret_key",
        "{data}/imports/uploads/../../secret_key",
        "{data}/imports/job-1.progress.json",
        "relative/../../etc/passwd",
    ],
)
def test_rejects_are_served_only_from_the_jobs_own_file_under_the_data_dir(
    marketer_client, marketer, settings, stored
):
    data = settings.DATA_DIR
    (data / "secret_key").parent.mkdir(parents=True, exist_ok=True)
    (data / "secret_key").write_text("secret")
    progress.imports_dir().joinpath("job-1.progress.json").write_text("{}")
    job = ImportJob.objects.create(
        file_name="x.csv",
        kind="contacts",
        status=ImportStatus.SUCCEEDED,
        rejects_path=stored.format(data=data),
    )

    response = marketer_client.get(reverse("acquisition:import_rejects", args=[job.pk]))

    assert response.status_code == 404


def test_path_tricks_in_the_url_do_not_reach_a_file(marketer_client):
    for url in ["/imports/1/rejects.csv/../../../etc/passwd", "/imports/..%2f..%2fetc/rejects.csv"]:
        assert marketer_client.get(url).status_code == 404


def test_a_companies_import_is_undone_from_its_report(marketer_client):
    from leadflow.contacts.models import Company

    response = _upload(
        marketer_client, text="Company,Website,Tier\nAcme,acme.com,Gold\n", kind="companies"
    )
    job = ImportJob.objects.get()
    marketer_client.post(response["Location"], _mapping_post(job))
    run_worker()
    report = marketer_client.get(reverse("acquisition:import_detail", args=[job.pk]))
    assert b"Undo import" in report.content and b"New companies" in report.content
    assert Company.objects.get().attributes == {"tier": "Gold"}

    confirm = marketer_client.get(reverse("acquisition:import_undo", args=[job.pk]))
    assert b"delete the <b>1</b> companies it created" in confirm.content
    undone = marketer_client.post(reverse("acquisition:import_undo", args=[job.pk]), follow=True)
    html = undone.content.decode()
    assert "1 companies deleted" in html
    assert "<b>Companies</b>: 1 deleted" in html
    assert not Company.objects.exists()


def test_an_activities_report_says_what_it_did_besides_its_counts(marketer_client):
    from leadflow.contacts.tests.factories import ContactFactory

    ContactFactory(email="ann@example.com")
    response = _upload(
        marketer_client,
        text="Email,Type,Date\nann@example.com,Email opened,2024-03-01\n"
        "ann@example.com,Call,2024-03-02\n",
        kind="activities",
    )
    job = ImportJob.objects.get()
    marketer_client.post(response["Location"], _mapping_post(job))
    run_worker()

    html = marketer_client.get(reverse("acquisition:import_detail", args=[job.pk])).content
    html = html.decode()
    assert "<dt>Activities by kind</dt><dd>Call 1, Email opened 1</dd>" in html
    assert "<dt>Contacts dated back to their first activity</dt><dd>1</dd>" in html


def test_report_details_leave_out_zeros_and_what_is_for_the_logs():
    report = {
        "details": {
            "won": 2_500,
            "lost": 0,
            "seconds_by_stage": {"read": 1.5},
            "amount_by_currency": {"EUR": "12.50", "USD": "0"},
            "by_kind": {},
        }
    }
    assert jobs.report_details(report) == [
        ("Won", "2,500"),
        ("Amount by currency", "EUR 12.50"),
    ]
