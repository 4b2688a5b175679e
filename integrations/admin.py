"""The webhooks in the admin: endpoints read and switched on or off (created on the webhooks page
or over the API, which show the secret once), the delivery log read-only."""

from django.contrib import admin

from integrations.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "active", "owner", "disabled_at", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["url", "events", "owner", "disabled_at", "disabled_reason", "previous_secret_until"]
    fields = ["url", "description", "events", "active", "owner", "disabled_at", "disabled_reason"]

    def has_add_permission(self, request):
        return False  # the page and the API make the secret and show it once


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
