"""The device callback: the hot path. Authenticate, check, commit the message to the inbox,
answer. Everything slow happens after commit in the ingest worker."""

import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from devices import services
from devices.payloads import PayloadError, payload_parse
from devices.selectors import device_for_callback
from platform.api import error_response
from platform.auth import bearer_token

logger = logging.getLogger(__name__)
UNAUTHORIZED = "Unauthorized: send the device's callback token as 'Authorization: Bearer <token>'."
RETRY_AFTER = "5"


def _client_ip(request):
    return request.META.get("REMOTE_ADDR") or None


@csrf_exempt
def callback(request, user, device):
    if request.method not in ("POST", "GET"):
        response = error_response(405, f"Method {request.method} not allowed: POST data, or GET the answer.")
        response["Allow"] = "POST, GET"
        return response
    token = bearer_token(request) or request.GET.get("authorization")
    try:
        found = device_for_callback(user, device, token)
        if found is None:
            return error_response(401, UNAUTHORIZED)
        if not found.enabled:
            return error_response(403, "This device is disabled: enable it to send data.")
        if request.method == "GET":
            return _answer(services.callback_answer(device=found, consume=False))
        if (request.content_type or "").split(";")[0].strip().lower() not in ("application/json",) \
                and not (request.content_type or "").endswith("+json"):
            return error_response(415, "Send the body as JSON with 'Content-Type: application/json'.")
        limit = settings.DEVICE_CALLBACK_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return error_response(413, f"Body too large: at most {limit} bytes.")
        body = request.read(limit + 1)
        if len(body) > limit:
            return error_response(413, f"Body too large: at most {limit} bytes.")
        try:
            payload = payload_parse(body)
        except PayloadError as exc:
            return error_response(400, str(exc))
        with transaction.atomic():
            answer = services.message_accept(device=found, payload=payload, size=len(body),
                                             ip_address=_client_ip(request))
        return _answer(answer)
    except DatabaseError:
        logger.exception("callback for %s/%s: database error", user, device)
        return error_response(503, "The database is unavailable: retry later.", Retry_After=RETRY_AFTER)


def _answer(answer):
    response = JsonResponse(answer.body, safe=False, json_dumps_params={"separators": (",", ":")})
    for name, value in answer.headers.items():
        response[name] = value
    return response
