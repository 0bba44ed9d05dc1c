from django.contrib import admin

from leadflow.capture import inbound, webhooks
from leadflow.capture.models import (
    ChannelRule,
    Event,
    Form,
    FormField,
    InboundLead,
    InboundSource,
    LandingPage,
    LeadMagnet,
    Registration,
    Submission,
    TrackingEvent,
    Visitor,
    WebhookDelivery,
    WebhookEndpoint,
)


class FormFieldInline(admin.TabularInline):
    model = FormField
    extra = 0
    fields = ("position", "name", "label", "kind", "required", "maps_to", "options", "consent_text")


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_published", "double_opt_in", "updated_at")
    list_filter = ("is_published", "double_opt_in")
    search_fields = ("name", "slug")
    inlines = [FormFieldInline]


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "form", "is_published", "updated_at")
    list_filter = ("is_published",)
    search_fields = ("title", "slug")


@admin.register(LeadMagnet)
class LeadMagnetAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "file", "created_at")
    search_fields = ("name",)


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """What visitors sent is evidence (consent, attribution): readable, never rewritten."""

    list_display = ("received_at", "form", "status", "contact", "ip_address")
    list_filter = ("status", "form")
    raw_id_fields = ("contact",)
    list_select_related = ("form", "contact")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ChannelRule)
class ChannelRuleAdmin(admin.ModelAdmin):
    list_display = ("priority", "field", "value", "channel")
    list_editable = ("value",)
    list_display_links = ("priority",)


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "name", "url", "visitor_id", "contact")
    list_filter = ("kind",)
    search_fields = ("visitor_id",)
    raw_id_fields = ("contact",)
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ("visitor_id", "contact", "identified_at", "identified_by")
    search_fields = ("visitor_id", "contact__email")
    raw_id_fields = ("contact",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "events", "is_active", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("secret",)

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = webhooks.new_secret()
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every delivery and its last answer; failed ones can be replayed."""

    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event", "endpoint")
    list_select_related = ("endpoint",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay_deliveries"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send the selected deliveries again now")
    def replay_deliveries(self, request, queryset):
        for delivery in queryset:
            webhooks.replay(delivery)
        self.message_user(request, f"{queryset.count()} deliveries queued again.")


@admin.register(InboundSource)
class InboundSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "channel", "campaign", "is_active")
    exclude = ("secret_hash",)

    def save_model(self, request, obj, form, change):
        if not obj.secret_hash:
            secret = inbound.new_secret()
            obj.secret_hash = inbound.hash_secret(secret)
            self.message_user(
                request, f"The secret for {obj.name} is {secret} (shown once; it is not stored)."
            )
        super().save_model(request, obj, form, change)


@admin.register(InboundLead)
class InboundLeadAdmin(admin.ModelAdmin):
    list_display = ("received_at", "source", "external_id", "status", "contact")
    list_filter = ("status", "source")
    raw_id_fields = ("contact",)
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class RegistrationInline(admin.TabularInline):
    model = Registration
    extra = 0
    raw_id_fields = ("contact",)
    fields = ("contact", "registered_at", "attended_at")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("name", "starts_at", "ends_at", "capacity", "location")
    search_fields = ("name",)
    date_hierarchy = "starts_at"
    inlines = [RegistrationInline]
