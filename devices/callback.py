"""The device callback: the hot path. Authenticate, check, commit the message to the inbox,
answer. Everything slow happens after commit in the ingest worker.

`/v3/users/{user}/devices/{device}/callback` is both the data URL (alias of `.../callback/data`)
and the callback-settings URL. Which one a request means is decided by its credential:
- a user access token (`<key>.<secret>`, found by AccessToken.find) in `Authorization: Bearer`,
  or no token at all from a logged-in browser session: the settings API (GET/PUT);
- anything else (a device token in the header or in `?authorization=`, a wrong token, no
  token): the device callback, which answers 401 when the token is not the device's.
Device tokens never contain a '.', so the hot path costs no extra query."""

import json
import time

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from devices import accept
from devices.ratelimit import callback_rate_exceeded
from devices.selectors import device_for_callback
from platform.api import database_error_answer, error_response
from platform.auth import bearer_token
from platform.deadline import too_large_message
from platform.models import AccessToken
from platform.payloads import PayloadError, is_json_media_type, not_json_message, payload_parse

# One answer for no token, a wrong token, an unknown user or device (it reveals nothing), which
# says what to do in each case: the header, and where the right token comes from.
UNAUTHORIZED = ("Unauthorized: send the device's callback token as 'Authorization: Bearer <token>' "
                "or '?authorization=<token>'. If you did, it is not this device's token (or there is no such "
                "device): use the token shown when the device was created, or regenerate it on its page.")
_EMPTY_ANSWER = b"{}"


def _client_ip(request):
    return request.META.get("REMOTE_ADDR") or None


def _database_error(exc):
    """The JSON API's classification (platform/api.py), in the callback's shape: firmware retries a
    503, so only a lost or refused connection may answer it; a value the database cannot hold is
    400 and a query we built wrong is 500 (logged with its SQL), which no retry would cure."""
    status, message, headers = database_error_answer(exc)
    return error_response(status, message, **headers)


def _too_large(limit):
    return error_response(413, too_large_message(limit, device=True))


@csrf_exempt
def callback(request, user, device):
    if request.method not in ("POST", "GET"):
        response = error_response(405, f"Method {request.method} not allowed: POST data, or GET the answer.")
        response["Allow"] = "POST, GET"
        return response
    token = bearer_token(request) or request.GET.get("authorization")
    now = time.time()
    try:
        found, counted = device_for_callback(user, device, token, rate_at=now if settings.DEVICE_RATE_LIMIT else None)
        if found is None:
            return error_response(401, UNAUTHORIZED)
        if not found.enabled:
            return error_response(403, "This device is disabled: enable it to send data.")
        retry_after = callback_rate_exceeded(hashed_token=found.token_hash, now=now, counted=counted)
        if retry_after is not None:
            return error_response(429, f"Too many callbacks: at most {settings.DEVICE_RATE_LIMIT} per minute "
                                       f"per device; retry in {retry_after} s.", Retry_After=str(retry_after))
        if request.method == "GET":
            return _answer(accept.callback_answer(device=found, consume=False))
        if not is_json_media_type(request.content_type):
            return error_response(415, not_json_message(request.content_type))
        limit = settings.DEVICE_CALLBACK_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _too_large(limit)
        body = request.read(limit + 1)
        if len(body) > limit:
            return _too_large(limit)
        try:
            payload = payload_parse(body)
        except PayloadError as exc:
            return error_response(400, str(exc))
        # Atomic and committed when it returns (a 200 means committed).
        answer = accept.message_accept(device=found, payload=payload, size=len(body),
                                         ip_address=_client_ip(request))
        return _answer(answer)
    except DatabaseError as exc:
        return _database_error(exc)


def _presents_user_credentials(request):
    token = bearer_token(request)
    if token:
        return "." in token and AccessToken.find(token) is not None
    if request.GET.get("authorization"):
        return False
    return request.user.is_authenticated


@csrf_exempt
def callback_or_settings(request, user, device):
    """`.../callback`: the settings API for a user, the data URL for a device (see the module
    docstring for the rule)."""
    from devices.api import CallbackSettingsView

    try:
        for_user = _presents_user_credentials(request)
    except DatabaseError as exc:
        return _database_error(exc)
    if for_user:
        return CallbackSettingsView.as_view()(request, user=user, device=device)
    return callback(request, user, device)


def _answer(answer):
    # Most callbacks answer {}: its bytes are not encoded again for each one.
    content = _EMPTY_ANSWER if answer.body == {} else json.dumps(answer.body, cls=DjangoJSONEncoder,
                                                                    separators=(",", ":"))
    response = HttpResponse(content, content_type="application/json")
    for name, value in answer.headers.items():
        response[name] = value
    return response
