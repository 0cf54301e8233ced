"""The endpoints and connections APIs' bodies (docs/devices.md): each response class renders its
body and is its schema (drf-spectacular), and the request serializers that check what is sent.

The response classes' names end in "Schema": they are the components of the published OpenAPI
document. Comments, not docstrings, describe them: a docstring becomes the component's text."""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from endpoints import delivery as engine
from endpoints.models import (
    DEFAULT_BLAME_PERIOD,
    MAX_BLAME_PERIOD,
    MAX_IN_FLIGHT,
    TIMEOUT_DEFAULT,
    TIMEOUT_MAX,
    TIMEOUT_MIN,
    Connection,
    Endpoint,
)
from platform.clock import ms
from platform.serializers import (
    ComputedCharField,
    ComputedEpochMsField,
    EpochMsField,
    JsonBooleanField,
    JsonCharField,
    JsonIntegerField,
    JsonRegexField,
)
from platform.validators import DESCRIPTION_MAX, ID_PATTERN, url_problem, validate_headers

DELIVERY_STATES = ["pending", "delivered", "failed"]


# --- The delivery log, on both APIs ---------------------------------------------------------------

class CallAnswerSchema(serializers.Serializer):
    status = serializers.IntegerField(help_text="the endpoint's HTTP status")
    body = serializers.CharField(help_text="its answer, truncated")
    ms = serializers.IntegerField()


TEST_HELP = "sent with Send test or /call: shown in the log, not counted in the statistics"


class AttemptSchema(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    delivery = serializers.IntegerField(source="delivery_id")
    message_id = serializers.IntegerField(source="delivery.message_id", allow_null=True)
    test = serializers.BooleanField(source="delivery.test", help_text=TEST_HELP)
    device = ComputedCharField(compute=lambda a: a.delivery.device_id or None, allow_null=True)
    state = serializers.ChoiceField(DELIVERY_STATES, source="delivery.state", help_text="the delivery's state now")
    ts = EpochMsField(source="at", help_text="epoch ms of the attempt")
    url = serializers.CharField()
    status = serializers.IntegerField(source="status_code", allow_null=True, help_text="null: no HTTP answer")
    ms = serializers.IntegerField()
    body = serializers.CharField(source="response_body", help_text="the answer, truncated")
    error = ComputedCharField(compute=lambda a: a.error or None, allow_null=True)


class DeliverySchema(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    message_id = serializers.IntegerField(allow_null=True, help_text="null for a test call or an alarm notification")
    device = ComputedCharField(compute=lambda d: d.device_id or None, allow_null=True)
    ts = serializers.IntegerField(help_text="message time, epoch ms")
    state = serializers.ChoiceField(DELIVERY_STATES)
    attempts = serializers.IntegerField()
    next_attempt = ComputedEpochMsField(compute=lambda d: d.next_attempt_at if d.state == "pending" else None,
                                        allow_null=True, help_text="epoch ms, while pending")
    last_status = serializers.IntegerField(allow_null=True)
    last_error = ComputedCharField(compute=lambda d: d.last_error or None, allow_null=True)
    created = EpochMsField()
    delivered = EpochMsField(source="delivered_at", allow_null=True)


# An endpoint's delivery: also says whether it was a test call (a connection has none).
class EndpointDeliverySchema(DeliverySchema):
    test = serializers.BooleanField(help_text=TEST_HELP)


# Rendered from the {"delivered", "failed", "pending", "oldestPendingSeconds"} of
# endpoints.delivery.deliveries_statistics.
class StatisticsSchema(serializers.Serializer):
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    oldestPendingSeconds = serializers.IntegerField(help_text="age of the oldest pending delivery; 0 if none")


# --- Thinger-style endpoints -----------------------------------------------------------------------

class HeadersField(serializers.DictField):
    """{name: value} checked by the one header rule (platform.validators) and kept as sent: the
    child field documents the values but does not read them, as it would turn a number into text
    and strip spaces where the other surfaces refuse them."""

    def to_internal_value(self, data: Any) -> dict:
        try:
            validate_headers(data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.messages) from None
        return dict(data)


# Named for the schema: buckets has a ConfigSerializer too, and both would be the component "Config".
@extend_schema_serializer(component_name="EndpointConfig")
class ConfigSerializer(serializers.Serializer):
    url = JsonCharField(max_length=2000)
    method = serializers.ChoiceField([m for m, _ in Endpoint.METHODS], default="POST")
    headers = HeadersField(child=serializers.CharField(allow_blank=True, max_length=4000), default=dict)
    body = serializers.JSONField(default=None, allow_null=True)
    timeout = JsonIntegerField(min_value=TIMEOUT_MIN, max_value=TIMEOUT_MAX, default=TIMEOUT_DEFAULT)
    max_in_flight = JsonIntegerField(min_value=1, max_value=MAX_IN_FLIGHT, default=None, allow_null=True,
                                             help_text="requests in flight at once (each device's messages still "
                                                       "go one at a time, in order); null = the platform's default, "
                                                       "64 unless DELIVERY_MAX_IN_FLIGHT says otherwise")

    def validate_url(self, value):
        problem = url_problem(value)
        if problem:
            raise ValidationError(problem)
        return value

    def validate_body(self, value):
        # A JSON body given as an object is kept as its text: the body is a template.
        if value is None or isinstance(value, str):
            return value or None
        return json.dumps(value)


class EndpointSerializer(serializers.Serializer):
    endpoint = JsonRegexField(ID_PATTERN,
                                      error_messages={"invalid": "Use 1 to 64 letters, digits, '_' or '-'."})
    name = JsonCharField(max_length=200, allow_blank=True, default="")
    description = JsonCharField(allow_blank=True, default="", max_length=DESCRIPTION_MAX)
    type = JsonCharField(default="http_request")
    enabled = JsonBooleanField(default=True)
    config = ConfigSerializer()

    def validate_type(self, value):
        if value != "http_request":
            raise ValidationError("Only 'http_request' endpoints are supported.")
        return value


@extend_schema_serializer(component_name="EndpointReplace")
class EndpointReplaceSerializer(EndpointSerializer):
    """PUT's body, for the schema: the URL names the endpoint, so the body may leave its id out."""

    endpoint = JsonRegexField(ID_PATTERN, required=False)


@extend_schema_serializer(component_name="EndpointConfigChanges")
class ConfigChangesSerializer(ConfigSerializer):
    """PATCH's `config`, for the schema: its keys are merged into the current config, so the URL
    too may be left out."""

    url = JsonCharField(max_length=2000, required=False)


@extend_schema_serializer(component_name="EndpointChanges")
class EndpointChangesSerializer(EndpointReplaceSerializer):
    """PATCH's body, for the schema (drf-spectacular makes every top-level field optional)."""

    config = ConfigChangesSerializer()


# Rendered here, not by the request's fields: their names are the wire's, not the model's.
class EndpointSchema(EndpointSerializer):
    """An endpoint as the API answers it: the request fields plus times."""

    created = serializers.IntegerField(help_text="epoch ms")
    modified = serializers.IntegerField(help_text="epoch ms")

    def to_representation(self, endpoint: Endpoint) -> dict:
        return {
            "endpoint": endpoint.endpoint_id,
            "name": endpoint.name,
            "description": endpoint.description,
            "type": endpoint.type,
            "enabled": endpoint.enabled,
            "config": {"url": endpoint.url, "method": endpoint.method, "headers": endpoint.headers,
                       "body": endpoint.body, "timeout": endpoint.timeout, "max_in_flight": endpoint.max_in_flight},
            "created": ms(endpoint.created),
            "modified": ms(endpoint.modified),
        }


# GET on one endpoint: render with `context={"statistics": <deliveries_statistics' first value>}`.
class EndpointDetailSchema(EndpointSchema):
    statistics = StatisticsSchema(help_text="deliveries still in the log")

    def to_representation(self, endpoint: Endpoint) -> dict:
        return {**super().to_representation(endpoint),
                "statistics": StatisticsSchema(self.context["statistics"]).data}


# --- ThingPark connections (the request is checked by endpoints/api/thingpark.connection_parse) ----

class ConnectionConfigurationSchema(serializers.Serializer):
    destinationURL = serializers.URLField(help_text="must start with http:// or https://")
    # null, as leaving a field out, takes its default.
    headers = serializers.DictField(child=serializers.CharField(), required=False, allow_null=True,
                                    help_text="values may use {DevEUI}, {DeviceName}, {Time}, {CustomerID}, "
                                              "{payload} (the device's JSON), {payload.a.b} (a field of it)")
    blamePeriod = serializers.IntegerField(required=False, allow_null=True, default=DEFAULT_BLAME_PERIOD, min_value=0,
                                           max_value=MAX_BLAME_PERIOD, help_text=f"seconds; null = {DEFAULT_BLAME_PERIOD}")
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=DESCRIPTION_MAX)
    sendRawDecodedFormat = serializers.BooleanField(required=False, default=False)
    maxInFlight = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_IN_FLIGHT,
                                           help_text="requests in flight at once (each device's messages still go "
                                                     "one at a time, in order); null = the platform's default, "
                                                     "64 unless DELIVERY_MAX_IN_FLIGHT says otherwise")


class ConnectionRequestSchema(serializers.Serializer):
    connectorId = serializers.CharField(required=False, default="actility-http-iot")
    name = serializers.CharField(max_length=200)
    active = serializers.BooleanField(required=False, default=True)
    configuration = ConnectionConfigurationSchema()


# A connection as ThingPark answers it: the request's fields, then its state, in ThingPark's order
# (rendered here: the wire's names are camelCase, the model's are not).
class ConnectionSchema(ConnectionRequestSchema):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(["OPENED", "UNREACHABLE", "DEACTIVATED"])
    startupTime = serializers.DateTimeField()
    downlinkUrl = serializers.URLField(help_text="POST DevEUI_downlink here; the URL is the credential")

    def to_representation(self, connection: Connection) -> dict:
        return {
            "id": str(connection.pk),
            "connectorId": connection.connector_id,
            "name": connection.name,
            "active": connection.active,
            "configuration": {
                "destinationURL": connection.destination_url,
                "headers": connection.headers,
                "blamePeriod": connection.blame_period,
                "description": connection.description,
                "sendRawDecodedFormat": connection.send_raw_decoded_format,
                "maxInFlight": connection.max_in_flight,
            },
            "state": connection.state,
            "startupTime": connection.startup_time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "downlinkUrl": engine.connection_downlink_url(connection),
        }


# GET on one connection: render with `context={"statistics": <deliveries_statistics' first value>}`.
class ConnectionDetailSchema(ConnectionSchema):
    statistics = StatisticsSchema(help_text="deliveries still in the log")

    def to_representation(self, connection: Connection) -> dict:
        return {**super().to_representation(connection),
                "statistics": StatisticsSchema(self.context["statistics"]).data}
