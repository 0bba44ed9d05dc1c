"""Background entry points of capture: load by id, call one service."""

from datetime import timedelta

from django_tasks import task

from leadflow.capture import services
from leadflow.capture.models import Submission, SubmissionStatus
from leadflow.scheduler import register


@task()
def retry_submission(submission_id: int) -> str:
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None or submission.status == SubmissionStatus.PROCESSED:
        return "nothing to do"
    services.process_submission(submission=submission)
    return "processed"


@task()
def send_confirmation_email(submission_id: int) -> str:
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None or submission.confirmed_at is not None:
        return "nothing to do"
    services.send_confirmation_email(submission=submission)
    return "sent"


@task()
def retry_failed_submissions() -> int:
    """A safety net for submissions whose processing failed (a bug, a database hiccup)."""
    ids = list(
        Submission.objects.filter(status=SubmissionStatus.FAILED).values_list("pk", flat=True)[:500]
    )
    for submission_id in ids:
        retry_submission.enqueue(submission_id=submission_id)
    return len(ids)


@register("retry_failed_submissions", every=timedelta(minutes=15))
def _schedule_retries() -> None:
    retry_failed_submissions.enqueue()
