from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "leadflow.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        # Deals are loaded by sales, with acquisition's pipeline: acquisition cannot import us.
        from leadflow.acquisition.kinds import AFTER_UNDO, RUNNERS
        from leadflow.acquisition.models import ImportKind
        from leadflow.sales import imports

        RUNNERS[ImportKind.DEALS] = imports.run
        AFTER_UNDO[ImportKind.DEALS] = imports.follow_kept_deals
