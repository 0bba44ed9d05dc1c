"""`leadflow undo --import N | --merge N [--format text|json]`: take back an import or a
merge from the command line, as the Imports and Duplicates screens do.

An import goes back through `jobs.undo_import` (its new rows deleted unless someone has
worked them since, its changes restored unless changed since, its list cost removed); a
merge through `dedupe.queue.undo_recorded_merge` (the contact comes back, and the pair is
not proposed again). Each is refused with a message when it cannot be undone: unknown,
already undone, or not finished.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from leadflow.acquisition.dedupe.queue import undo_recorded_merge
from leadflow.acquisition.jobs import undo_import
from leadflow.acquisition.models import ImportJob
from leadflow.contacts.models import ContactMerge
from leadflow.errors import LeadflowError


class Command(BaseCommand):
    help = "Undo an import (--import ID) or a merge of two contacts (--merge ID)."

    def add_arguments(self, parser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--import", dest="job", type=int, metavar="ID", help="an import job")
        what.add_argument("--merge", type=int, metavar="ID", help="a contact merge")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *, job: int | None, merge: int | None, format: str, **options) -> None:
        try:
            document = self._undo_import(job) if job is not None else self._undo_merge(merge)
        except LeadflowError as error:
            raise CommandError(str(error)) from error
        if format == "json":
            self.stdout.write(json.dumps(document))
        else:
            self.stdout.write(document["summary"])

    def _undo_import(self, pk: int) -> dict:
        job = ImportJob.objects.filter(pk=pk).first()
        if job is None:
            raise CommandError(f"There is no import #{pk}.")
        result = undo_import(job=job, actor=None)
        kept = len(result.kept) + len(result.kept_records)
        summary = (
            f"Import #{pk} undone: {result.deleted} new contacts deleted, {result.restored} "
            f"changed contacts restored, {kept} rows kept (worked since the import), "
            f"{len(result.conflicts)} values kept that were changed since."
        )
        return {"import_id": pk, **result.as_dict(), "summary": summary}

    def _undo_merge(self, pk: int) -> dict:
        merge = ContactMerge.objects.filter(pk=pk).first()
        if merge is None:
            raise CommandError(f"There is no merge #{pk}.")
        merge = undo_recorded_merge(merge, actor=None)
        summary = (
            f"Merge #{pk} undone: contact #{merge.duplicate_id} is back beside "
            f"#{merge.survivor_id}, and the pair will not be proposed again."
        )
        return {
            "merge_id": pk,
            "survivor_id": merge.survivor_id,
            "duplicate_id": merge.duplicate_id,
            "undone_at": merge.undone_at.isoformat(),
            "summary": summary,
        }
