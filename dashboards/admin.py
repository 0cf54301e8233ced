from django import forms
from django.contrib import admin

from dashboards.models import Dashboard
from dashboards.widgets import WidgetError, widgets_clean
from platform.admin import CappedDescription, CheckedJSON, FixedOnChange


class DashboardAdminForm(forms.ModelForm):
    """The widgets go through the API's own check (widgets_clean), so the admin cannot store a
    widget the pages would fail on (e.g. one without layout) or one naming another user's bucket."""

    class Meta:
        model = Dashboard
        fields = "__all__"

    def clean_widgets(self):
        widgets = self.cleaned_data.get("widgets")
        # Fixed once made (FixedOnChange); on add, cleaned before widgets (model field order).
        owner = self.instance.owner if self.instance.pk else self.cleaned_data.get("owner")
        if owner is None:  # the owner field shows its own error
            return widgets
        try:
            return widgets_clean(owner=owner, widgets=[] if widgets is None else widgets)
        except WidgetError as exc:
            raise forms.ValidationError([f"{path}: {message}" if path else message
                                         for path, message in exc.problems]) from None


@admin.register(Dashboard)
class DashboardAdmin(FixedOnChange, CappedDescription, CheckedJSON, admin.ModelAdmin):
    form = DashboardAdminForm
    fixed_on_change = ["owner", "dashboard_id"]
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
