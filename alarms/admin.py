from django.contrib import admin

from alarms.models import Alarm, AlarmEmail, AlarmEvent, Rule, RuleState
from platform.admin import CheckedJSON


@admin.register(Rule)
class RuleAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["rule_id", "owner", "name", "source_type", "severity", "enabled", "latch"]
    list_filter = ["source_type", "severity", "enabled"]
    search_fields = ["rule_id", "name", "owner__username"]
    filter_horizontal = ["devices", "endpoints"]


class EventInline(CheckedJSON, admin.TabularInline):
    model = AlarmEvent
    extra = 0
    readonly_fields = ["ts", "type", "detail", "delivery", "email"]


@admin.register(Alarm)
class AlarmAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "owner", "rule", "device", "severity", "state", "value", "activated"]
    list_filter = ["state", "severity"]
    list_select_related = ["owner", "rule", "device"]
    search_fields = ["rule__rule_id", "device__device_id", "owner__username"]
    readonly_fields = ["activated", "acknowledged", "normalized", "cleared", "last_notified", "last_ts"]
    inlines = [EventInline]
    show_full_result_count = False


@admin.register(AlarmEmail)
class AlarmEmailAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "alarm", "kind", "to", "state", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["state", "kind"]


@admin.register(RuleState)
class RuleStateAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["rule", "device", "count", "since_ts", "last_ts"]
