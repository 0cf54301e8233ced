from django.contrib import admin

from devices.models import Device, DeviceProperty, Downlink, Message, StatusChange
from platform.admin import CheckedJSON, Written, ts_shown


class PropertyInline(CheckedJSON, admin.TabularInline):
    model = DeviceProperty
    extra = 0


@admin.register(Device)
class DeviceAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["device_id", "owner", "name", "enabled", "connected", "last_seen", "rx_messages"]
    list_filter = ["enabled", "connected"]
    search_fields = ["device_id", "name", "owner__username"]
    readonly_fields = ["connected", "connected_ts", "last_seen", "disconnect_at", "ip_address", "rx_bytes",
                       "tx_bytes", "rx_messages"]
    exclude = ["token_hash"]
    filter_horizontal = ["applications"]
    inlines = [PropertyInline]


@admin.register(Message)
class MessageAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "device", ts_shown, "size", "processed_at"]
    list_select_related = ["device"]
    search_fields = ["=device__device_id"]  # exact: the inbox is large, a LIKE would scan it
    show_full_result_count = False


@admin.register(Downlink)
class DownlinkAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "device", "source", "created", "delivered_at"]
    list_select_related = ["device"]
    search_fields = ["=device__device_id"]


@admin.register(StatusChange)
class StatusChangeAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "device", "connected", "at"]
    list_select_related = ["device"]
    search_fields = ["=device__device_id"]
