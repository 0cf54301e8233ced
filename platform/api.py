"""Error bodies for the JSON API, in Thinger's shape: {"error": {"code": N, "message": "..."}}.

Database errors are told apart by whose they are (the README's "Errors"):
- the database cannot be reached (refused, lost, shutting down, too many connections, SQLite
  busy): an outage, 503 with Retry-After;
- a value the database cannot hold (DataError: a NUL character, a number out of range) or a
  uniqueness race: the client's, 400 naming the field where it can be found;
- anything else (a query we built wrong): our bug, 500, logged with its SQL.
`database_error_answer` decides; DRF views (here) and ThingPark's views share it. ThingPark's
routes answer in ThingPark's shape: thingpark_error_body."""
import logging

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from platform.payloads import not_json_message

logger = logging.getLogger(__name__)
RETRY_AFTER = "5"
UNAVAILABLE = "The database is unavailable: retry later."
INTERNAL = "Internal error: it has been logged; please report it if it persists."
# SQLSTATEs of a connection that failed or is going away (class 08, admin/crash shutdown, cannot
# connect now, too many connections); a psycopg error without a SQLSTATE never reached the server.
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE_OUTAGES = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")
_INT64 = 2**63


def thingpark_error_body(status: int, message: str) -> dict:
    """ThingPark's error body, for the /iot-flow/ routes (API.md section 3): the status in its code,
    com-4000 for 400, com-4001 for 401, com-4004 for 404, com-5003 for 503."""
    return {"code": f"com-{status // 100 * 1000 + status % 100}", "message": message}


def thingpark_error_response(status: int, message: str) -> JsonResponse:
    """ThingPark's error answer from a plain Django view (DRF views render thingpark_error_body)."""
    return JsonResponse(thingpark_error_body(status, message), status=status)


def error_response(status, message, **headers):
    response = JsonResponse({"error": {"code": status, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _flatten(detail, prefix=""):
    """DRF's nested error detail as one readable line: `field: what is wrong`."""
    if isinstance(detail, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}." if k != "non_field_errors" else prefix)
                         for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v, prefix) for v in detail)
    return f"{prefix.rstrip('.')}: {detail}" if prefix else str(detail)


def field_errors(detail, prefix=""):
    """DRF's error detail as the contract's `fields`: one flat object, each key a field's dotted
    path (`config.retention.period`, `widgets.0.type`), each value a list of messages, however
    the view or the serializer nested them (a nested serializer, a list's item, one message)."""
    fields = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            fields.update(field_errors(value, f"{prefix}{key}."))
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for position, item in enumerate(detail):
            fields.update(field_errors(item, f"{prefix}{position}."))
    elif detail not in (None, [], ""):
        fields[prefix.rstrip(".")] = [str(message) for message in (detail if isinstance(detail, list) else [detail])]
    return fields


def _unstorable(value):
    if isinstance(value, str):
        return "\x00" in value or _has_surrogate(value)
    return isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64


def _has_surrogate(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def offending_field(data, prefix=""):
    """The dotted name of the first value (or key) in a request body that no column can hold: a
    string with a NUL or an unpaired surrogate, an integer beyond 64 bits. None if there is none."""
    if isinstance(data, dict):
        for key, value in data.items():
            if _unstorable(key):
                return f"{prefix}(a key)"
            name = f"{prefix}{key}"
            found = name if _unstorable(value) else offending_field(value, f"{name}.")
            if found:
                return found
    elif isinstance(data, list):
        for position, value in enumerate(data):
            name = f"{prefix}{position}"
            found = name if _unstorable(value) else offending_field(value, f"{name}.")
            if found:
                return found
    return None


def _is_outage(exc):
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlite_name = getattr(cause, "sqlite_errorname", None)
    if sqlite_name is not None:
        return sqlite_name.startswith(_SQLITE_OUTAGES)
    state = getattr(cause, "sqlstate", None)
    return state is None or state.startswith(_OUTAGE_STATES)


def _sql_of(exc):
    """The statement that failed: Django's cursor wrapper holds it in `sql` in the frame that
    executed it (django/db/backends/utils.py), which is on the error's traceback."""
    tb, sql = exc.__traceback__, None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name in ("_execute", "_executemany") and "django/db/backends" in frame.f_code.co_filename:
            sql = frame.f_locals.get("sql", sql)
        tb = tb.tb_next
    return sql


def database_error_answer(exc, context=None):
    """(status, message, headers) for a DatabaseError or an encoding error met on the way to the
    database, or None for anything else. See the module docstring for the classes."""
    context = context or {}
    if not isinstance(exc, (DatabaseError, UnicodeEncodeError)):
        return None
    kwargs = context.get("kwargs") or {}
    if any(isinstance(v, str) and "\x00" in v for v in kwargs.values()):
        # No id holds a NUL: the object does not exist, the same answer as any unknown one.
        return 404, "Not found.", {}
    if _is_outage(exc):
        logger.error("API request failed: database unavailable (%s)", exc.__class__.__name__)
        return 503, UNAVAILABLE, {"Retry-After": RETRY_AFTER}
    request = context.get("request")
    if isinstance(exc, (DataError, UnicodeEncodeError)):
        # A read stores nothing: what the database refused came from the query string.
        reading = getattr(request, "method", None) in ("GET", "HEAD", "OPTIONS")
        field = None
        try:
            if request is not None:
                field = offending_field(request.query_params.dict() if reading else request.data)
        except Exception:  # noqa: BLE001 - the body was already refused once; naming is best effort
            field = None
        where = f"{field}: " if field else ""
        use = "used in a query" if reading else "stored"
        return 400, (f"{where}this value cannot be {use}: remove NUL characters and unpaired surrogates, "
                     "keep numbers within 64 bits."), {}
    if isinstance(exc, IntegrityError):
        return 400, "This conflicts with an object that already exists (the same id?): change it and retry.", {}
    logger.error("API request failed on the database (%s: %s); SQL: %s", exc.__class__.__name__,
                 str(exc).strip()[:500], _sql_of(exc))
    return 500, INTERNAL, {}


# DRF's "Authentication credentials were not provided." does not say how to provide them.
NOT_AUTHENTICATED = ("Authentication credentials were not provided: send an access token as "
                     "'Authorization: Bearer <token>' (create one under Access tokens in the web UI).")


def model_check_as_400(exc: Exception) -> Exception:
    """A model's own check at save (full_clean in a service), as the serializer's 400: e.g. a row
    stored before a rule, saved again for a change to another field. Both APIs' handlers."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    return exc


def exception_handler(exc, context):
    answer = database_error_answer(exc, context)
    if answer is None and isinstance(exc, RequestDataTooBig):
        answer = 413, "Body too large: send less at a time.", {}
    if answer is not None:
        status, message, headers = answer
        return Response({"error": {"code": status, "message": message}}, status=status, headers=headers)
    exc = model_check_as_400(exc)
    if isinstance(exc, exceptions.NotAuthenticated):
        exc = exceptions.NotAuthenticated(NOT_AUTHENTICATED)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # DRF's message names the type but not the fix; the device callback's does both.
        content_type = getattr(context.get("request"), "content_type", "")
        exc = exceptions.UnsupportedMediaType(content_type, detail=not_json_message(content_type))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"code": response.status_code, "message": _flatten(response.data.get("detail", response.data)
                                                              if isinstance(response.data, dict) else response.data)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, dict):
        body["fields"] = field_errors(response.data)
    response.data = {"error": body}
    return response
