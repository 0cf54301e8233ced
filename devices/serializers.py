"""The devices API's JSON: devices, callback settings, properties, downlinks, stats (docs/devices.md)."""
import re
import uuid

from rest_framework import serializers

from buckets.models import Bucket
from endpoints.models import Connection, Endpoint
from platform.payloads import PayloadError, json_check, ms
from platform.validators import ID_PATTERN

ID_MESSAGE = "Use 1 to 64 letters, digits, '_' or '-'."
ACTIONS = ("write_bucket", "call_endpoint", "set_property", "send_property")
MAX_TIMEOUT = 30 * 24 * 60  # minutes


def id_field(**kwargs):
    return serializers.RegexField(ID_PATTERN, max_length=64, error_messages={"invalid": ID_MESSAGE}, **kwargs)


class StorableJSONField(serializers.JSONField):
    """Any JSON value that the database can store."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            json_check(value)
        except PayloadError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


def device_json(device):
    return {
        "device": device.device_id,
        "name": device.name,
        "description": device.description,
        "type": device.type,
        "enabled": device.enabled,
        "applications": [str(connection.pk) for connection in device.applications.all()],
        "connection": {"active": device.connected, "ts": ms(device.connected_ts)},
        "created": ms(device.created),
        "modified": ms(device.modified),
    }


def device_stats_json(device):
    return {
        "connected": device.connected,
        "connected_ts": ms(device.connected_ts),
        "last_seen": ms(device.last_seen),
        "ip_address": device.ip_address,
        "rx_bytes": device.rx_bytes,
        "tx_bytes": device.tx_bytes,
        "rx_messages": device.rx_messages,
    }


def callback_settings_json(device):
    return {
        "actions": {
            "write_bucket": device.write_bucket.bucket_id if device.write_bucket else None,
            "call_endpoint": device.call_endpoint.endpoint_id if device.call_endpoint else None,
            "set_property": device.set_property or None,
            "send_property": device.send_property or None,
        },
        "properties": {"timeout": device.timeout},
    }


def property_json(prop):
    return {"property": prop.name, "value": prop.value}


def downlink_json(downlink):
    return {
        "id": downlink.pk,
        "payload": downlink.payload,
        "source": downlink.source,
        "state": "delivered" if downlink.delivered_at else "queued",
        "created": ms(downlink.created),
        "delivered": ms(downlink.delivered_at),
    }


class DeviceWriteSerializer(serializers.Serializer):
    """POST (with `partial=False`) and PUT/PATCH (`partial=True`: only the fields given change).
    Context: `owner`, and `device` when updating. Read-only fields (connection, created, modified)
    are ignored."""

    device = id_field()
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    type = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False)
    applications = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=True)

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
        parsed = {}
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
        return list({pk: found[pk] for pk in parsed.values()}.values())


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
        result, errors = {}, {}
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
            raise serializers.ValidationError(
                {"timeout": f"Give the connection timeout in whole minutes, 1 to {MAX_TIMEOUT}."})
        return {"timeout": timeout}

    def settings(self):
        """The keyword arguments of services.callback_settings_set."""
        actions = self.validated_data.get("actions") or self.validate_actions({})
        properties = self.validated_data.get("properties") or self.validate_properties({})
        return {**actions, "timeout": properties["timeout"]}


class PropertyCreateSerializer(serializers.Serializer):
    property = id_field()
    value = StorableJSONField(required=False, allow_null=True, default=None)


class PropertyValueSerializer(serializers.Serializer):
    value = StorableJSONField(allow_null=True)


class DownlinkSerializer(serializers.Serializer):
    payload = StorableJSONField(help_text="the JSON the device receives in its next callback answer")
