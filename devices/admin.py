from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse

from devices.models import MAX_TIMEOUT, TIMEOUT_RANGE, Device, DeviceProperty, Downlink, Message, StatusChange
from devices.services import device_token_regenerate
from devices.views import callback_url
from platform.admin import CappedDescription, CheckedJSON, FixedOnChange, Written, ts_shown
from platform.tokens import token_hash, token_new


class PropertyInline(CheckedJSON, admin.TabularInline):
    model = DeviceProperty
    extra = 0


class DeviceAdminForm(forms.ModelForm):
    """A device's settings by the API's rules: its bucket, endpoint and applications are its
    owner's (another user's bucket got this device's data), its timeout 1 to MAX_TIMEOUT minutes."""

    class Meta:
        model = Device
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        owner = self.instance.owner if self.instance.pk else self.cleaned_data.get("owner")
        if owner is None:  # the owner field shows its own error
            return cleaned
        for name in ("write_bucket", "call_endpoint"):
            target = self.cleaned_data.get(name)
            if target is not None and target.owner_id != owner.pk:
                self.add_error(name, f"{target} is {target.owner}'s, not {owner}'s: choose one of {owner}'s.")
        others = [app.name for app in self.cleaned_data.get("applications") or () if app.owner_id != owner.pk]
        if others:
            self.add_error("applications", f"Only {owner}'s applications: remove {', '.join(others)}.")
        timeout = self.cleaned_data.get("timeout")
        if timeout is not None and not 1 <= timeout <= MAX_TIMEOUT:
            self.add_error("timeout", TIMEOUT_RANGE)
        return cleaned


def tokens_page(request, model_admin, shown, title):
    """The callback tokens just made, shown this once (only their hashes are stored)."""
    context = {**model_admin.admin_site.each_context(request), "title": title, "opts": model_admin.model._meta,
               "tokens": [(device, token, callback_url(device)) for device, token in shown]}
    return TemplateResponse(request, "admin/devices/device/tokens.html", context)


@admin.register(Device)
class DeviceAdmin(FixedOnChange, CappedDescription, CheckedJSON, admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["device_id", "owner", "name", "enabled", "connected", "last_seen", "rx_messages"]
    list_filter = ["enabled", "connected"]
    search_fields = ["device_id", "name", "owner__username"]
    # The type is HTTP, the only one there is; the connection state and counters are the callback's.
    readonly_fields = ["type", "connected", "connected_ts", "last_seen", "disconnect_at", "ip_address", "rx_bytes",
                       "tx_bytes", "rx_messages"]
    fixed_on_change = ["owner", "device_id"]
    exclude = ["token_hash"]
    filter_horizontal = ["applications"]
    inlines = [PropertyInline]
    actions = ["regenerate_tokens"]

    def save_model(self, request, obj, form, change):
        if not change:  # a device needs a callback token, shown once (response_add)
            request._device_token = token_new()
            obj.token_hash = token_hash(request._device_token)
        elif "timeout" in form.changed_data:  # as callback_settings_set
            obj.disconnect_at_follow()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_device_token", None)
        if token is None or admin.options.IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return tokens_page(request, self, [(obj, token)], f"Device {obj.device_id} added: copy its token now")

    @admin.action(description="Regenerate the callback tokens of the selected devices")
    def regenerate_tokens(self, request, queryset):
        shown = [(device, device_token_regenerate(device=device)) for device in queryset.select_related("owner")]
        return tokens_page(request, self, shown, "New callback tokens: copy them now")


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
