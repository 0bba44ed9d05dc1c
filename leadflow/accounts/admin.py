from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from leadflow.accounts.models import ApiKey, Team, User, Workspace


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active", "is_staff")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Leadflow", {"fields": ("role", "team", "lead_capacity")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Leadflow", {"fields": ("role", "team")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "default_currency", "reps_see_unassigned")

    def has_add_permission(self, request) -> bool:
        # One workspace per installation.
        return not Workspace.objects.exists()


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    # Keys are made with `leadflow apikey create`, which shows the secret once; the admin
    # only lists and revokes, and never shows or edits the hash.
    readonly_fields = ("user", "prefix", "created_at", "last_used_at")
    exclude = ("key_hash",)

    def has_add_permission(self, request) -> bool:
        return False
