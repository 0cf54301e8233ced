from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils import timezone

from endpoints.models import (
    MAX_BLAME_PERIOD,
    MAX_IN_FLIGHT,
    TIMEOUT_MAX,
    TIMEOUT_MIN,
    Attempt,
    Connection,
    Delivery,
    Endpoint,
)
from endpoints.secret_headers import MASK, keep_masked, masked
from platform.admin import CappedDescription, CheckedJSON, FixedOnChange, Written
from platform.validators import URL_MAX, headers_count_problem


class TargetAdminForm(forms.ModelForm):
    """An endpoint's or application's settings in the admin, as on their pages: secret header
    values (Authorization, tokens, keys) are shown masked and kept as they are when the mask is
    posted back (endpoints/secret_headers.py); numbers within the API's bounds (`BOUNDS`)."""

    BOUNDS: dict[str, tuple[int, int, str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "headers" in self.fields:
            self.initial["headers"] = masked(self.instance.headers)
        for name, (low, high, unit) in self.BOUNDS.items():
            if name in self.fields:
                self.fields[name].help_text = f"{low} to {high} {unit}" + (
                    "; empty = the default" if not self.fields[name].required else "")

    def clean_headers(self):
        headers = self.cleaned_data.get("headers")
        if not isinstance(headers, dict):
            return headers  # the model's check says what is wrong
        stored = self.instance.headers if self.instance.pk and isinstance(self.instance.headers, dict) else {}
        new = [name for name, value in headers.items() if value == MASK and name not in stored]
        if new:
            raise forms.ValidationError(f"Header {new[0]}: give its value ({MASK} stands for a value already "
                                        "stored under that name).")
        headers = keep_masked(headers, stored)
        too_many = headers_count_problem(len(headers)) if headers != stored else None
        if too_many:  # as the forms and the APIs; the model's check leaves it out (rows saved before it)
            raise forms.ValidationError(too_many)
        return headers

    def clean(self):
        cleaned = super().clean()
        for name, (low, high, unit) in self.BOUNDS.items():
            value = self.cleaned_data.get(name)
            if value is not None and not low <= value <= high:
                self.add_error(name, f"Give a whole number of {unit} from {low} to {high}.")
        return cleaned


class EndpointAdminForm(TargetAdminForm):
    BOUNDS = {"timeout": (TIMEOUT_MIN, TIMEOUT_MAX, "seconds"), "max_in_flight": (1, MAX_IN_FLIGHT, "requests")}

    class Meta:
        model = Endpoint
        fields = "__all__"


class ConnectionAdminForm(TargetAdminForm):
    BOUNDS = {"blame_period": (0, MAX_BLAME_PERIOD, "seconds"), "max_in_flight": (1, MAX_IN_FLIGHT, "requests")}
    # Plain text, judged by the model's URL rule as in the API: the model's URLField would put
    # "http://" before an address without a scheme, unasked.
    destination_url = forms.CharField(max_length=URL_MAX, widget=forms.URLInput(attrs={"class": "vURLField"}))

    class Meta:
        model = Connection
        fields = "__all__"


@admin.register(Endpoint)
class EndpointAdmin(FixedOnChange, CappedDescription, CheckedJSON, admin.ModelAdmin):
    form = EndpointAdminForm
    list_display = ["endpoint_id", "owner", "method", "url", "enabled"]
    search_fields = ["endpoint_id", "name", "owner__username"]
    fixed_on_change = ["owner", "endpoint_id"]


@admin.register(Connection)
class ConnectionAdmin(FixedOnChange, CappedDescription, CheckedJSON, admin.ModelAdmin):
    form = ConnectionAdminForm
    list_display = ["name", "owner", "destination_url", "active", "state", "blamed_until"]
    list_filter = ["state", "active"]
    search_fields = ["name", "owner__username"]
    # The state and the blame are the sender's; "active" is the switch (as the API's and the page's).
    readonly_fields = ["state", "blamed_until", "startup_time"]
    fixed_on_change = ["owner"]

    def save_model(self, request, obj, form, change):
        # As endpoints/services.py connection_create and connection_replace.
        if not obj.active:
            obj.state = Connection.DEACTIVATED
        elif obj.state == Connection.DEACTIVATED or not change:
            reopened = change
            obj.state, obj.blamed_until, obj.blamed_at, obj.blame_count = Connection.OPENED, None, None, 0
            if reopened:
                from endpoints.delivery import deliveries_wake

                obj.startup_time = timezone.now()
                transaction.on_commit(deliveries_wake)  # what waited while deactivated goes out now
        super().save_model(request, obj, form, change)


class AttemptInline(Written, CheckedJSON, admin.TabularInline):
    model = Attempt
    extra = 0
    readonly_fields = ["at", "url", "status_code", "ms", "response_body", "error"]


@admin.register(Delivery)
class DeliveryAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "owner", "endpoint", "connection", "device_id", "state", "attempts", "next_attempt_at"]
    list_filter = ["state"]
    search_fields = ["=device_id"]
    inlines = [AttemptInline]
    show_full_result_count = False
