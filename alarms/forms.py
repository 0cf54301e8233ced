"""The rule form: one flat form a person can read top to bottom, each field explained with an
example. It builds the same settings the API does; services.rule_check judges them, on every
submit, so one round shows every error it can (was: the form's own first, the service's after).
A valid form's checked settings (checked_spec) are what the views save, not checked again."""
import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from alarms import services
from alarms.conditions import OPS, parse_value
from alarms.models import MAX_EMAIL, MAX_MINUTES, SEVERITIES, Rule
from buckets.models import Bucket
from devices.models import Device
from endpoints.models import Endpoint
from platform.forms import description_field
from platform.payloads import PayloadError
from platform.validators import id_validator

# "greater than (gt)": the API's name after the words; not where the words start with it already
# ("between (inclusive) (between)", "present (present)").
OP_LABELS = [(op, label if label.startswith(op) else f"{label} ({op})") for op, label in OPS.items()]
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
# The service's messages that speak the API's JSON, said in the form's terms instead (the API's
# own answers keep their wording): (field, pattern of the service's message, the form's message,
# which may use the pattern's groups and {op}, the words of the field's condition).
FORM_WORDING = [
    ("max", r"'\w+' needs a numeric max", "{op} needs an upper bound: type a number, e.g. 40 (with value 20: 20 to 40)."),
    ("max", r"must not be below value \((?P<value>.*)\)", "The upper bound must not be below the value ({value})."),
    ("normalize_max", r"'\w+' needs a numeric max", "{op} needs a normalize upper bound: type a number, e.g. 28."),
    ("normalize_max", r"must not be below value \((?P<value>.*)\)",
     "The normalize upper bound must not be below the normalize value ({value})."),
    ("op", r"give an object such as", "Choose a condition, e.g. greater than."),
    ("normalize_op", r"give an object such as", "Choose when it normalizes, e.g. less than."),
]
# The condition each field's message is about, for {op}.
CONDITION_OF = {"max": "op", "normalize_max": "normalize_op"}
# Pickers that are empty until the person made one of these: (what, page that makes one).
MAKE_FIRST = {"bucket": ("buckets", "bucket_create", "create a bucket"),
              "devices": ("devices", "device_create", "add a device"),
              "endpoints": ("endpoints", "endpoint_create", "create an endpoint")}
# What the spec takes for a field whose input did not clean (the service then judges the rest) or
# is hidden (RuleForm.hidden: empty, as a setting the source type does not use must be).
UNCLEANED: dict[str, Any] = {
    "name": "", "description": "", "enabled": False, "severity": "medium", "source_type": None, "bucket": None,
    "property": "", "field": "", "silence_minutes": None, "devices": [], "op": "", "value": "", "max": None,
    "confirm_type": "immediate", "confirm_count": None, "confirm_seconds": None, "normalize_op": "",
    "normalize_value": "", "normalize_max": None, "latch": False, "endpoints": [], "emails": [],
    "reminder_minutes": None}


class NumberField(forms.FloatField):
    """Keeps a whole number whole: an upper bound of 40 is stored, and answered by the API, as 40
    (as a rule made through the API keeps it), not 40.0."""

    def to_python(self, value):
        number = super().to_python(value)
        return int(number) if number is not None and number.is_integer() else number


class RuleForm(forms.Form):
    checked_spec: dict[str, Any]  # what clean()'s rule_check returned: set when it found nothing wrong
    rule_id = forms.CharField(label="Rule id", max_length=64, validators=[id_validator],
                              help_text="A short id used in the API and in notifications, e.g. too-hot.")
    name = forms.CharField(max_length=200, required=False, help_text="What people read, e.g. Too hot.")
    description = description_field(help_text="Optional: what to do when it fires, e.g. Open the greenhouse windows.")
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
    # "field:values" conditions joined by "|", all of which must hold; static/js/app.js) and still
    # sends them; clean() ignores what they hold (hidden()).
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
        """(title, [(bound field, data-show-when, make-first hint or None)]) for each section."""
        return [(title, [(self[name], self.SHOW_WHEN.get(name, ""), self._make_first(name))
                         for name in names if name in self.fields])
                for title, names in self.SECTIONS]

    def _make_first(self, name):
        """For a picker with nothing to pick (a new user's): what to make first, and where."""
        if name not in MAKE_FIRST:
            return None
        choices = cast(forms.ModelChoiceField, self.fields[name]).queryset
        if choices is None or choices.exists():
            return None
        what, url_name, action = MAKE_FIRST[name]
        return {"what": what, "url_name": url_name, "action": action}

    def fixes(self):
        """(label, id to link to, first message) of each input with an error, top to bottom: the
        summary at the top of the page. A group of checkboxes has no one input: its part's id."""
        return [(field.label, field.id_for_label or f"part-{field.name}", field.errors[0])
                for _, fields in self.sections() for field, _, _ in fields if field.errors]

    def clean_rule_id(self):
        """A taken id is said with the rest (the service says it again if a concurrent create wins)."""
        rule_id = self.cleaned_data["rule_id"]
        if Rule.objects.filter(owner=self.owner, rule_id=rule_id).exists():
            raise forms.ValidationError(f"You already have a rule '{rule_id}'.")
        return rule_id

    def hidden(self):
        """The inputs the page hides for the choices submitted, as static/js/app.js decides."""
        def holds(condition):
            name, values = condition.split(":")
            return self.data.get(name, "") in values.split(" ")

        return {name for name, when in self.SHOW_WHEN.items() if not all(map(holds, when.split("|")))}

    def clean(self):
        """The service's check, also when some inputs did not clean: what it finds about the
        others is shown with their own errors, in the same round. A hidden input counts as empty,
        whatever the browser sent for it (what was typed before switching the source type, say):
        the person cannot see it, so neither it nor an error about it can matter."""
        cleaned = super().clean()
        for name in self.hidden():
            self.errors.pop(name, None)
            self.cleaned_data[name] = UNCLEANED[name]
        try:
            self.checked_spec = services.rule_check(owner=self.owner, spec=self.spec())
        except ValidationError as exc:
            self.add_service_errors(exc, only_new=True)
        return cleaned

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
        """The settings for services.rule_check; for inputs that did not clean or are hidden,
        UNCLEANED's (the service judges the rest)."""
        data = {**UNCLEANED, **self.cleaned_data}
        kind = data["confirm_type"]
        confirm: dict[str, Any] = {"type": kind}
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

    def add_service_errors(self, exc, only_new=False):
        """Each of the service's errors (under the API's dotted keys) next to its own input, in the
        form's words; only_new: not on an input that has an error already (the form's own says it
        in the form's terms; the service's would say the same again, or judge a stand-in value)."""
        for key, errors in exc.message_dict.items():
            name = ERROR_FIELDS.get(key, key)
            name = name if name in self.fields else None
            if only_new and name is not None and name in self.errors:
                continue
            self.add_error(name, [self._in_form_terms(name, message) for message in errors])

    def _in_form_terms(self, name, message):
        for field, pattern, text in FORM_WORDING:
            match = re.search(pattern, message) if field == name else None
            if match:
                op = self.data.get(CONDITION_OF.get(field, field), "")
                words = OPS.get(op, "the condition").split(" (")[0]
                return text.format(op=words[:1].upper() + words[1:], **match.groupdict())
        return message

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
