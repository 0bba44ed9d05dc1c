from django.contrib import admin

from leadflow.sales.models import Deal


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "contact",
        "amount",
        "currency",
        "stage",
        "expected_close_on",
        "won_at",
        "lost_at",
    )
    list_filter = ("stage", "currency")
    search_fields = ("name", "contact__email")
    raw_id_fields = ("contact", "company", "owner")
    list_select_related = ("contact",)
