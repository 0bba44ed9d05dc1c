from django.contrib import admin

from leadflow.acquisition.models import ImportChange, ImportJob


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
