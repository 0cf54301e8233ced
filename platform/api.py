"""Error bodies for the JSON API, in Thinger's shape: {"error": {"code": N, "message": "..."}}."""
import logging

from django.db import DatabaseError, DataError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


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


def exception_handler(exc, context):
    if isinstance(exc, DataError):
        # The database refused a value the client sent (a NUL character, a number out of range):
        # the client's to fix, not an outage (found by tests/security/test_abuse.py).
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "a value cannot be stored"
        return Response({"error": {"code": 400, "message": f"A value cannot be stored: {reason}. Remove NUL "
                                                           "characters and keep numbers finite."}}, status=400)
    if isinstance(exc, DatabaseError):
        # The database being down is not the client's fault and not a bug: say when to retry.
        logger.error("API request failed on the database: %s", exc.__class__.__name__)
        return Response({"error": {"code": 503, "message": "The database is unavailable: retry later."}},
                        status=503, headers={"Retry-After": "5"})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"code": response.status_code, "message": _flatten(response.data.get("detail", response.data)
                                                              if isinstance(response.data, dict) else response.data)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, dict):
        body["fields"] = response.data
    response.data = {"error": body}
    return response
