"""Endpoints API (docs/devices.md, Thinger's HTTP-request endpoints)."""
import json
import time

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from endpoints import delivery as engine
from endpoints import selectors, services
from endpoints.api import openapi as doc
from endpoints.api.common import attempt_json, delivery_json, int_param, ms
from endpoints.models import Delivery, Endpoint
from endpoints.templating import TemplateError
from endpoints.transport import TransportError
from platform.api import error_response
from platform.auth import owner_or_404
from platform.schema import api_errors
from platform.validators import ID_PATTERN, header_problem, url_problem


def endpoint_json(endpoint):
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


# Named for the schema: buckets has a ConfigSerializer too, and both would be the component "Config".
@extend_schema_serializer(component_name="EndpointConfig")
class ConfigSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    method = serializers.ChoiceField([m for m, _ in Endpoint.METHODS], default="POST")
    headers = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=4000), default=dict)
    body = serializers.JSONField(default=None, allow_null=True)
    timeout = serializers.IntegerField(min_value=1, max_value=60, default=10)
    max_in_flight = serializers.IntegerField(min_value=1, max_value=256, default=None, allow_null=True,
                                             help_text="requests in flight at once (each device's messages still "
                                                       "go one at a time, in order); null = the platform's default")

    def validate_url(self, value):
        problem = url_problem(value)
        if problem:
            raise ValidationError(problem)
        return value

    def validate_headers(self, value):
        for name, header in value.items():
            problem = header_problem(name, header)
            if problem:
                raise ValidationError(problem)
        return value

    def validate_body(self, value):
        # A JSON body given as an object is kept as its text: the body is a template.
        if value is None or isinstance(value, str):
            return value or None
        return json.dumps(value)


class EndpointSerializer(serializers.Serializer):
    endpoint = serializers.RegexField(ID_PATTERN,
                                      error_messages={"invalid": "Use 1 to 64 letters, digits, '_' or '-'."})
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    description = serializers.CharField(allow_blank=True, default="")
    type = serializers.CharField(default="http_request")
    enabled = serializers.BooleanField(default=True)
    config = ConfigSerializer()

    def validate_type(self, value):
        if value != "http_request":
            raise ValidationError("Only 'http_request' endpoints are supported.")
        return value


class EndpointSchema(EndpointSerializer):
    """An endpoint as the API answers it (endpoint_json): the request fields plus times."""

    created = serializers.IntegerField(help_text="epoch ms")
    modified = serializers.IntegerField(help_text="epoch ms")


def _settings(data):
    """Serializer output as the service's keyword arguments."""
    config = data.pop("config", None) or {}
    data.pop("endpoint", None)
    data.pop("type", None)
    return {**data, **config}


class EndpointDetailSchema(EndpointSchema):
    statistics = doc.StatisticsSchema(help_text="deliveries still in the log")


class EndpointList(APIView):
    @extend_schema(operation_id="v1_users_endpoints_list", responses={200: EndpointSchema(many=True), **api_errors()})
    def get(self, request, user):
        owner = owner_or_404(request, user)
        return Response([endpoint_json(e) for e in selectors.endpoints_for_owner(owner)])

    @extend_schema(request=EndpointSerializer, responses={201: EndpointSchema, **api_errors(400)})
    def post(self, request, user):
        owner = owner_or_404(request, user)
        serializer = EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint_id = serializer.validated_data["endpoint"]
        if selectors.endpoint_for_owner(owner, endpoint_id) is not None:
            raise ValidationError({"endpoint": f"You already have an endpoint {endpoint_id!r}."})
        endpoint = services.endpoint_create(owner=owner, endpoint_id=endpoint_id,
                                            **_settings(dict(serializer.validated_data)))
        return Response(endpoint_json(endpoint), status=status.HTTP_201_CREATED)


class EndpointDetail(APIView):
    @extend_schema(responses={200: EndpointDetailSchema, **api_errors()})
    def get(self, request, user, endpoint):
        found = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        statistics, _ = engine.deliveries_statistics(target=found)
        return Response({**endpoint_json(found), "statistics": statistics})

    @extend_schema(request=EndpointSerializer, responses={200: EndpointSchema, **api_errors(400)})
    def put(self, request, user, endpoint):
        return self._update(request, user, endpoint, partial=False)

    @extend_schema(request=EndpointSerializer, responses={200: EndpointSchema, **api_errors(400)})
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
            current = endpoint_json(endpoint)["config"]
            data = {**data, "config": {**current, **data["config"]}}
        serializer = EndpointSerializer(data={**data, "endpoint": endpoint.endpoint_id}, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = _settings(dict(serializer.validated_data))
        services.endpoint_update(endpoint=endpoint, **changes)
        return Response(endpoint_json(endpoint))

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, endpoint):
        services.endpoint_delete(endpoint=selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointCall(APIView):
    """Sends the request body as the message, now, and answers what the endpoint answered."""

    @extend_schema(request={"application/json": doc.ANY_JSON},
                   responses={200: doc.CallAnswerSchema, **api_errors(400, 502)})
    def post(self, request, user, endpoint):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        payload = request.data if request.body else {}
        try:
            answer = engine.endpoint_call(endpoint=endpoint, payload=payload, now_ms=int(time.time() * 1000))
        except TemplateError as exc:
            return error_response(400, str(exc))
        except TransportError as exc:
            if exc.permanent:
                return error_response(400, f"The endpoint cannot be called: {exc}")
            return error_response(502, f"The endpoint did not answer: {exc}")
        return Response({"status": answer.status, "body": answer.body, "ms": answer.ms})


class EndpointCalls(APIView):
    """The attempt log, newest first: ?items=N (default 100, max 1000)."""

    @extend_schema(parameters=[OpenApiParameter("items", int, description="default 100, max 1000")],
                   responses={200: doc.AttemptSchema(many=True), **api_errors(400)})
    def get(self, request, user, endpoint):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        try:
            items = int_param(request.query_params, "items", 100, maximum=1000)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return Response([attempt_json(a) for a in selectors.attempts_for_target(endpoint=endpoint)[:items]])


class EndpointDeliveries(APIView):
    """Deliveries, newest first: ?state=pending|delivered|failed &items=N."""

    @extend_schema(parameters=[doc.STATE_PARAMETER,
                               OpenApiParameter("items", int, description="default 100, max 1000")],
                   responses={200: doc.DeliverySchema(many=True), **api_errors(400)})
    def get(self, request, user, endpoint):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        state = request.query_params.get("state")
        # An empty value is not "any state": the schema's enum does not include it.
        if state not in (None, *[s for s, _ in Delivery.STATES]):
            raise ValidationError("state must be pending, delivered or failed.")
        try:
            items = int_param(request.query_params, "items", 100, maximum=1000)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        rows = selectors.deliveries_for_target(endpoint=endpoint, state=state)[:items]
        return Response([delivery_json(d) for d in rows])


class EndpointDeliveryRetry(APIView):
    """Puts a failed delivery back in the queue: 202, or 400 if it is not failed."""

    @extend_schema(request=None, responses={202: doc.DeliverySchema, **api_errors(400)})
    def post(self, request, user, endpoint, delivery):
        endpoint = selectors.endpoint_for_owner_or_404(owner_or_404(request, user), endpoint)
        row = selectors.delivery_for_target_or_404(endpoint=endpoint, pk=delivery)
        with transaction.atomic():
            if not engine.delivery_retry(delivery=row):
                raise ValidationError(f"Only a failed delivery can be retried; this one is {row.state}.")
        row.refresh_from_db()
        return Response(delivery_json(row), status=status.HTTP_202_ACCEPTED)
