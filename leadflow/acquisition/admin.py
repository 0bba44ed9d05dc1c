from django.contrib import admin

from leadflow.acquisition.models import DuplicateCandidate, ImportChange, ImportJob, ImportRecord


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "file_name",
        "kind",
        "status",
        "rows_read",
        "created_count",
        "updated_count",
        "merged_count",
        "rejected_count",
        "created_at",
    )
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in ImportJob._meta.fields]


@admin.register(ImportChange)
class ImportChangeAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "contact_id", "action", "line")
    list_filter = ("action",)
    readonly_fields = [f.name for f in ImportChange._meta.fields]


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "model", "object_id", "action")
    list_filter = ("model", "action")
    readonly_fields = [f.name for f in ImportRecord._meta.fields]


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    """Decisions are taken on the duplicates screen, which merges and records; here, read."""

    list_display = ("id", "contact_a_id", "contact_b_id", "probability", "status", "decided_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in DuplicateCandidate._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
