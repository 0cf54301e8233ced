"""The web forms: a dashboard's name, and a widget built from the owner's own buckets, fields
(discovered from recent records), devices and properties. Widget rules are dashboards/widgets.py's,
so the form and the API refuse the same things with the same words."""
from typing import cast

from django import forms

from buckets.models import Bucket
from buckets.selectors import AGG_STEPS, AGG_TYPES
from buckets.selectors.query import bucket_fields
from dashboards.widgets import RANGES, TYPES, WidgetError, widget_clean
from devices.forms import JSONTextField
from devices.models import Device, DeviceProperty
from platform.forms import description_field, make_first_hint
from platform.validators import id_validator

TYPE_LABELS = {"chart": "Chart", "value": "Value", "gauge": "Gauge", "status": "Status", "map": "Map",
               "table": "Table", "property": "Property", "downlink": "Downlink button"}
# The inputs each widget type uses; the form shows only those (it re-renders when the type changes).
INPUTS = {
    "chart": ["bucket", "fields", "range", "agg", "agg_type", "unit", "decimals", "min", "max", "color"],
    "value": ["bucket", "fields", "device", "property", "field", "unit", "decimals", "color"],
    "gauge": ["bucket", "fields", "device", "property", "field", "unit", "decimals", "min", "max", "color"],
    "status": ["device"],
    "map": ["bucket", "range", "lat_field", "lon_field", "color"],
    "table": ["bucket", "fields", "items", "decimals"],
    "property": ["device", "property", "field", "unit", "decimals"],
    "downlink": ["device", "payload", "label"],
}
ERROR_FIELDS = {"source.bucket": "bucket", "source.fields": "fields", "source.field": "fields",
                "source.device": "device", "source.property": "property", "source.items": "items",
                "source.range": "range", "source.agg": "agg", "source.agg_type": "agg_type", "title": "title"}
# A map's two fields are chosen in the latitude and longitude pickers, not in the list of fields.
MAP_ERROR_FIELDS = {**ERROR_FIELDS, "source.fields": "lat_field"}
# The API's words for a missing id ("Give a bucket id: 1 to 64 letters...") do not fit a picker
# left at "(choose a bucket)": the form says what to do with the input in front of the user.
NOTHING_CHOSEN = {"bucket": "Choose a bucket.", "device": "Choose a device.", "fields": "Choose the field to show.",
                  "property": "Give the property's name: pick one of the device's or type it."}
# A value or gauge reads a bucket's field or a device's property: with neither chosen, say both.
NOTHING_CHOSEN_ONE_VALUE = {**NOTHING_CHOSEN,
                            "bucket": "Choose a bucket (and one of its fields), or a device and one of its properties."}
# A mistake that follows from another input's: not repeated (the fields are offered once a bucket
# is chosen; max is compared with a min that could not be read).
FOLLOWS_FROM = {"fields": "bucket", "lat_field": "bucket", "max": "min"}


class DashboardForm(forms.Form):
    dashboard_id = forms.CharField(label="Dashboard id", max_length=64, validators=[id_validator],
                                   help_text="Used in the API: letters, digits, '_' or '-'.")
    name = forms.CharField(max_length=200, required=False)
    description = description_field()

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # the id is in URLs and scripts; it does not change
            del self.fields["dashboard_id"]


def _typed_id(value):
    """A bucket or device id as typed, or "" when no id could be it: the form's choices are looked
    up before validation, and a NUL would reach the database (which cannot even compare it)."""
    return value if isinstance(value, str) and "\x00" not in value else ""


class OneOfList(forms.RadioSelect):
    """Radio buttons for a list input that takes one value (a value or gauge's field): the form
    still reads it as a list, as the API's "fields" is."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        return [value] if value else []


class WidgetForm(forms.Form):
    type = forms.ChoiceField(label="Widget type", choices=list(TYPE_LABELS.items()))
    title = forms.CharField(max_length=100, required=False)
    bucket = forms.ChoiceField(label="Bucket", required=False)
    # The form's metaclass moves declared fields to base_fields: on an instance, `fields` is still the dict.
    fields: dict[str, forms.Field] = forms.MultipleChoiceField(  # type: ignore[assignment]
        label="Fields", required=False, widget=forms.CheckboxSelectMultiple)
    range = forms.ChoiceField(label="Range", choices=[(r, r) for r in RANGES], initial="24h", required=False)
    agg = forms.ChoiceField(label="Aggregate interval", choices=[("auto", "auto (by range)")] + [
        (a, a) for a in AGG_STEPS], initial="auto", required=False)
    agg_type = forms.ChoiceField(label="Aggregate", choices=[(t, t) for t in AGG_TYPES], initial="mean",
                                 required=False)
    lat_field = forms.ChoiceField(label="Latitude field", required=False)
    lon_field = forms.ChoiceField(label="Longitude field", required=False)
    items = forms.IntegerField(label="Rows", min_value=1, max_value=50, initial=10, required=False)
    device = forms.ChoiceField(label="Device", required=False)
    property = forms.CharField(label="Property", max_length=64, required=False,
                               widget=forms.TextInput(attrs={"list": "property-names"}))
    field = forms.CharField(label="Field of the property", max_length=200, required=False,
                            help_text="Optional: one field of an object property, e.g. interval.")
    unit = forms.CharField(max_length=16, required=False)
    decimals = forms.IntegerField(min_value=0, max_value=6, required=False)
    min = forms.FloatField(label="Min", required=False)
    max = forms.FloatField(label="Max", required=False)
    color = forms.CharField(label="Colour", max_length=7, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "#2563eb"}),
                            help_text="#rgb or #rrggbb, e.g. #d33 or #2563eb; empty for the default.")
    payload = JSONTextField(label="Payload (JSON)", required=False,
                            help_text='Queued for the device each time the button is pressed, e.g. {"led": "on"}.')
    label = forms.CharField(label="Button label", max_length=40, required=False, initial="Send")

    def __init__(self, *args, owner, choices_from=None, refresh_url=None, **kwargs):
        """`choices_from`: the values (bound data or initial) whose bucket and device decide which
        fields and properties are offered; `refresh_url` re-renders the form (htmx) when the type,
        bucket or device changes."""
        super().__init__(*args, **kwargs)
        if refresh_url:
            for name in ("type", "bucket", "device"):
                self.fields[name].widget.attrs.update({
                    "hx-get": refresh_url, "hx-trigger": "change", "hx-include": "closest form",
                    "hx-target": "#widget-form", "hx-swap": "outerHTML"})
        self.owner = owner
        current = choices_from if choices_from is not None else (self.data or self.initial)
        kind = current.get("type")
        self.kind = kind if isinstance(kind, str) and kind in TYPES else "chart"
        buckets = list(Bucket.objects.filter(owner=owner).order_by("bucket_id").values_list("bucket_id", flat=True))
        devices = list(Device.objects.filter(owner=owner).order_by("device_id").values_list("device_id", flat=True))
        cast(forms.ChoiceField, self.fields["bucket"]).choices = [("", "(choose a bucket)")] + [(b, b) for b in buckets]
        cast(forms.ChoiceField, self.fields["device"]).choices = [("", "(choose a device)")] + [(d, d) for d in devices]
        bucket = Bucket.objects.filter(owner=owner, bucket_id=_typed_id(current.get("bucket"))).first()
        offered = bucket_fields(bucket=bucket) if bucket else []
        chosen = current.getlist("fields") if hasattr(current, "getlist") else list(current.get("fields") or [])
        if self.kind in ("value", "gauge"):  # one field: radio buttons, not checkboxes
            self.fields["fields"].widget = OneOfList()
            self.fields["fields"].label = "Field"
        cast(forms.ChoiceField, self.fields["fields"]).choices = [(f, f) for f in dict.fromkeys([*offered, *chosen])]
        self._position_choices(offered, current)
        self.fields["fields"].help_text = (
            "Fields seen in the bucket's latest records. A chart or table without any shows them all; a value or "
            "gauge shows one." if offered else
            "Choose a bucket: its fields appear here once it has records." if not bucket else
            "No records in this bucket yet: its fields appear here once data arrives.")
        self.property_names = sorted(DeviceProperty.objects.filter(
            device__owner=owner, device__device_id=_typed_id(current.get("device"))).values_list("name", flat=True))
        self.shown = {"type", "title", *INPUTS[self.kind]}
        if self.kind in ("value", "gauge"):
            self.fields["bucket"].help_text = "A field of a bucket's latest record, or leave it empty and choose a " \
                                              "device and one of its properties below."
        self._hint_when_none(buckets, devices)

    def _hint_when_none(self, buckets, devices):
        """A new user's pickers are empty: say where to make what they would offer."""
        for name, have, url, what in (("bucket", buckets, "bucket_create", "bucket"),
                                      ("device", devices, "device_create", "device")):
            if not have:
                self.fields[name].help_text = make_first_hint(what, url, "come back to this form")

    def _position_choices(self, offered, current):
        """The map's latitude and longitude pickers offer the discovered fields, and the stored
        choice even when recent records lack it (else saving the form would drop it)."""
        for name, default in (("lat_field", "lat or latitude"), ("lon_field", "lon or longitude")):
            stored = [current.get(name)] if current.get(name) else []
            cast(forms.ChoiceField, self.fields[name]).choices = [("", f"({default})")] + [
                (f, f) for f in dict.fromkeys([*offered, *stored])]

    def visible(self):
        return [self[name] for name in self.fields if name in self.shown]

    def widget(self):
        """The widget of docs/dashboards.md that the inputs describe (before widget_clean)."""
        data, kind = self.cleaned_data, self.cleaned_data["type"]
        if kind in ("value", "gauge") and not data.get("bucket") and data.get("device"):
            source = {"device": data["device"], "property": data.get("property") or None}
            if data.get("field"):
                source["field"] = data["field"]
        elif kind in ("value", "gauge"):
            source = {"bucket": data.get("bucket") or None, "fields": data.get("fields") or []}
        elif kind in ("chart", "map", "table"):
            source = {"bucket": data.get("bucket") or None}
            source.update({k: data[k] for k in INPUTS[kind] if k in ("fields", "range", "agg", "agg_type", "items")
                           and data.get(k) not in (None, "", [])})
            if kind == "map" and (data.get("lat_field") or data.get("lon_field")):
                source["fields"] = [data.get("lat_field") or "", data.get("lon_field") or ""]
        else:
            source = {"device": data.get("device") or None}
            if kind == "property":
                source["property"] = data.get("property") or None
                if data.get("field"):
                    source["field"] = data["field"]
        options = {k: data[k] for k in ("unit", "decimals", "min", "max", "color")
                   if k in self.shown and data.get(k) not in (None, "")}
        if kind == "downlink":
            options.update({"payload": data.get("payload"), "label": data.get("label") or "Send"})
        return {"type": kind, "title": data.get("title") or "", "source": source, "options": options}

    def clean(self):
        """The widget's rules run even when an input has its own error (decimals 9): one submit
        shows every mistake, each beside its input. Only the type decides everything else."""
        data = super().clean()
        if "type" not in self.cleaned_data:
            return data
        try:
            self.cleaned_widget = widget_clean(owner=self.owner, data=self.widget())
        except WidgetError as exc:
            for path, message in exc.problems:
                self._widget_error(path, message)
        return data

    def _widget_error(self, path, message):
        """A mistake widget_clean found, beside the input it is about (the form's top if none is);
        skipped where the input already says what is wrong (a widget without the decimals that
        could not be read is not wrong about them)."""
        name = (MAP_ERROR_FIELDS if self.kind == "map" else ERROR_FIELDS).get(path) or path.partition(".")[2]
        if name not in self.shown:  # e.g. layout.x: no input for it on this form
            self.add_error(None, message)
            return
        if name in self.errors or FOLLOWS_FROM.get(name) in self.errors:
            return
        if self[name].value() in (None, "", []):
            message = (NOTHING_CHOSEN_ONE_VALUE if self.kind in ("value", "gauge") else NOTHING_CHOSEN).get(name, message)
        self.add_error(name, message)
