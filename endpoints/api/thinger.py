"""Endpoints API (docs/devices.md, Thinger's HTTP-request endpoints)."""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from endpoints import delivery as engine
from endpoints import selectors, services
from endpoints.api import openapi as doc
from endpoints.models import Delivery
from endpoints.serializers import (
    AttemptSchema,
    CallAnswerSchema,
    EndpointChangesSerializer,
    EndpointDeliverySchema,
    EndpointDetailSchema,
    EndpointReplaceSerializer,
    EndpointSchema,
    EndpointSerializer,
)
from endpoints.templating import TemplateError
from endpoints.transport import TransportError
from platform.api import error_response
from platform.auth import owner_or_404
from platform.clock import now_ms
from platform.schema import api_errors
from platform.serializers import items_param

# Request examples: the bodies Swagger UI fills in for "Try it out", so each is one the API accepts
# as is, with the ids the docs use (tests/security/test_api_examples.py sends them all).
_CONFIG = {"url": "https://hooks.example.com/{{device}}", "method": "POST", "headers": {"X-Token": "abc"},
           "body": '{"text": "{{device}}: {{temperature}} C"}', "timeout": 10}
ENDPOINT_EXAMPLE = OpenApiExample("A webhook", request_only=True, value={
    "endpoint": "e1", "name": "Slack", "type": "http_request", "enabled": True, "config": _CONFIG})
ENDPOINT_REPLACE_EXAMPLE = OpenApiExample("The whole endpoint", request_only=True, value={
    "name": "Slack", "type": "http_request", "enabled": True, "config": {**_CONFIG, "timeout": 20}})
ENDPOINT_CHANGES_EXAMPLE = OpenApiExample("Another header", request_only=True, value={
    "config": {"headers": {"X-Token": "def"}}})
CALL_EXAMPLE = OpenApiExample("A message", request_only=True, value={"temperature": 21.5})


def _settings(data):
    """Serializer output as the service's keyword arguments."""
    config = data.pop("config", None) or {}
    data.pop("endpoint", None)
    data.pop("type", None)
    return {**data, **config}


class EndpointList(APIView):
    @extend_schema(operation_id="v1_users_endpoints_list", responses={200: EndpointSchema(many=True), **api_errors()})
    def get(self, request, user):
        owner = owner_or_404(request, user)
        return Response(EndpointSchema(selectors.endpoints_for_owner(owner), many=True).data)

    @extend_schema(request=EndpointSerializer, examples=[ENDPOINT_EXAMPLE], responses={201: EndpointSchema, **api_errors(400)})
    def post(self, request, user):
        owner = owner_or_404(request, user)
        serializer = EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint_id = serializer.validated_data["endpoint"]
        if selectors.endpoint_for_owner(owner, endpoint_id) is not None:
            raise ValidationError({"endpoint": f"You already have an endpoint {endpoint_id!r}."})
        endpoint = services.endpoint_create(owner=owner, endpoint_id=endpoint_id,
                                            **_settings(dict(serializer.validated_data)))
        return Response(EndpointSchema(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetail(APIView):
    @extend_schema(responses={200: EndpointDetailSchema, **api_errors()})
    def get(self, request, user, endpoint):
        found = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        statistics, _ = engine.deliveries_statistics(target=found)
        return Response(EndpointDetailSchema(found, context={"statistics": statistics}).data)

    @extend_schema(request=EndpointReplaceSerializer, examples=[ENDPOINT_REPLACE_EXAMPLE], responses={200: EndpointSchema, **api_errors(400)})
    def put(self, request, user, endpoint):
        return self._update(request, user, endpoint, partial=False)

    @extend_schema(request=EndpointChangesSerializer, examples=[ENDPOINT_CHANGES_EXAMPLE], responses={200: EndpointSchema, **api_errors(400)})
    def patch(self, request, user, endpoint):
        return self._update(request, user, endpoint, partial=True)

    def _update(self, request, user, endpoint_id, *, partial):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint_id)
        if not isinstance(request.data, dict):
            raise ValidationError("Send the endpoint as a JSON object.")
        data = request.data
        # The id is in the URL; a body may repeat it but cannot change it.
        if "endpoint" in data and data["endpoint"] != endpoint.endpoint_id:
            raise ValidationError({"endpoint": "An endpoint's id cannot change."})
        if partial and isinstance(data.get("config"), dict):
            current = EndpointSchema(endpoint).data["config"]
            data = {**data, "config": {**current, **data["config"]}}
        serializer = EndpointSerializer(data={**data, "endpoint": endpoint.endpoint_id}, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = _settings(dict(serializer.validated_data))
        services.endpoint_update(endpoint=endpoint, **changes)
        return Response(EndpointSchema(endpoint).data)

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, endpoint):
        services.endpoint_delete(endpoint=selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointCall(APIView):
    """Sends the request body as the message, now, and answers what the endpoint answered."""

    @extend_schema(request={"application/json": doc.ANY_JSON}, examples=[CALL_EXAMPLE],
                   responses={200: CallAnswerSchema, **api_errors(400, 502)})
    def post(self, request, user, endpoint):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        payload = request.data if request.body else {}
        try:
            answer = engine.endpoint_call(endpoint=endpoint, payload=payload, now_ms=now_ms())
        except TemplateError as exc:
            return error_response(400, str(exc))
        except TransportError as exc:
            if exc.permanent:
                return error_response(400, f"The endpoint cannot be called: {exc}")
            return error_response(502, f"The endpoint did not answer: {exc}")
        return Response(CallAnswerSchema(answer).data)


class EndpointCalls(APIView):
    """The attempt log, newest first: ?items=N (default 100, max 1000)."""

    @extend_schema(parameters=[OpenApiParameter("items", int, description="default 100, max 1000")],
                   responses={200: AttemptSchema(many=True), **api_errors(400)})
    def get(self, request, user, endpoint):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        items = items_param(request.query_params, 100, 1000)
        return Response(AttemptSchema(selectors.attempts_for_target(endpoint=endpoint)[:items], many=True).data)


class EndpointDeliveries(APIView):
    """Deliveries, newest first: ?state=pending|delivered|failed &items=N."""

    @extend_schema(parameters=[doc.STATE_PARAMETER,
                               OpenApiParameter("items", int, description="default 100, max 1000")],
                   responses={200: EndpointDeliverySchema(many=True), **api_errors(400)})
    def get(self, request, user, endpoint):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        state = request.query_params.get("state")
        # An empty value is not "any state": the schema's enum does not include it.
        if state not in (None, *[s for s, _ in Delivery.STATES]):
            raise ValidationError({"state": "Use pending, delivered or failed."})
        items = items_param(request.query_params, 100, 1000)
        rows = selectors.deliveries_for_target(endpoint=endpoint, state=state)[:items]
        return Response(EndpointDeliverySchema(rows, many=True).data)


class EndpointDeliveryRetry(APIView):
    """Puts a failed delivery back in the queue: 202, or 400 if it is not failed."""

    @extend_schema(request=None, responses={202: EndpointDeliverySchema, **api_errors(400)})
    def post(self, request, user, endpoint, delivery):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        row = selectors.delivery_for_target_or_404(endpoint=endpoint, pk=delivery)
        with transaction.atomic():
            if not engine.delivery_retry(delivery=row):
                raise ValidationError(f"Only a failed delivery can be retried; this one is {row.state}.")
        row.refresh_from_db()
        return Response(EndpointDeliverySchema(row).data, status=status.HTTP_202_ACCEPTED)
