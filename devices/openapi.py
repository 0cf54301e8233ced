"""Response shapes of the devices API for the OpenAPI schema (drf-spectacular). Documentation
only: the views build these bodies with devices.serializers' *_json functions."""
from rest_framework import serializers

from devices.serializers import id_field


class DeviceConnectionSchema(serializers.Serializer):
    active = serializers.BooleanField()
    ts = serializers.IntegerField(allow_null=True, help_text="epoch ms of the last change")


class DeviceSchema(serializers.Serializer):
    device = id_field()
    name = serializers.CharField()
    description = serializers.CharField()
    type = serializers.CharField(help_text='always "HTTP"')
    enabled = serializers.BooleanField()
    applications = serializers.ListField(child=serializers.UUIDField(), help_text="attached connection ids")
    connection = DeviceConnectionSchema()
    created = serializers.IntegerField(help_text="epoch ms")
    modified = serializers.IntegerField(help_text="epoch ms")


class DeviceCreatedSchema(DeviceSchema):
    token = serializers.CharField(help_text="the callback token, shown only here and on regeneration")


class DeviceStatsSchema(serializers.Serializer):
    connected = serializers.BooleanField()
    connected_ts = serializers.IntegerField(allow_null=True)
    last_seen = serializers.IntegerField(allow_null=True)
    ip_address = serializers.CharField(allow_null=True)
    rx_bytes = serializers.IntegerField()
    tx_bytes = serializers.IntegerField()
    rx_messages = serializers.IntegerField()


class CallbackActionsSchema(serializers.Serializer):
    write_bucket = serializers.CharField(allow_null=True, required=False, help_text="bucket id, null = off")
    call_endpoint = serializers.CharField(allow_null=True, required=False, help_text="endpoint id, null = off")
    set_property = serializers.CharField(allow_null=True, required=False,
                                         help_text="property that stores the last payload, null = off")
    send_property = serializers.CharField(allow_null=True, required=False,
                                          help_text="property whose value answers the callback, null = off")


class CallbackPropertiesSchema(serializers.Serializer):
    timeout = serializers.IntegerField(required=False, help_text="connection timeout, minutes (default 10)")


class CallbackSettingsSchema(serializers.Serializer):
    actions = CallbackActionsSchema(required=False, allow_null=True)
    properties = CallbackPropertiesSchema(required=False, allow_null=True)


class TokenSchema(serializers.Serializer):
    token = serializers.CharField(help_text="the new callback token; the old one stops working")


class PropertySchema(serializers.Serializer):
    property = id_field()
    value = serializers.JSONField(allow_null=True)


class DownlinkSchema(serializers.Serializer):
    id = serializers.IntegerField()
    payload = serializers.JSONField()
    source = serializers.CharField()
    state = serializers.ChoiceField(["queued", "delivered"])
    created = serializers.IntegerField()
    delivered = serializers.IntegerField(allow_null=True)


class DownlinkQueuedSchema(serializers.Serializer):
    id = serializers.IntegerField()
