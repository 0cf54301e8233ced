"""Connections API (docs/devices.md, ThingPark X IoT Flow's HTTP connector shape).

Errors here are ThingPark's, not Thinger's: {"code": "com-4000", "message": "..."} with the
HTTP status in the code (com-4001 for 401, com-4004 for 404, ...)."""
import math

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from endpoints import delivery as engine
from endpoints import selectors, services
from endpoints.api import openapi as doc
from endpoints.api.common import int_param
from endpoints.models import DEFAULT_BLAME_PERIOD, MAX_BLAME_PERIOD, MAX_IN_FLIGHT, Delivery
from endpoints.serializers import (
    ConnectionDetailSchema,
    ConnectionRequestSchema,
    ConnectionSchema,
    DeliverySchema,
)
from platform.api import database_error_answer, model_check_as_400, thingpark_error_body
from platform.validators import DESCRIPTION_MAX, text_problem, url_problem, validate_headers

CONNECTOR = "actility-http-iot"
_url_valid = URLValidator(schemes=["http", "https"])
UNAUTHENTICATED = ("Authentication required: send 'Authorization: Bearer <access token>' "
                   "(create one under Access tokens).")

# The body Swagger UI fills in for "Try it out" (POST and PUT), as docs/devices.md writes it: one
# the API accepts as is (tests/security/test_api_examples.py).
CONNECTION_EXAMPLE = OpenApiExample("An HTTP connection", request_only=True, value={
    "connectorId": CONNECTOR, "name": "My cloud", "active": True,
    "configuration": {"destinationURL": "https://receiver.example.com/uplink",
                      "headers": {"X-Thing": "{DevEUI}", "Authorization": "Bearer abc"},
                      "blamePeriod": 30, "sendRawDecodedFormat": False}})


class BadRequest(exceptions.APIException):
    status_code = 400


def thingpark_error(status_code: int, message: str) -> Response:
    return Response(thingpark_error_body(status_code, message), status=status_code)


def _message(detail):
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_message(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_message(v) for v in detail)
    return str(detail)


def thingpark_exception_handler(exc, context):
    answer = database_error_answer(exc, context)
    if answer is not None:
        status_code, message, headers = answer
        reshaped = thingpark_error(status_code, message)
        for name, value in headers.items():
            reshaped[name] = value
        return reshaped
    response = drf_exception_handler(model_check_as_400(exc), context)
    if response is None:
        return None
    data = response.data
    message = _message(data.get("detail", data) if isinstance(data, dict) else data)
    reshaped = thingpark_error(response.status_code, message)
    for name, value in response.items():
        if name.lower() in ("www-authenticate", "allow", "retry-after"):
            reshaped[name] = value
    return reshaped


class ThingParkView(APIView):
    def get_exception_handler(self):
        return thingpark_exception_handler

    def permission_denied(self, request, message=None, code=None):
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated(UNAUTHENTICATED)
        super().permission_denied(request, message=message, code=code)


def _typed(value, kind, name):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        label = {str: "a string", bool: "true or false", int: "a whole number", dict: "an object"}[kind]
        raise BadRequest(f"{name} must be {label}.")
    return value


def connection_parse(data):
    """The request JSON as the service's keyword arguments, or BadRequest saying what to fix."""
    if not isinstance(data, dict):
        raise BadRequest("Send a JSON object: {\"connectorId\", \"name\", \"active\", \"configuration\"}.")
    connector = _typed(data.get("connectorId", CONNECTOR), str, "connectorId")
    if connector != CONNECTOR:
        raise BadRequest(f"connectorId {connector[:40]!r} is not supported: use {CONNECTOR!r}.")
    name = _typed(data.get("name"), str, "name") if data.get("name") is not None else ""
    if not name.strip() or len(name) > 200:
        raise BadRequest("name is required (at most 200 characters).")
    active = _typed(data.get("active", True), bool, "active")
    config = _typed(data.get("configuration"), dict, "configuration") if "configuration" in data else None
    if config is None:
        raise BadRequest("configuration is required, with at least destinationURL.")
    url = config.get("destinationURL")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise BadRequest("configuration.destinationURL must start with http:// or https://.")
    problem = url_problem(url)
    if problem is None:
        try:
            _url_valid(url)
        except DjangoValidationError:
            problem = f"{ascii(url)[:100]} is not a valid URL."
    if problem:
        raise BadRequest(f"configuration.destinationURL: {problem}")
    # null is "not given" (the default), as for blamePeriod; any other value must have the field's type
    # ({} or 0 for a description was stored as "").
    headers = {} if config.get("headers") is None else _typed(config["headers"], dict, "configuration.headers")
    try:
        validate_headers(headers)
    except DjangoValidationError as exc:
        # Every bad header in the one message: each is a sentence naming its header.
        raise BadRequest(f"configuration.headers: {' '.join(exc.messages)}") from None
    blame = config.get("blamePeriod")
    blame = DEFAULT_BLAME_PERIOD if blame is None else _typed(blame, int, "configuration.blamePeriod")
    if not 0 <= blame <= MAX_BLAME_PERIOD:
        raise BadRequest(f"configuration.blamePeriod must be between 0 and {MAX_BLAME_PERIOD} seconds.")
    description = ("" if config.get("description") is None
                   else _typed(config["description"], str, "configuration.description"))
    for field, text in (("name", name), ("configuration.description", description)):
        if text_problem(text):
            raise BadRequest(f"{field} {text_problem(text)}.")
    if len(description) > DESCRIPTION_MAX:
        raise BadRequest(f"configuration.description: at most {DESCRIPTION_MAX} characters ({len(description)} given).")
    raw = _typed(config.get("sendRawDecodedFormat", False), bool, "configuration.sendRawDecodedFormat")
    in_flight = config.get("maxInFlight")
    if in_flight is not None and not 1 <= _typed(in_flight, int, "configuration.maxInFlight") <= MAX_IN_FLIGHT:
        raise BadRequest(f"configuration.maxInFlight must be between 1 and {MAX_IN_FLIGHT}, or null for the default.")
    return {"connector_id": connector, "name": name.strip(), "active": active, "destination_url": url,
            "headers": headers, "blame_period": blame, "description": description,
            "send_raw_decoded_format": raw, "max_in_flight": in_flight}


def _page(request: Request, rows: QuerySet, schema: type[serializers.Serializer]) -> Response:
    """One page of `rows`, rendered by `schema`, with ThingPark's X-Total... headers."""
    try:
        page = int_param(request.query_params, "page", 1)
        per_page = int_param(request.query_params, "perPage", 20, maximum=100)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    total = rows.count()
    # A page past the last is empty; it is not asked of the database, whose OFFSET is 64-bit.
    start = (page - 1) * per_page
    response = Response(schema(rows[start: start + per_page], many=True).data if start < total else [])
    response["X-Total"] = str(total)
    response["X-Total-Pages"] = str(math.ceil(total / per_page))
    response["X-Page"] = str(page)
    response["X-Per-Page"] = str(per_page)
    return response


class ConnectionList(ThingParkView):
    @extend_schema(operation_id="iot_flow_v1_connections_list", parameters=doc.PAGE_PARAMETERS,
                   responses={200: ConnectionSchema(many=True), **doc.thingpark_errors(400)})
    def get(self, request):
        return _page(request, selectors.connections_for_owner(request.user), ConnectionSchema)

    @extend_schema(request=ConnectionRequestSchema, examples=[CONNECTION_EXAMPLE],
                   responses={201: ConnectionSchema, **doc.thingpark_errors(400)})
    def post(self, request):
        connection = services.connection_create(owner=request.user, **connection_parse(request.data))
        return Response(ConnectionSchema(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetail(ThingParkView):
    @extend_schema(responses={200: ConnectionDetailSchema, **doc.thingpark_errors()})
    def get(self, request, connection):
        found = selectors.connection_for_owner_or_404(request.user, connection)
        statistics, _ = engine.deliveries_statistics(target=found)
        return Response(ConnectionDetailSchema(found, context={"statistics": statistics}).data)

    @extend_schema(request=ConnectionRequestSchema, examples=[CONNECTION_EXAMPLE],
                   responses={200: ConnectionSchema, **doc.thingpark_errors(400)})
    def put(self, request, connection):
        found = selectors.connection_for_owner_or_404(request.user, connection)
        services.connection_replace(connection=found, **connection_parse(request.data))
        return Response(ConnectionSchema(found).data)

    @extend_schema(responses={204: None, **doc.thingpark_errors()})
    def delete(self, request, connection):
        services.connection_delete(connection=selectors.connection_for_owner_or_404(request.user, connection))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionDeliveries(ThingParkView):
    """The connection's deliveries, newest first: ?state=pending|delivered|failed, page/perPage."""

    @extend_schema(parameters=[doc.STATE_PARAMETER, *doc.PAGE_PARAMETERS],
                   responses={200: DeliverySchema(many=True), **doc.thingpark_errors(400)})
    def get(self, request, connection):
        found = selectors.connection_for_owner_or_404(request.user, connection)
        state = request.query_params.get("state")
        if state not in (None, *[s for s, _ in Delivery.STATES]):
            raise BadRequest("state must be pending, delivered or failed.")
        return _page(request, selectors.deliveries_for_target(connection=found, state=state), DeliverySchema)


class ConnectionDeliveryRetry(ThingParkView):
    """Puts a failed delivery back in the queue: 202, or 400 if it is not failed."""

    @extend_schema(request=None, responses={202: DeliverySchema, **doc.thingpark_errors(400)})
    def post(self, request, connection, delivery):
        found = selectors.connection_for_owner_or_404(request.user, connection)
        row = selectors.delivery_for_target_or_404(connection=found, pk=delivery)
        with transaction.atomic():
            if not engine.delivery_retry(delivery=row):
                raise BadRequest(f"Only a failed delivery can be retried; this one is {row.state}.")
        row.refresh_from_db()
        return Response(DeliverySchema(row).data, status=status.HTTP_202_ACCEPTED)
