"""The alarms API's bodies: rules and alarms as docs/alarms.md writes them, and the request
serializers that check their shape (the meaning is checked once, in services.rule_check).

Each response class renders its body and is its schema (drf-spectacular); their names end in
"Schema", the components of the published OpenAPI document, so comments, not docstrings (which
become the components' text), say how they render."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from alarms.conditions import CONFIRMS, OPS
from alarms.models import MAX_EMAIL, MAX_MINUTES, SEVERITIES, Alarm, AlarmEvent, Rule
from platform.clock import ms
from platform.serializers import (
    ComputedEpochMsField,
    EpochMsField,
    JsonBooleanField,
    JsonCharField,
    JsonEmailField,
    JsonIntegerField,
    JsonRegexField,
)
from platform.validators import DESCRIPTION_MAX, ID_PATTERN

ID_MESSAGE = "Use 1 to 64 letters, digits, '_' or '-'."


# Json* fields take only their JSON type (platform/serializers.py), as the other APIs' do. A
# setting of a source type other than `type` must be null or absent ("" for field and property):
# services.rule_check refuses it.
class SourceSerializer(serializers.Serializer):
    type = serializers.ChoiceField([k for k, _ in Rule.SOURCES])
    bucket = JsonCharField(required=False, allow_null=True, help_text="bucket id (type bucket only)")
    # A property's name is an id, as the properties API makes it: anything else can never change.
    property = JsonRegexField(ID_PATTERN, required=False, allow_null=True, allow_blank=True,
                              error_messages={"invalid": "A property name: " + ID_MESSAGE},
                              help_text="property name (type property only)")
    field = JsonCharField(required=False, allow_blank=True, allow_null=True, max_length=200,
                          help_text="a.b path in the record or value; empty = the whole value "
                                    "(types bucket and property only)")
    minutes = JsonIntegerField(required=False, allow_null=True,
                               help_text="minutes without a message (type silence only)")


class NumberField(serializers.FloatField):
    """A JSON number kept as the client sent it: FloatField would store 40 and answer 40.0, where
    the contract's examples show 40. A number in the schema all the same."""

    def to_internal_value(self, data: Any) -> int | float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> int | float:  # type: ignore[override]  # a number, as it came in
        return value


class ConditionSerializer(serializers.Serializer):
    op = serializers.ChoiceField(list(OPS))
    # Any JSON value, null too: eq/ne compare with whatever the field holds (rule_check wants a
    # number for the numeric ops and says so).
    value = serializers.JSONField(required=False, allow_null=True,
                                  help_text="a number for gt/gte/lt/lte/between/outside; any JSON value for eq/ne")
    max = NumberField(required=False, help_text="upper bound for between/outside")


class ConfirmSerializer(serializers.Serializer):
    type = serializers.ChoiceField(list(CONFIRMS))
    count = JsonIntegerField(required=False, help_text="sequence: consecutive matches")
    seconds = JsonIntegerField(required=False, help_text="timespan: seconds the condition holds")


class NotifySerializer(serializers.Serializer):
    endpoints = serializers.ListField(child=JsonCharField(), default=list, help_text="endpoint ids")
    # A longer address than an e-mail's recipient column holds was accepted, then the alarm's
    # activation failed on it and no alarm ever opened.
    emails = serializers.ListField(child=JsonEmailField(max_length=MAX_EMAIL), default=list, max_length=20)


class ReminderSerializer(serializers.Serializer):
    minutes = JsonIntegerField(min_value=1, max_value=MAX_MINUTES)


class RuleSerializer(serializers.Serializer):
    rule = JsonRegexField(ID_PATTERN, error_messages={"invalid": ID_MESSAGE})
    name = JsonCharField(max_length=200, allow_blank=True, default="")
    description = JsonCharField(allow_blank=True, default="", max_length=DESCRIPTION_MAX)
    enabled = JsonBooleanField(default=True)
    severity = serializers.ChoiceField(list(SEVERITIES), default="medium")
    source = SourceSerializer()  # type: ignore[assignment]  # the field is named like Field.source (stubs)
    devices = serializers.ListField(child=JsonCharField(), allow_null=True, default=None,
                                    help_text="device ids; null = every device that feeds the source")
    condition = ConditionSerializer(required=False, allow_null=True,
                                    help_text="bucket and property rules; null for status and silence rules")
    confirm = ConfirmSerializer(required=False, allow_null=True)
    normalize = ConditionSerializer(required=False, allow_null=True,
                                    help_text="bucket and property rules, optional; null for status and silence "
                                              "rules")
    latch = JsonBooleanField(default=False)
    notify = NotifySerializer(required=False)
    reminder = ReminderSerializer(required=False, allow_null=True)


# A rule as the API answers it: the request's fields plus times. Rendered here, not by the
# request's fields: `source` is a union whose keys depend on its type, and the ids are the
# related objects' ids.
class RuleSchema(RuleSerializer):
    created = serializers.IntegerField(help_text="epoch ms")
    modified = serializers.IntegerField(help_text="epoch ms")

    def to_representation(self, rule: Rule) -> dict:
        source: dict[str, Any] = {"type": rule.source_type}
        if rule.source_type == Rule.BUCKET:
            source.update(bucket=rule.bucket.bucket_id if rule.bucket is not None else None, field=rule.field)
        elif rule.source_type == Rule.PROPERTY:
            source.update(property=rule.property, field=rule.field)
        elif rule.source_type == Rule.SILENCE:
            source["minutes"] = rule.silence_minutes
        return {
            "rule": rule.rule_id, "name": rule.name, "description": rule.description, "enabled": rule.enabled,
            "severity": rule.severity, "source": source,
            "devices": None if rule.all_devices else sorted(d.device_id for d in rule.devices.all()),
            "condition": rule.condition, "confirm": rule.confirm or {"type": "immediate"},
            "normalize": rule.normalize, "latch": rule.latch,
            "notify": {"endpoints": sorted(e.endpoint_id for e in rule.endpoints.all()),
                       "emails": list(rule.emails)},
            "reminder": {"minutes": rule.reminder_minutes} if rule.reminder_minutes else None,
            "created": ms(rule.created), "modified": ms(rule.modified),
        }


class EventSchema(serializers.Serializer):
    ts = EpochMsField()
    type = serializers.ChoiceField([t for t, _ in AlarmEvent.TYPES])
    detail = serializers.CharField()


class AlarmSchema(serializers.Serializer):
    id = serializers.CharField(source="pk")
    rule = serializers.CharField(source="rule.rule_id")
    device = serializers.CharField(source="device.device_id")
    severity = serializers.ChoiceField(list(SEVERITIES))
    state = serializers.ChoiceField([s for s, _ in Alarm.STATES])
    value = serializers.JSONField(allow_null=True)
    activated = EpochMsField()
    acknowledged = EpochMsField(allow_null=True)
    normalized = EpochMsField(allow_null=True)
    cleared = EpochMsField(allow_null=True)
    # Only while shelved: the time left over from an earlier shelving means nothing once it ends.
    shelved_until = ComputedEpochMsField(compute=lambda a: a.shelved_until if a.state == Alarm.SHELVED else None,
                                         allow_null=True)


# The alarm and its events, oldest first (AlarmEvent's ordering).
class AlarmDetailSchema(AlarmSchema):
    events = EventSchema(many=True)


class ShelveSerializer(serializers.Serializer):
    minutes = JsonIntegerField(min_value=1, max_value=30 * 24 * 60, default=60)
