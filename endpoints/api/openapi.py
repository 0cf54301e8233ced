"""Response shapes of the endpoints and connections APIs for the OpenAPI schema
(drf-spectacular). Documentation only: the views build these bodies with *_json functions."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

DELIVERY_STATES = ["pending", "delivered", "failed"]

class CallAnswerSchema(serializers.Serializer):
    status = serializers.IntegerField(help_text="the endpoint's HTTP status")
    body = serializers.CharField(help_text="its answer, truncated")
    ms = serializers.IntegerField()


class AttemptSchema(serializers.Serializer):
    id = serializers.IntegerField()
    delivery = serializers.IntegerField()
    message_id = serializers.IntegerField(allow_null=True)
    device = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(DELIVERY_STATES, help_text="the delivery's state now")
    ts = serializers.IntegerField(help_text="epoch ms of the attempt")
    url = serializers.CharField()
    status = serializers.IntegerField(allow_null=True, help_text="null: no HTTP answer")
    ms = serializers.IntegerField()
    body = serializers.CharField(help_text="the answer, truncated")
    error = serializers.CharField(allow_null=True)


class DeliverySchema(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.IntegerField(allow_null=True, help_text="null for a manual call")
    device = serializers.CharField(allow_null=True)
    ts = serializers.IntegerField(help_text="message time, epoch ms")
    state = serializers.ChoiceField(DELIVERY_STATES)
    attempts = serializers.IntegerField()
    next_attempt = serializers.IntegerField(allow_null=True, help_text="epoch ms, while pending")
    last_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    created = serializers.IntegerField()
    delivered = serializers.IntegerField(allow_null=True)


# --- ThingPark connections ---------------------------------------------------------------------

class ConnectionConfigurationSchema(serializers.Serializer):
    destinationURL = serializers.URLField(help_text="must start with http:// or https://")
    headers = serializers.DictField(child=serializers.CharField(), required=False,
                                    help_text="values may use {DevEUI}, {DeviceName}, {Time}, {CustomerID}, "
                                              "{payload.a.b}")
    blamePeriod = serializers.IntegerField(required=False, default=30, help_text="seconds")
    description = serializers.CharField(required=False, allow_blank=True)
    sendRawDecodedFormat = serializers.BooleanField(required=False, default=False)
    maxInFlight = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=256,
                                           help_text="requests in flight at once (each device's messages still go "
                                                     "one at a time, in order); null = the platform's default")


class ConnectionRequestSchema(serializers.Serializer):
    connectorId = serializers.CharField(required=False, default="actility-http-iot")
    name = serializers.CharField(max_length=200)
    active = serializers.BooleanField(required=False, default=True)
    configuration = ConnectionConfigurationSchema()


class ConnectionSchema(ConnectionRequestSchema):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(["OPENED", "UNREACHABLE", "DEACTIVATED"])
    startupTime = serializers.DateTimeField()
    downlinkUrl = serializers.URLField(help_text="POST DevEUI_downlink here; the URL is the credential")


class StatisticsSchema(serializers.Serializer):
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    oldestPendingSeconds = serializers.IntegerField(help_text="age of the oldest pending delivery; 0 if none")


class ConnectionDetailSchema(ConnectionSchema):
    statistics = StatisticsSchema(help_text="deliveries still in the log")


class ThingParkErrorSchema(serializers.Serializer):
    code = serializers.CharField(help_text="com-4000 (400), com-4001 (401), com-4004 (404)")
    message = serializers.CharField()


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="default 1"),
    OpenApiParameter("perPage", int, description="default 20, max 100"),
    *(OpenApiParameter(name, int, location=OpenApiParameter.HEADER, response=[200], description=text)
      for name, text in (("X-Total", "rows in all pages"), ("X-Total-Pages", "number of pages"),
                         ("X-Page", "this page"), ("X-Per-Page", "rows per page"))),
]

STATE_PARAMETER = OpenApiParameter("state", str, enum=DELIVERY_STATES)


def thingpark_errors(*codes):
    text = {400: "Invalid input (com-4000).", 401: "No or invalid access token (com-4001).",
            404: "Not found, or another user's (com-4004)."}
    return {code: OpenApiResponse(ThingParkErrorSchema, description=text[code]) for code in sorted({401, 404, *codes})}


# A message sent to an endpoint now: any JSON.
ANY_JSON = OpenApiTypes.ANY