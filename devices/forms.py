import json
from typing import cast

from django import forms

from buckets.models import Bucket
from devices.models import MAX_TIMEOUT, TIMEOUT_RANGE, Device
from endpoints.models import Connection, Endpoint
from platform.forms import bounds_errors, description_field, json_form_value, make_first_hint
from platform.validators import id_validator


class JSONTextField(forms.CharField):
    """JSON typed as text, parsed by the payload rules (platform/payloads.py): what jsonb could not
    store (NaN, 1e400, a NUL, very deep nesting) is a form error saying what to fix, not a 500."""

    widget = forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"})

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        return json_form_value(value)

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


class DeviceCreateForm(forms.Form):
    device_id = forms.CharField(label="Device id", max_length=64, validators=[id_validator],
                                help_text="Appears in the callback URL: letters, digits, '_' or '-'.")
    name = forms.CharField(max_length=200, required=False)
    description = description_field()
    type = forms.ChoiceField(choices=[("HTTP", "HTTP device")], initial="HTTP",
                             help_text="Devices that POST JSON to their callback URL.")

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean_device_id(self):
        device_id = self.cleaned_data["device_id"]
        if Device.objects.filter(owner=self.owner, device_id=device_id).exists():
            raise forms.ValidationError("You already have a device with this id.")
        return device_id


class DeviceSettingsForm(forms.ModelForm):
    """The device's description and its callback settings (Thinger's actions)."""

    # Declared, so its bounds are checked (set on the generated field after the fact they were not:
    # 0 and 99999 were saved); the API's bounds and message.
    timeout = forms.IntegerField(
        label="Timeout (minutes)", min_value=1, max_value=MAX_TIMEOUT,
        help_text="Minutes without a callback before the device shows as disconnected.",
        error_messages=bounds_errors(TIMEOUT_RANGE))
    description = description_field()

    class Meta:
        model = Device
        fields = ["name", "description", "enabled", "write_bucket", "call_endpoint", "set_property",
                  "send_property", "timeout"]
        labels = {"write_bucket": "Write to bucket", "call_endpoint": "Call endpoint",
                  "set_property": "Set property", "send_property": "Response property"}
        help_texts = {"set_property": "Stores the last payload in this property.",
                      "send_property": "Its value is the answer to every callback (when no downlink is queued)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        owner = self.instance.owner
        write_bucket = cast(forms.ModelChoiceField, self.fields["write_bucket"])
        call_endpoint = cast(forms.ModelChoiceField, self.fields["call_endpoint"])
        write_bucket.queryset = Bucket.objects.filter(owner=owner)
        call_endpoint.queryset = Endpoint.objects.filter(owner=owner)
        write_bucket.empty_label = call_endpoint.empty_label = "(none)"
        # A new user's pickers hold only "(none)": say what to make first, and where.
        for field, what, url_name in ((write_bucket, "bucket", "bucket_create"),
                                      (call_endpoint, "endpoint", "endpoint_create")):
            if field.queryset is not None and not field.queryset.exists():
                field.help_text = make_first_hint(what, url_name, "choose it here")


class DevicePageForm(forms.Form):
    """A form that shares the device page with the callback settings: its own element ids
    (`id_<prefix>_<field>`), so a label focuses its own field (both forms have a "name")."""

    id_prefix: str | None = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class PropertyForm(DevicePageForm):
    id_prefix = "property"
    name = forms.CharField(label="Property", max_length=64, validators=[id_validator])
    value = JSONTextField(label="Value (JSON)", required=False)


class DownlinkForm(DevicePageForm):
    id_prefix = "downlink"
    # Empty and null alike: a null downlink cannot be told from "no downlink" in the answer.
    payload = JSONTextField(label="Payload (JSON)", help_text='Returned to the device in the answer to its next '
                                                           'callback, e.g. {"led": "on"}.',
                            error_messages={"required": 'Give the payload as JSON, e.g. {"led": "on"}: any JSON '
                                                        'but null.'})


class AttachApplicationForm(forms.Form):
    connection = forms.ModelChoiceField(queryset=Connection.objects.none(), label="Application",
                                        empty_label="Choose an application")

    def __init__(self, *args, device, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["connection"]).queryset = (
            Connection.objects.filter(owner=device.owner).exclude(pk__in=device.applications.values("pk")))
