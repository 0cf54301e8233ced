"""The rule form: one flat form a person can read top to bottom, each field explained with an
example. It builds the same settings the API does; services.rule_check judges them."""
from typing import cast

from django import forms

from alarms.conditions import OPS, parse_value
from alarms.models import MAX_EMAIL, MAX_MINUTES, SEVERITIES, Rule
from buckets.models import Bucket
from devices.models import Device
from endpoints.models import Endpoint
from platform.payloads import PayloadError
from platform.validators import id_validator

OP_LABELS = [(op, f"{label} ({op})") for op, label in OPS.items()]
CONFIRM_CHOICES = [("immediate", "At once: the first matching value opens the alarm"),
                   ("sequence", "After a number of consecutive matching values"),
                   ("timespan", "When the condition holds for a number of seconds")]
# Where the service's error keys (the API's dotted paths) belong in this form.
ERROR_FIELDS = {"rule": "rule_id", "source.type": "source_type", "source.bucket": "bucket",
                "source.property": "property", "source.minutes": "silence_minutes",
                "condition": "op", "condition.op": "op", "condition.value": "value", "condition.max": "max",
                "normalize": "normalize_op", "normalize.op": "normalize_op", "normalize.value": "normalize_value",
                "normalize.max": "normalize_max", "confirm": "confirm_type", "confirm.type": "confirm_type",
                "confirm.count": "confirm_count", "confirm.seconds": "confirm_seconds", "devices": "devices",
                "notify.endpoints": "endpoints", "notify.emails": "emails", "reminder.minutes": "reminder_minutes",
                "severity": "severity"}


class NumberField(forms.FloatField):
    """Keeps a whole number whole: an upper bound of 40 is stored, and answered by the API, as 40
    (as a rule made through the API keeps it), not 40.0."""

    def to_python(self, value):
        number = super().to_python(value)
        return int(number) if number is not None and number.is_integer() else number


class RuleForm(forms.Form):
    rule_id = forms.CharField(label="Rule id", max_length=64, validators=[id_validator],
                              help_text="A short id used in the API and in notifications, e.g. too-hot.")
    name = forms.CharField(max_length=200, required=False, help_text="What people read, e.g. Too hot.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                                  help_text="Optional: what to do when it fires, e.g. Open the greenhouse windows.")
    enabled = forms.BooleanField(required=False, initial=True, help_text="A disabled rule opens no alarms, e.g. untick it while a sensor is "
                                                                 "being serviced.")
    severity = forms.ChoiceField(choices=[(s, s) for s in SEVERITIES], initial="medium",
                                 help_text="How bad it is, e.g. critical for a freezer that warms up, low for a "
                                           "battery running down: critical alarms are listed first.")
    source_type = forms.ChoiceField(label="Watch", choices=Rule.SOURCES,
                                    help_text="A bucket field is tested on each new record, a property on each "
                                              "change; status fires when a device disconnects; silence when it "
                                              "sends nothing for a while, e.g. Silence: no data for 5 minutes.")
    bucket = forms.ModelChoiceField(queryset=Bucket.objects.none(), required=False,
                                    help_text="Bucket rules: the bucket your devices write to, e.g. b1.")
    property = forms.CharField(max_length=64, required=False,
                               help_text="Property rules: the device property to watch, e.g. battery.")
    field = forms.CharField(max_length=200, required=False,
                            help_text="The field to test, e.g. temperature; a.b for a nested one; empty tests the "
                                      "whole value.")
    silence_minutes = forms.IntegerField(label="Silence (minutes)", min_value=1, max_value=MAX_MINUTES, required=False,
                                         help_text="Silence rules: e.g. 5 fires when a device sent no message for "
                                                   "5 minutes.")
    devices = forms.ModelMultipleChoiceField(queryset=Device.objects.none(), required=False,
                                             widget=forms.CheckboxSelectMultiple,
                                             help_text="Leave all unchecked to watch every device that feeds the "
                                                       "source, including ones you add later; or tick some, e.g. "
                                                       "only greenhouse-1.")
    op = forms.ChoiceField(label="Condition", choices=OP_LABELS, initial="gt",
                           help_text="Bucket and property rules: when the value is a problem, e.g. greater than "
                                     "(gt).")
    value = forms.CharField(required=False, help_text="e.g. 30. For equal / not equal also text or true/false, "
                                                      "e.g. error. Not needed for present / absent.")
    max = NumberField(label="Upper bound", required=False,
                      help_text="Only for between / outside, e.g. 40: with value 20, between means 20 to 40.")
    confirm_type = forms.ChoiceField(label="Confirm", choices=CONFIRM_CHOICES, initial="immediate",
                                     help_text="Avoid alarms on a single odd reading, e.g. after 3 readings "
                                               "in a row, or when it holds for 2 minutes.")
    confirm_count = forms.IntegerField(label="Consecutive matches", min_value=1, required=False,
                                       help_text="For the consecutive option, e.g. 3: three readings in a row.")
    confirm_seconds = forms.IntegerField(label="Holds for (seconds)", min_value=1, required=False,
                                         help_text="For the time option, e.g. 120: the condition holds for 2 minutes.")
    normalize_op = forms.ChoiceField(label="Normalize when", required=False,
                                     choices=[("", "the condition stops holding")] + OP_LABELS,
                                     help_text="Optional hysteresis, e.g. fire above 30, normalize only below "
                                               "25 (less than, 25).")
    normalize_value = forms.CharField(label="Normalize value", required=False, help_text="e.g. 25.")
    normalize_max = NumberField(label="Normalize upper bound", required=False,
                                help_text="Only for between / outside, e.g. 28: normalize when between 20 and 28.")
    latch = forms.BooleanField(required=False, help_text="Latch: the alarm stays open until someone clears it, "
                                                         "even when the values return to normal, e.g. for a "
                                                         "door that was forced open.")
    endpoints = forms.ModelMultipleChoiceField(
        label="Call endpoints", queryset=Endpoint.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Each is called on activation, reminders and normalization; its templates can use {{alarm.rule}}, "
                  "{{alarm.device}}, {{alarm.severity}}, {{alarm.state}}, {{alarm.value}}, {{alarm.url}}, e.g. "
                  "{\"text\": \"{{alarm.rule}} on {{alarm.device}}: {{alarm.value}}\"}.")
    emails = forms.CharField(label="E-mail addresses", required=False,
                             widget=forms.TextInput(attrs={"placeholder": "ops@example.com, me@example.com"}),
                             help_text="Comma-separated, e.g. ops@example.com.")
    reminder_minutes = forms.IntegerField(label="Remind every (minutes)", min_value=1, max_value=MAX_MINUTES,
                                          required=False,
                                          help_text="e.g. 60: notify again every hour while nobody acknowledged it. "
                                                    "Empty: no reminders.")

    SECTIONS = [
        ("Rule", ["rule_id", "name", "description", "severity", "enabled"]),
        ("What to watch", ["source_type", "bucket", "property", "field", "silence_minutes", "devices"]),
        ("When it is a problem", ["op", "value", "max", "confirm_type", "confirm_count", "confirm_seconds"]),
        ("When it is over", ["normalize_op", "normalize_value", "normalize_max", "latch"]),
        ("Who is told", ["endpoints", "emails", "reminder_minutes"]),
    ]
    # Fields that matter only for some settings: the page hides the others (data-show-when:
    # "field:values" conditions joined by "|", all of which must hold; static/js/app.js).
    _VALUED = "gt gte lt lte eq ne between outside"
    SHOW_WHEN = {"bucket": "source_type:bucket", "property": "source_type:property",
                 "field": "source_type:bucket property", "silence_minutes": "source_type:silence",
                 "op": "source_type:bucket property", "value": f"source_type:bucket property|op:{_VALUED}",
                 "max": "source_type:bucket property|op:between outside",
                 "confirm_type": "source_type:bucket property",
                 "confirm_count": "source_type:bucket property|confirm_type:sequence",
                 "confirm_seconds": "source_type:bucket property|confirm_type:timespan",
                 "normalize_op": "source_type:bucket property",
                 "normalize_value": f"source_type:bucket property|normalize_op:{_VALUED}",
                 "normalize_max": "source_type:bucket property|normalize_op:between outside"}

    def __init__(self, *args, owner, editing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner, self.editing = owner, editing
        cast(forms.ModelChoiceField, self.fields["bucket"]).queryset = \
            Bucket.objects.filter(owner=owner).order_by("bucket_id")
        cast(forms.ModelMultipleChoiceField, self.fields["devices"]).queryset = \
            Device.objects.filter(owner=owner).order_by("device_id")
        cast(forms.ModelMultipleChoiceField, self.fields["endpoints"]).queryset = \
            Endpoint.objects.filter(owner=owner).order_by("endpoint_id")
        if editing is not None:
            del self.fields["rule_id"]

    def sections(self):
        return [(title, [(self[name], self.SHOW_WHEN.get(name, "")) for name in names if name in self.fields])
                for title, names in self.SECTIONS]

    def clean_emails(self):
        addresses = [a.strip() for a in self.cleaned_data["emails"].replace(";", ",").split(",") if a.strip()]
        checker = forms.EmailField(max_length=MAX_EMAIL)
        for address in addresses:
            try:
                checker.clean(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an e-mail address (of at most {MAX_EMAIL} "
                                            "characters).") from None
        return addresses

    def clean_value(self):
        return self._value_checked("value")

    def clean_normalize_value(self):
        return self._value_checked("normalize_value")

    def _value_checked(self, name):
        """The text as typed, once it is known to parse into a value a rule can hold."""
        text = self.cleaned_data[name]
        try:
            parse_value(text)
        except PayloadError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text

    def _condition(self, op, value, high):
        if not op:
            return None
        condition = {"op": op}
        if value not in (None, ""):
            condition["value"] = parse_value(value)
        if high is not None:
            condition["max"] = high
        return condition

    def spec(self):
        """The settings for services.rule_create / rule_update."""
        data = self.cleaned_data
        kind = data["confirm_type"]
        confirm = {"type": kind}
        if kind == "sequence":
            confirm["count"] = data["confirm_count"]
        elif kind == "timespan":
            confirm["seconds"] = data["confirm_seconds"]
        return {
            "name": data["name"], "description": data["description"], "enabled": data["enabled"],
            "severity": data["severity"], "source_type": data["source_type"], "bucket": data["bucket"],
            "property": data["property"].strip(), "field": data["field"].strip(),
            "silence_minutes": data["silence_minutes"], "devices": list(data["devices"]) or None,
            "condition": self._condition(data["op"], data["value"], data["max"]), "confirm": confirm,
            "normalize": self._condition(data["normalize_op"], data["normalize_value"], data["normalize_max"]),
            "latch": data["latch"], "endpoints": list(data["endpoints"]), "emails": data["emails"],
            "reminder_minutes": data["reminder_minutes"],
        }

    def add_service_errors(self, exc):
        for key, errors in exc.message_dict.items():
            name = ERROR_FIELDS.get(key, key)
            self.add_error(name if name in self.fields else None, errors)

    @classmethod
    def initial_for(cls, rule):
        condition, normalize, confirm = rule.condition or {}, rule.normalize or {}, rule.confirm or {}

        def text(value):
            import json

            return value if isinstance(value, str) else json.dumps(value)

        return {
            "name": rule.name, "description": rule.description, "enabled": rule.enabled, "severity": rule.severity,
            "source_type": rule.source_type, "bucket": rule.bucket_id, "property": rule.property,
            "field": rule.field, "silence_minutes": rule.silence_minutes,
            "devices": [] if rule.all_devices else list(rule.devices.all()),
            "op": condition.get("op", "gt"), "value": text(condition["value"]) if "value" in condition else "",
            "max": condition.get("max"), "confirm_type": confirm.get("type", "immediate"),
            "confirm_count": confirm.get("count"), "confirm_seconds": confirm.get("seconds"),
            "normalize_op": normalize.get("op", ""),
            "normalize_value": text(normalize["value"]) if "value" in normalize else "",
            "normalize_max": normalize.get("max"), "latch": rule.latch, "endpoints": list(rule.endpoints.all()),
            "emails": ", ".join(rule.emails), "reminder_minutes": rule.reminder_minutes,
        }


class ShelveForm(forms.Form):
    minutes = forms.TypedChoiceField(coerce=int, initial=60, choices=[(15, "15 minutes"), (60, "1 hour"),
                                                                       (240, "4 hours"), (1440, "1 day")])
