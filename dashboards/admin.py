from django.contrib import admin

from dashboards.models import Dashboard


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ["dashboard_id", "owner", "name", "widget_count", "shared", "modified"]
    search_fields = ["dashboard_id", "name", "owner__username"]
    readonly_fields = ["shared_at", "created", "modified"]
    exclude = ["share_hash"]
    actions = ["revoke_links"]

    @admin.display(description="widgets")
    def widget_count(self, obj):
        return len(obj.widgets or [])

    @admin.display(boolean=True)
    def shared(self, obj):
        return obj.share_hash is not None

    @admin.action(description="Revoke the share links of the selected dashboards")
    def revoke_links(self, request, queryset):
        queryset.update(share_hash=None, shared_at=None)
