"""The devices part of the REST API (docs/devices.md). Thin adapters: the owner (404 for anyone
else), a serializer to validate, one service to write, the response serializer (the same class
the schema documents) to answer."""
import re
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import selectors, services
from devices.serializers import (
    ID_MESSAGE,
    CallbackSettingsSchema,
    CallbackSettingsSerializer,
    DeviceCreatedSchema,
    DeviceSchema,
    DeviceStatsSchema,
    DeviceWriteSerializer,
    DownlinkQueuedSchema,
    DownlinkSchema,
    DownlinkSerializer,
    PropertyCreateSerializer,
    PropertySchema,
    PropertyValueSerializer,
    TokenSchema,
)
from platform.auth import owner_or_404
from platform.schema import api_errors
from platform.serializers import items_param
from platform.validators import ID_PATTERN

DOWNLINKS_DEFAULT, DOWNLINKS_MAX = 100, 1000

# Request examples: the bodies Swagger UI fills in for "Try it out", so each is one the API accepts
# as is, with the ids the docs use (tests/security/test_api_examples.py sends them all).
DEVICE_EXAMPLE = OpenApiExample("A sensor", request_only=True, value={
    "device": "sensor-1", "name": "Sensor 1", "description": "Greenhouse, north wall", "type": "HTTP",
    "enabled": True})
DEVICE_CHANGES_EXAMPLE = OpenApiExample("Rename", request_only=True, value={
    "name": "Greenhouse sensor", "description": "Greenhouse, south wall"})
PROPERTY_EXAMPLE = OpenApiExample("A configuration", request_only=True, value={
    "property": "config", "value": {"interval": 60}})
PROPERTY_VALUE_EXAMPLE = OpenApiExample("A new value", request_only=True, value={"value": {"interval": 30}})
DOWNLINK_EXAMPLE = OpenApiExample("A command", request_only=True, value={"payload": {"led": "on"}})


@contextmanager
def model_errors_as_400():
    """A model's ValidationError (duplicate id, bad field) becomes the API's 400."""
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None


class DeviceAPIView(APIView):
    def owner(self):
        return owner_or_404(self.request, self.kwargs["user"])

    def device(self):
        return selectors.device_for_owner_or_404(self.owner(), self.kwargs["device"])


class DeviceListView(DeviceAPIView):
    @extend_schema(operation_id="v1_users_devices_list",
                   responses={200: DeviceSchema(many=True), **api_errors()})
    def get(self, request, user):
        return Response(DeviceSchema(selectors.devices_for_owner(self.owner()), many=True).data)

    @extend_schema(request=DeviceWriteSerializer, examples=[DEVICE_EXAMPLE],
                   responses={201: DeviceCreatedSchema, **api_errors(400)})
    def post(self, request, user):
        owner = self.owner()
        serializer = DeviceWriteSerializer(data=request.data, context={"owner": owner})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("type", None)
        with model_errors_as_400():
            device, token = services.device_create(owner=owner, device_id=data.pop("device"), **data)
        # The callback token appears here and on regeneration only: it is stored hashed.
        return Response(DeviceCreatedSchema(device, context={"token": token}).data, status=status.HTTP_201_CREATED)


class DeviceDetailView(DeviceAPIView):
    @extend_schema(responses={200: DeviceSchema, **api_errors()})
    def get(self, request, user, device):
        return Response(DeviceSchema(self.device()).data)

    # The request is documented as partial for PUT too: both change only the fields given.
    @extend_schema(request=DeviceWriteSerializer(partial=True), examples=[DEVICE_CHANGES_EXAMPLE],
                   responses={200: DeviceSchema, **api_errors(400)})
    def put(self, request, user, device):
        # PUT and PATCH both change only the fields given, as Thinger's API does.
        found = self.device()
        serializer = DeviceWriteSerializer(data=request.data, partial=True,
                                           context={"owner": found.owner, "device": found})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("device", None)
        data.pop("type", None)
        with model_errors_as_400():
            services.device_update(device=found, **data)
        return Response(DeviceSchema(selectors.device_for_owner_or_404(found.owner, found.device_id)).data)

    patch = put

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, device):
        services.device_delete(device=self.device())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceStatsView(DeviceAPIView):
    @extend_schema(responses={200: DeviceStatsSchema, **api_errors()})
    def get(self, request, user, device):
        return Response(DeviceStatsSchema(self.device()).data)


class CallbackSettingsView(DeviceAPIView):
    """GET/PUT .../callback with a user credential (devices.callback dispatches here)."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.MethodNotAllowed(
            request.method, f"Method {request.method} not allowed with a user credential: GET or PUT the callback "
                            "settings here; a device POSTs its data with its callback token.")

    @extend_schema(responses={200: CallbackSettingsSchema, **api_errors()})
    def get(self, request, user, device):
        return Response(CallbackSettingsSchema(self.device()).data)

    @extend_schema(request=CallbackSettingsSchema, responses={200: CallbackSettingsSchema, **api_errors(400)})
    def put(self, request, user, device):
        found = self.device()
        if request.stream is None:
            # No body at all (DRF keeps no stream for one): the schema requires it, and reading it
            # as `{}` would turn every action off. An explicit `{}` still does, as documented.
            raise exceptions.ValidationError("Send the callback settings as a JSON object, e.g. "
                                             '{"actions": {"write_bucket": "b1"}}; {} turns every action off.')
        serializer = CallbackSettingsSerializer(data=request.data, context={"owner": found.owner})
        serializer.is_valid(raise_exception=True)
        with model_errors_as_400():
            services.callback_settings_set(device=found, **serializer.settings())
        return Response(CallbackSettingsSchema(found).data)


class CallbackTokenView(DeviceAPIView):
    @extend_schema(request=None, responses={200: TokenSchema, **api_errors()})
    def post(self, request, user, device):
        return Response(TokenSchema({"token": services.device_token_regenerate(device=self.device())}).data)


class PropertyListView(DeviceAPIView):
    @extend_schema(operation_id="v3_users_devices_properties_list",
                   responses={200: PropertySchema(many=True), **api_errors()})
    def get(self, request, user, device):
        return Response(PropertySchema(self.device().properties.all(), many=True).data)

    @extend_schema(request=PropertyCreateSerializer, examples=[PROPERTY_EXAMPLE],
                   responses={201: PropertySchema, **api_errors(400)})
    def post(self, request, user, device):
        found = self.device()
        serializer = PropertyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with model_errors_as_400():
            prop = services.property_create(device=found, name=serializer.validated_data["property"],
                                            value=serializer.validated_data["value"])
        return Response(PropertySchema(prop).data, status=status.HTTP_201_CREATED)


class PropertyDetailView(DeviceAPIView):
    @extend_schema(responses={200: PropertySchema, **api_errors()})
    def get(self, request, user, device, property):
        return Response(PropertySchema(selectors.property_for_device_or_404(self.device(), property)).data)

    @extend_schema(request=PropertyValueSerializer, examples=[PROPERTY_VALUE_EXAMPLE],
                   responses={200: PropertySchema, 201: PropertySchema, **api_errors(400)})
    def put(self, request, user, device, property):
        """Sets the value, creating the property if needed (201 then)."""
        found = self.device()
        serializer = PropertyValueSerializer(data=request.data, context={"property": property})
        serializer.is_valid(raise_exception=True)
        if not re.fullmatch(ID_PATTERN, property):
            raise serializers.ValidationError({"property": f"Bad property name: {ID_MESSAGE}"})
        prop, created = services.property_set(device_id=found.pk, name=property,
                                              value=serializer.validated_data["value"])
        return Response(PropertySchema(prop).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=PropertyValueSerializer, examples=[PROPERTY_VALUE_EXAMPLE],
                   responses={200: PropertySchema, **api_errors(400)})
    def patch(self, request, user, device, property):
        """Changes the value of an existing property (404 if there is none)."""
        prop = selectors.property_for_device_or_404(self.device(), property)
        serializer = PropertyValueSerializer(data=request.data, context={"property": prop.name})
        serializer.is_valid(raise_exception=True)
        prop, _ = services.property_set(device_id=prop.device_id, name=prop.name,
                                        value=serializer.validated_data["value"])
        return Response(PropertySchema(prop).data)

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, device, property):
        services.property_delete(prop=selectors.property_for_device_or_404(self.device(), property))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DownlinkListView(DeviceAPIView):
    @extend_schema(parameters=[OpenApiParameter("items", int, description=f"default {DOWNLINKS_DEFAULT}, "
                                                                         f"max {DOWNLINKS_MAX}")],
                   responses={200: DownlinkSchema(many=True), **api_errors(400)})
    def get(self, request, user, device):
        items = items_param(request.query_params, DOWNLINKS_DEFAULT, DOWNLINKS_MAX)
        return Response(DownlinkSchema(selectors.downlinks_for_device(self.device(), items), many=True).data)

    @extend_schema(request=DownlinkSerializer, examples=[DOWNLINK_EXAMPLE], responses={201: DownlinkQueuedSchema, **api_errors(400)})
    def post(self, request, user, device):
        found = self.device()
        serializer = DownlinkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        downlink = services.downlink_queue(device=found, payload=serializer.downlink_payload())
        return Response(DownlinkQueuedSchema(downlink).data, status=status.HTTP_201_CREATED)
