"""The devices API's JSON: devices, callback settings, properties, downlinks, stats (docs/devices.md)."""
import re
import uuid

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from buckets.models import Bucket
from devices.models import MAX_TIMEOUT, TIMEOUT_RANGE
from endpoints.models import Connection, Endpoint
from platform.payloads import PayloadError, json_check
from platform.serializers import (
    ComputedCharField,
    ComputedChoiceField,
    ContextCharField,
    EpochMsField,
    JsonBooleanField,
    JsonCharField,
    JsonRegexField,
    RelatedIdsField,
)
from platform.validators import DESCRIPTION_MAX, ID_PATTERN

ID_MESSAGE = "Use 1 to 64 letters, digits, '_' or '-'."
HEX_PATTERN = r"^(?:[0-9A-Fa-f]{2})*$"
ACTIONS = ("write_bucket", "call_endpoint", "set_property", "send_property")


def id_field(**kwargs):
    return JsonRegexField(ID_PATTERN, max_length=64, error_messages={"invalid": ID_MESSAGE}, **kwargs)


# A string field, so that any other value gets DeviceWriteSerializer.validate_type's message; the
# schema lists the one value that passes it.
@extend_schema_field({"type": "string", "enum": ["HTTP"]})
class DeviceTypeField(JsonCharField):
    pass


class StorableJSONField(serializers.JSONField):
    """Any JSON value that the database can store."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            json_check(value)
        except PayloadError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


# --- Response bodies: each class renders its body and is its schema (drf-spectacular) ---------
# The names end in "Schema": they are the components of the published OpenAPI document. Comments,
# not docstrings: a docstring becomes the component's description there.


class DeviceConnectionSchema(serializers.Serializer):
    active = serializers.BooleanField(source="connected")
    ts = EpochMsField(source="connected_ts", allow_null=True, help_text="epoch ms of the last change")


class DeviceSchema(serializers.Serializer):
    device = id_field(source="device_id")
    name = serializers.CharField()
    description = serializers.CharField()
    type = DeviceTypeField(help_text='always "HTTP"')
    enabled = serializers.BooleanField()
    applications = RelatedIdsField(child=serializers.UUIDField(), help_text="attached connection ids")
    connection = DeviceConnectionSchema(source="*")
    created = EpochMsField(help_text="epoch ms")
    modified = EpochMsField(help_text="epoch ms")


# A new device and its callback token: render with `context={"token": ...}` (only the token's hash
# is stored, so the device does not hold it).
class DeviceCreatedSchema(DeviceSchema):
    token = ContextCharField(help_text="the callback token, shown only here and on regeneration")


class DeviceStatsSchema(serializers.Serializer):
    connected = serializers.BooleanField()
    connected_ts = EpochMsField(allow_null=True)
    last_seen = EpochMsField(allow_null=True)
    ip_address = serializers.CharField(allow_null=True)
    rx_bytes = serializers.IntegerField()
    tx_bytes = serializers.IntegerField()
    rx_messages = serializers.IntegerField()


class CallbackActionsSchema(serializers.Serializer):
    write_bucket = ComputedCharField(compute=lambda d: d.write_bucket.bucket_id if d.write_bucket else None,
                                     allow_null=True, required=False, help_text="bucket id, null = off")
    call_endpoint = ComputedCharField(compute=lambda d: d.call_endpoint.endpoint_id if d.call_endpoint else None,
                                      allow_null=True, required=False, help_text="endpoint id, null = off")
    set_property = ComputedCharField(compute=lambda d: d.set_property or None, allow_null=True, required=False,
                                     help_text="property that stores the last payload, null = off")
    send_property = ComputedCharField(compute=lambda d: d.send_property or None, allow_null=True, required=False,
                                      help_text="property whose value answers the callback, null = off")


class CallbackPropertiesSchema(serializers.Serializer):
    timeout = serializers.IntegerField(required=False, help_text="connection timeout, minutes (default 10)")


# Thinger's callback settings of a device; also documents PUT's body (the same shape).
class CallbackSettingsSchema(serializers.Serializer):
    actions = CallbackActionsSchema(source="*", required=False, allow_null=True)
    properties = CallbackPropertiesSchema(source="*", required=False, allow_null=True)


class TokenSchema(serializers.Serializer):
    token = serializers.CharField(help_text="the new callback token; the old one stops working")


class PropertySchema(serializers.Serializer):
    property = id_field(source="name")
    value = serializers.JSONField(allow_null=True)


class DownlinkSchema(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    payload = serializers.JSONField()
    source = serializers.CharField()  # type: ignore[assignment]  # the field is named like Field.source (stubs)
    state = ComputedChoiceField(["queued", "delivered"],
                                compute=lambda d: "delivered" if d.delivered_at else "queued")
    created = EpochMsField()
    delivered = EpochMsField(source="delivered_at", allow_null=True)


class DownlinkQueuedSchema(serializers.Serializer):
    id = serializers.IntegerField(source="pk")


# --- Request bodies ------------------------------------------------------------------------------


class DeviceWriteSerializer(serializers.Serializer):
    """POST (with `partial=False`) and PUT/PATCH (`partial=True`: only the fields given change).
    Context: `owner`, and `device` when updating. Read-only fields (connection, created, modified)
    are ignored."""

    device = id_field()
    name = JsonCharField(max_length=200, allow_blank=True, required=False)
    description = JsonCharField(allow_blank=True, required=False, max_length=DESCRIPTION_MAX)
    type = DeviceTypeField(required=False)
    enabled = JsonBooleanField(required=False)
    applications = serializers.ListField(child=JsonCharField(), required=False, allow_empty=True)

    def validate_device(self, value):
        current = self.context.get("device")
        if current is not None and value != current.device_id:
            raise serializers.ValidationError("The device id cannot be changed: create a new device instead.")
        return value

    def validate_type(self, value):
        if value != "HTTP":
            raise serializers.ValidationError(f"Only type 'HTTP' is supported, not {value!r}.")
        return value

    def validate_applications(self, ids):
        """The owner's connections, by id; any other id (unknown, malformed, another user's) is
        refused the same way, so the answer reveals nothing about other users."""
        parsed: dict[str, uuid.UUID | None] = {}
        for raw in ids:
            try:
                parsed[raw] = uuid.UUID(raw)
            except ValueError:
                parsed[raw] = None
        found = {c.pk: c for c in Connection.objects.filter(owner=self.context["owner"],
                                                            pk__in=[p for p in parsed.values() if p])}
        unknown = [raw for raw, pk in parsed.items() if pk not in found]
        if unknown:
            raise serializers.ValidationError(
                f"No application {', '.join(repr(u) for u in unknown)}: use the ids of your applications "
                "(GET /iot-flow/v1/connections).")
        return list({pk: found[pk] for pk in parsed.values() if pk is not None}.values())


class CallbackSettingsSerializer(serializers.Serializer):
    """Thinger's callback settings. PUT sets them all: an absent or null action is off, an absent
    timeout is the default (10 minutes). Unknown keys under `properties` are ignored."""

    actions = serializers.DictField(required=False, allow_null=True)
    properties = serializers.DictField(required=False, allow_null=True)

    def validate_actions(self, actions):
        actions = actions or {}
        unknown = sorted(set(actions) - set(ACTIONS))
        if unknown:
            raise serializers.ValidationError(f"Unknown action {', '.join(unknown)}: use {', '.join(ACTIONS)}.")
        owner = self.context["owner"]
        result: dict[str, Bucket | Endpoint | str | None] = {}
        errors: dict[str, str] = {}
        for name in ACTIONS:
            value = actions.get(name)
            if value is None or value == "":
                result[name] = None
                continue
            if not isinstance(value, str):
                errors[name] = "Give an id as a string, or null to turn the action off."
                continue
            if name == "write_bucket":
                result[name] = Bucket.objects.filter(owner=owner, bucket_id=value).first()
                if result[name] is None:
                    errors[name] = f"You have no bucket '{value}': create it first."
            elif name == "call_endpoint":
                result[name] = Endpoint.objects.filter(owner=owner, endpoint_id=value).first()
                if result[name] is None:
                    errors[name] = f"You have no endpoint '{value}': create it first."
            elif not re.fullmatch(ID_PATTERN, value):
                errors[name] = f"Bad property name {value!r}: {ID_MESSAGE}"
            else:
                result[name] = value
        if errors:
            raise serializers.ValidationError(errors)
        return result

    def validate_properties(self, properties):
        timeout = (properties or {}).get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT:
            raise serializers.ValidationError({"timeout": TIMEOUT_RANGE})
        return {"timeout": timeout}

    def settings(self):
        """The keyword arguments of services.callback_settings_set."""
        actions = self.validated_data.get("actions") or self.validate_actions({})
        properties = self.validated_data.get("properties") or self.validate_properties({})
        return {**actions, "timeout": properties["timeout"]}


class PropertyCreateSerializer(serializers.Serializer):
    property = id_field()
    value = StorableJSONField(required=False, allow_null=True, default=None)


# PUT and PATCH on a property. Context: `property`, the name in the URL, which the body may repeat
# but not change (as for devices, buckets and endpoints).
class PropertyValueSerializer(serializers.Serializer):
    property = JsonCharField(required=False, help_text="the name in the URL, if given")
    value = StorableJSONField(allow_null=True)

    def validate_property(self, value):
        if value != self.context["property"]:
            raise serializers.ValidationError("The property id cannot be changed: create a new property instead.")
        return value


# A downlink's body, from the API and from ThingPark's downlink URL alike (inside its
# DevEUI_downlink): `payload` or `payload_hex`, exactly one, so that neither is silently dropped.
class DownlinkSerializer(serializers.Serializer):
    payload = StorableJSONField(required=False, help_text="the JSON the device receives in its next callback "
                                                          "answer (not null)")
    payload_hex = JsonRegexField(HEX_PATTERN, required=False, allow_blank=True,
                                 error_messages={"invalid": "Use an even number of hex digits."},
                                 help_text="instead of payload: the device receives this string")

    def validate(self, attrs):
        if "payload" in attrs and "payload_hex" in attrs:
            raise serializers.ValidationError("Send payload or payload_hex, not both.")
        if "payload" not in attrs and "payload_hex" not in attrs:
            raise serializers.ValidationError({"payload": "Send payload (any JSON but null) or payload_hex "
                                                          "(an even number of hex digits)."})
        return attrs

    def downlink_payload(self):
        """The JSON the device will receive: an HTTP device gets JSON, so the hex string as sent."""
        data = self.validated_data
        return data["payload"] if "payload" in data else data["payload_hex"]
