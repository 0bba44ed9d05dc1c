"""One module per kind of import (`--kind`), each with a `run(ImportRun)` that fills the report.

`services.import_list` owns the job around a run (its row, its status, failure); a kind owns
what its rows mean and how they are written. `--kind deals` lives in `sales.imports` (deals
are a later step of the funnel than acquisition) and is registered by `SalesConfig.ready`.

A kind may also register in AFTER_UNDO what follows the undo of one of its imports, given the
rows the undo kept ({model label: ids}) and who undid it; it returns how many contacts it
moved (deals: a contact keeps the lifecycle stage its kept deals give it).
"""

from collections.abc import Callable

from leadflow.accounts.models import User
from leadflow.acquisition.kinds import activities, companies, contacts, spend
from leadflow.acquisition.kinds.base import ImportRun
from leadflow.acquisition.models import ImportKind

RUNNERS: dict[str, Callable[[ImportRun], None]] = {
    ImportKind.CONTACTS: contacts.run,
    ImportKind.COMPANIES: companies.run,
    ImportKind.ACTIVITIES: activities.run,
    ImportKind.SPEND: spend.run,
}
AFTER_UNDO: dict[str, Callable[[dict[str, list[int]], User | None], int]] = {}
