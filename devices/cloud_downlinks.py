"""Downlinks from a cloud application (docs/devices.md, ThingPark's DevEUI_downlink).

The URL is the credential: its secret names one connection. The device must belong to the
connection's owner and be attached to it; anything else is the same 404, so the URL reveals
nothing about other devices. Errors are ThingPark's {"code": "com-40xx", "message": "..."}."""
from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from devices.models import Device
from devices.serializers import DownlinkSerializer
from devices.services import downlink_queue
from endpoints.selectors import connection_for_downlink_secret
from platform.api import database_error_answer, field_errors, thingpark_error_response
from platform.payloads import PayloadError, is_json_media_type, json_parse, not_json_message


def _parse(body):
    """(device id, payload) from a DevEUI_downlink body, or raises ValueError saying what to fix."""
    try:
        data = json_parse(body)
    except PayloadError as exc:
        raise ValueError(str(exc)) from None
    downlink = data.get("DevEUI_downlink") if isinstance(data, dict) else None
    if not isinstance(downlink, dict):  # one error type for every bad body, as the docstring says
        raise ValueError('Send {"DevEUI_downlink": {"DevEUI": "<device id>", "payload": <json>}}.')  # noqa: TRY004
    device_id = downlink.get("DevEUI")
    if not isinstance(device_id, str) or not device_id:
        raise ValueError("DevEUI_downlink.DevEUI must be the device id.")
    # The API's rules for a downlink (payload or payload_hex, one of them, not null), so that a
    # body one of the two refuses is refused by the other too.
    serializer = DownlinkSerializer(data=downlink)
    if not serializer.is_valid():
        raise ValueError(_message(serializer.errors))
    return device_id, serializer.downlink_payload()


def _message(errors):
    """The serializer's errors as one line, each naming its field inside DevEUI_downlink."""
    parts: list[str] = []
    for field, messages in field_errors(errors).items():
        where = "DevEUI_downlink" if field == "non_field_errors" else f"DevEUI_downlink.{field}"
        parts.extend(f"{where}: {message}" for message in messages)
    return "; ".join(parts)


def _database_error(exc):
    """The JSON API's classification (platform/api.py) in ThingPark's shape: only an outage is a
    503 with Retry-After, because an application server retries that one forever."""
    status, message, headers = database_error_answer(exc)
    response = thingpark_error_response(status, message)
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
def downlink_messages(request, secret):
    if request.method != "POST":
        response = thingpark_error_response(405, "Use POST with a DevEUI_downlink body.")
        response["Allow"] = "POST"
        return response
    if not is_json_media_type(request.content_type):
        # As the device callback: only the media type counts, the body is read as UTF-8 JSON.
        return thingpark_error_response(415, not_json_message(request.content_type))
    limit = settings.DEVICE_CALLBACK_MAX_BYTES
    body = request.read(limit + 1)
    if len(body) > limit:
        return thingpark_error_response(413, f"Body too large: at most {limit} bytes.")
    try:
        connection = connection_for_downlink_secret(secret)
        if connection is None:
            return thingpark_error_response(404, "No such downlink URL.")
        try:
            device_id, payload = _parse(body)
        except ValueError as exc:
            return thingpark_error_response(400, str(exc))
        if not connection.active:
            return thingpark_error_response(403, "This connection is deactivated: activate it to send downlinks.")
        attached = Device.objects.filter(owner_id=connection.owner_id, applications=connection)
        device = attached.filter(device_id=device_id).first()
        if device is None:
            # A DevEUI is hex, in whatever case the application server writes it: "70B3D5..." finds
            # the device "70b3d5..." when it is the only one attached that matches so.
            found = list(attached.filter(device_id__iexact=device_id)[:2])
            device = found[0] if len(found) == 1 else None
        if device is None:
            return thingpark_error_response(404, f"No device {device_id[:64]!r} is attached to this connection.")
        downlink = downlink_queue(device=device, payload=payload, source=str(connection.pk))
    except DatabaseError as exc:
        return _database_error(exc)
    return JsonResponse({"id": downlink.pk, "status": "queued"}, status=202)
