"""One module per kind of import (`--kind`), each with a `run(ImportRun)` that fills the report.

`services.import_list` owns the job around a run (its row, its status, failure); a kind owns
what its rows mean and how they are written.
"""

from collections.abc import Callable

from leadflow.acquisition.kinds import contacts
from leadflow.acquisition.kinds.base import ImportRun
from leadflow.acquisition.models import ImportKind

RUNNERS: dict[str, Callable[[ImportRun], None]] = {
    ImportKind.CONTACTS: contacts.run,
}
