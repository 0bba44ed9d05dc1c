from django.contrib import admin

from leadflow.contacts.models import (
    Activity,
    Campaign,
    Channel,
    Company,
    Contact,
    ContactMerge,
    Spend,
    StageChange,
    Vendor,
)
from leadflow.contacts.selectors import search_contacts


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "starts_on", "ends_on", "budget", "currency")
    list_filter = ("channel",)
    search_fields = ("name",)


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ("name", "website", "created_at")
    search_fields = ("name",)


@admin.register(Spend)
class SpendAdmin(admin.ModelAdmin):
    list_display = ("spent_on", "amount", "currency", "campaign", "vendor", "note")
    list_filter = ("campaign__channel",)
    date_hierarchy = "spent_on"
    autocomplete_fields = ("campaign", "vendor")


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "industry", "size", "country")
    search_fields = ("name", "domain")
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "first_name",
        "last_name",
        "lifecycle_stage",
        "score",
        "owner",
        "created_at",
    )
    list_filter = ("lifecycle_stage", "consent")
    search_fields = ("email", "first_name", "last_name")
    list_select_related = ("owner",)
    autocomplete_fields = ("company",)
    raw_id_fields = ("owner", "first_touch_campaign", "last_touch_campaign")
    # The list runs on a million rows: no exact count on every page view.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        # The same search as the contacts list, served by its trigram index.
        return search_contacts(queryset, search_term), False


class AppendOnlyAdmin(admin.ModelAdmin):
    """History is written by services; the admin may read it, never rewrite it."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(AppendOnlyAdmin):
    list_display = ("occurred_at", "kind", "contact", "actor")
    list_filter = ("kind",)
    raw_id_fields = ("contact",)
    list_select_related = ("contact", "actor")
    show_full_result_count = False


@admin.register(StageChange)
class StageChangeAdmin(AppendOnlyAdmin):
    list_display = ("changed_at", "contact", "from_stage", "to_stage", "actor", "source")
    list_filter = ("to_stage",)
    raw_id_fields = ("contact",)
    list_select_related = ("contact", "actor")


@admin.register(ContactMerge)
class ContactMergeAdmin(AppendOnlyAdmin):
    """Merges are undone with `undo_merge` (the duplicates screen), never edited here."""

    list_display = ("created_at", "survivor_id", "duplicate_id", "source", "actor", "undone_at")
    list_filter = ("source",)
    list_select_related = ("actor",)
    readonly_fields = [f.name for f in ContactMerge._meta.fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
