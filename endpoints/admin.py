from django.contrib import admin

from endpoints.models import Attempt, Connection, Delivery, Endpoint
from platform.admin import CheckedJSON, Written


@admin.register(Endpoint)
class EndpointAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["endpoint_id", "owner", "method", "url", "enabled"]
    search_fields = ["endpoint_id", "name", "owner__username"]


@admin.register(Connection)
class ConnectionAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["name", "owner", "destination_url", "active", "state", "blamed_until"]
    list_filter = ["state", "active"]
    search_fields = ["name", "owner__username"]


class AttemptInline(Written, CheckedJSON, admin.TabularInline):
    model = Attempt
    extra = 0
    readonly_fields = ["at", "url", "status_code", "ms", "response_body", "error"]


@admin.register(Delivery)
class DeliveryAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "owner", "endpoint", "connection", "device_id", "state", "test", "attempts", "next_attempt_at"]
    list_filter = ["state", "test"]
    search_fields = ["=device_id"]
    inlines = [AttemptInline]
    show_full_result_count = False
