from django.contrib import admin

from leadflow.acquisition.models import ImportJob


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
        "rejected_count",
        "started_at",
    )
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in ImportJob._meta.fields]
