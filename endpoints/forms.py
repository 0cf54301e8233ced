import json
from typing import cast

from django import forms
from django.template.loader import render_to_string

from devices.models import Device
from endpoints.models import DEFAULT_BLAME_PERIOD, MAX_BLAME_PERIOD, TIMEOUT_DEFAULT, TIMEOUT_MAX, TIMEOUT_MIN, Endpoint
from endpoints.secret_headers import MASK, keep_masked, masked
from platform.forms import bounds_errors, description_field, json_form_value
from platform.validators import header_problems, headers_count_problem, id_validator, url_problem


class HeaderRowsWidget(forms.Widget):
    """Key/value rows posted as `<name>_key` / `<name>_value` lists; "Add header" adds a row.
    The rows HeadersField found wrong (`bad_rows`: posted row index -> message) are marked."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.bad_rows: dict[int, str] = {}

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return list(zip(data.getlist(f"{name}_key"), data.getlist(f"{name}_value")))
        return data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return False

    def render(self, name, value, attrs=None, renderer=None):
        # A dict is the stored configuration: its secret values are shown masked; the view puts
        # them back when the mask is posted unchanged (endpoints/secret_headers.py).
        posted = list(masked(value).items()) if isinstance(value, dict) else list(value or [])
        rows = [(key, val, self.bad_rows.get(index) if isinstance(value, list) else None)
                for index, (key, val) in enumerate(posted) if key or val] or [("", "", None)]
        return render_to_string("_headers.html", {"name": name, "rows": rows,
                                                  "has_mask": any(val == MASK for _, val, _ in rows)})


class HeadersField(forms.Field):
    """Headers as key/value rows, cleaned to a dict. A value without a name is an error; empty
    rows are ignored. Every bad row is reported at once, one message each naming its header, and
    marked on the widget (HeaderRowsWidget.bad_rows) so the person sees which rows to fix."""

    widget = HeaderRowsWidget

    def to_python(self, value):
        widget = cast(HeaderRowsWidget, self.widget)
        widget.bad_rows = {}  # reassigned, never mutated: a form's deep copy shares the dict it was copied with
        if isinstance(value, dict):
            return value
        # (posted row index, name, value) of the rows not left empty.
        rows = [(index, key.strip(), val.strip()) for index, (key, val) in enumerate(value or [])]
        rows = [(index, key, val) for index, key, val in rows if key or val]
        too_many = headers_count_problem(len(rows))
        if too_many:
            raise forms.ValidationError(too_many)
        # The one header rule (platform.validators); the mask stands for a stored secret kept as
        # it is (keep_masked), so only its name is checked.
        problems = header_problems((key, "" if key and val == MASK else val) for _, key, val in rows)
        bad_rows = {rows[position][0]: problem for position, problem in problems.items()}
        if bad_rows:
            widget.bad_rows = bad_rows
            raise forms.ValidationError(list(bad_rows.values()))
        return {key: val for _, key, val in rows}

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError("Add at least one header.")


class EndpointForm(forms.Form):
    endpoint_id = forms.CharField(label="Endpoint id", max_length=64, validators=[id_validator],
                                  help_text="Used in the API and in device settings.")
    name = forms.CharField(max_length=200, required=False)
    description = description_field()
    enabled = forms.BooleanField(required=False, initial=True)
    url = forms.CharField(label="URL", widget=forms.TextInput(attrs={"placeholder": "https://example.com/hook/{{device}}"}),
                          help_text="May use {{device}}, {{payload.a.b}}, {{user}}, {{ts}}.")
    method = forms.ChoiceField(choices=Endpoint.METHODS, initial="POST")
    headers = HeadersField(required=False)
    body = forms.CharField(label="Body template", required=False,
                           widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
                           help_text="Empty sends the message JSON. {{payload}} inserts the whole message.")
    timeout = forms.IntegerField(
        label="Timeout (seconds)", min_value=TIMEOUT_MIN, max_value=TIMEOUT_MAX, initial=TIMEOUT_DEFAULT,
        error_messages=bounds_errors(f"Give a whole number of seconds from {TIMEOUT_MIN} to {TIMEOUT_MAX}."))

    def __init__(self, *args, owner, editing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner, self.editing = owner, editing
        if editing is not None:
            del self.fields["endpoint_id"]

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("Start the URL with http:// or https://.")
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_endpoint_id(self):
        endpoint_id = self.cleaned_data["endpoint_id"]
        if Endpoint.objects.filter(owner=self.owner, endpoint_id=endpoint_id).exists():
            raise forms.ValidationError("You already have an endpoint with this id.")
        return endpoint_id

    def config(self):
        data = dict(self.cleaned_data)
        data.pop("endpoint_id", None)
        data["body"] = data["body"] or None
        if self.editing is not None:
            data["headers"] = keep_masked(data["headers"], self.editing.headers)
        return data

    @classmethod
    def initial_for(cls, endpoint):
        return {name: getattr(endpoint, name) for name in
                ("name", "description", "enabled", "url", "method", "headers", "body", "timeout")}


class SendTestForm(forms.Form):
    payload = forms.CharField(label="Test message (JSON)", initial=json.dumps({"temperature": 21.5}),
                              widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"}))
    device = forms.ModelChoiceField(
        queryset=Device.objects.none(), required=False, empty_label="(none)", label="As if from device",
        help_text="Fills {{device}} and {{device_name}} in the templates, as a message of that device would.")

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["device"]).queryset = (
            Device.objects.filter(owner=owner).order_by("device_id"))

    def clean_payload(self):
        return json_form_value(self.cleaned_data["payload"])


class ApplicationForm(forms.Form):
    """The ThingPark HTTP connection form: the fields a person sees, in ThingPark's words."""

    name = forms.CharField(label="Application Name", max_length=200)
    destination_url = forms.CharField(label="Destination URL", max_length=2000,
                                      widget=forms.URLInput(attrs={"placeholder": "https://example.com/uplink"}),
                                      help_text="Every message of the attached devices is POSTed here.")
    headers = HeadersField(required=False, help_text="Placeholders: {DevEUI}, {DeviceName}, {Time}, "
                                                     "{CustomerID}, {payload} (the device's JSON), "
                                                     "{payload.a.b} (a field of it).")
    description = description_field()
    blame_period = forms.IntegerField(
        label="Blame period (seconds)", min_value=0, max_value=MAX_BLAME_PERIOD, initial=DEFAULT_BLAME_PERIOD,
        required=False, error_messages=bounds_errors(
            f"Give a whole number of seconds from 0 to {MAX_BLAME_PERIOD}, or leave it empty for "
            f"{DEFAULT_BLAME_PERIOD}."),
        help_text="After a failed delivery, deliveries pause this long, then resume with the oldest message; "
                  "failures in a row double the pause, up to 10 minutes.")
    send_raw_decoded_format = forms.BooleanField(
        label="Send the device JSON alone", required=False,
        help_text="Without the DevEUI_uplink envelope (time, device id, downlink URL).")

    EDITABLE = ("name", "destination_url", "headers", "description", "blame_period", "send_raw_decoded_format")

    def __init__(self, *args, only=None, **kwargs):
        super().__init__(*args, **kwargs)
        if only:  # the per-field edit on the details page validates just that field
            for name in list(self.fields):
                if name != only:
                    del self.fields[name]

    def clean_blame_period(self):
        value = self.cleaned_data["blame_period"]
        return DEFAULT_BLAME_PERIOD if value is None else value  # left empty: the default, as in the API

    def clean_destination_url(self):
        url = self.cleaned_data["destination_url"].strip()
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("The destination URL must start with http:// or https://.")
        try:
            forms.URLField(assume_scheme="https").clean(url)
        except forms.ValidationError:
            raise forms.ValidationError("Enter a valid URL, e.g. https://example.com/uplink.") from None
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url
