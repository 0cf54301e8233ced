"""The routes drf-spectacular cannot see, for the OpenAPI schema. The devices API's bodies are
documented by the serializers that render them (devices/serializers.py)."""
# --- Routes drf-spectacular cannot see ----------------------------------------------------------
# The device callback and the ThingPark downlink URL are plain Django views (the hot path, and a
# URL that is its own credential), and `.../callback` dispatches to the settings view by the
# credential presented. platform/schema.py adds these paths to the schema with this text.

_ERROR = {"$ref": "#/components/schemas/ApiErrorSchema"}
_TP_ERROR = {"$ref": "#/components/schemas/ThingParkErrorSchema"}
_DEVICE_SECURITY: list[dict[str, list[str]]] = [{"deviceToken": []}, {}]
_DOWNLINK_HEADERS = {
    "X-Downlink-Id": {"description": "the downlink in the body (marked delivered on a POST)", "schema": {"type": "integer"}},
    "X-Downlinks-Pending": {"description": "downlinks still queued after it", "schema": {"type": "integer"}}}
_ANSWER = {"description": "Committed. The oldest queued downlink (X-Downlink-Id, X-Downlinks-Pending), else the "
                          "response property's value, else {}.",
           "headers": _DOWNLINK_HEADERS, "content": {"application/json": {"schema": {}}}}
# A GET stores nothing and leaves the downlink queued.
_READ_ANSWER = {**_ANSWER, "description": "Nothing stored. The answer a POST would get: the oldest queued downlink "
                                          "(left queued), else the response property's value, else {}."}


def _example(summary, value):
    """A request example as OpenAPI writes it in a media type: Swagger UI's default body for "Try
    it out", so it must be one the route accepts (tests/security/test_api_examples.py)."""
    return {"examples": {"example": {"summary": summary, "value": value}}}


_DATA_BODY = {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    {"type": "object", "additionalProperties": True},
    {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": True}}]},
    **_example("A reading", {"temperature": 21.5, "humidity": 40})}}}
_ID = {"type": "string"}
_PATH = [{"name": "user", "in": "path", "required": True, "schema": _ID},
         {"name": "device", "in": "path", "required": True, "schema": _ID}]
_TOKEN_QUERY = {"name": "authorization", "in": "query", "required": False, "schema": {"type": "string"},
                "description": "the device's callback token, instead of the Authorization header"}
_CALLBACK_TEXT = {400: "Malformed JSON, not an object or a non-empty array of objects, bad ts.",
                  401: "No token, wrong token, unknown user or device (one answer for all).",
                  403: "The device is disabled.", 404: "No such device of yours (settings).",
                  413: "Body too large.", 415: "Not JSON.", 429: "Over the device's rate limit (Retry-After).",
                  503: "The database is unavailable (Retry-After)."}
_NULLABLE_ID = {"type": "string", "nullable": True}
_SETTINGS = {"type": "object", "properties": {
    "actions": {"type": "object", "nullable": True, "properties": {
        name: _NULLABLE_ID for name in ("write_bucket", "call_endpoint", "set_property", "send_property")}},
    "properties": {"type": "object", "nullable": True, "properties": {
        "timeout": {"type": "integer", "minimum": 1, "description": "connection timeout, minutes"}}}}}


def _errors(*codes, schema=_ERROR, text=_CALLBACK_TEXT):
    return {str(code): {"description": text[code], "content": {"application/json": {"schema": schema}}}
            for code in codes}


def _data_post(operation_id):
    return {"operationId": operation_id, "tags": ["v3"], "security": _DEVICE_SECURITY,
            "summary": "A device sends a message (object or array of objects).",
            "parameters": [_TOKEN_QUERY], "requestBody": _DATA_BODY,
            "responses": {"200": _ANSWER, **_errors(400, 401, 403, 413, 415, 429, 503)}}


def _data_get(operation_id):
    return {"operationId": operation_id, "tags": ["v3"], "security": _DEVICE_SECURITY,
            "summary": "A device reads its callback answer without sending data.", "parameters": [_TOKEN_QUERY],
            "responses": {"200": _READ_ANSWER, **_errors(401, 403, 429, 503)}}


def _with_path_parameters(items):
    # drf-spectacular reads every key of a path item as an operation: parameters go on each one.
    for item in items.values():
        parameters = item.pop("parameters")
        for operation in item.values():
            operation["parameters"] = [*parameters, *operation.get("parameters", [])]
    return items


def callback_paths():
    """OpenAPI path items for the device callback, its alias, the callback settings and the
    ThingPark downlink URL."""
    base = "/v3/users/{user}/devices/{device}/callback"
    settings_get = {"description": "With a user access token: the callback settings. With the device's token: the "
                                   "callback answer, as GET .../callback/data.",
                    "content": {"application/json": {"schema": {"anyOf": [_SETTINGS, {}]}}}}
    return _with_path_parameters({
        f"{base}/data": {"parameters": _PATH, "post": _data_post("v3_callback_data_create"),
                         "get": _data_get("v3_callback_data_retrieve")},
        base: {
            "parameters": _PATH,
            "post": {**_data_post("v3_callback_create"), "summary": "Alias of POST .../callback/data.",
                     "responses": {**_data_post("")["responses"], **_errors(405, text={
                         405: "A user access token here means the settings (GET or PUT); a device POSTs with its "
                              "callback token."})}},
            "get": {"operationId": "v3_callback_retrieve", "tags": ["v3"],
                    "security": [{"accessToken": []}, {"cookieAuth": []}, *_DEVICE_SECURITY],
                    "parameters": [_TOKEN_QUERY],
                    "responses": {"200": settings_get, **_errors(401, 403, 404, 429, 503)}},
            "put": {"operationId": "v3_callback_settings_update", "tags": ["v3"],
                    "summary": "Set the callback settings (Thinger's shape); absent or null actions are off.",
                    "security": [{"accessToken": []}, {"cookieAuth": []}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": _SETTINGS, **_example("Store, forward, keep the last message, answer a property", {
                            "actions": {"write_bucket": "b1", "call_endpoint": "e1", "set_property": "last",
                                        "send_property": "config"},
                            "properties": {"timeout": 10}})}}},
                    "responses": {"200": {"description": "The settings now.",
                                          "content": {"application/json": {"schema": _SETTINGS}}},
                                  **_errors(400, 401, 404, 413, 415, 503)}},
        },
        "/iot-flow/downlinkMessages/{secret}": {
            "parameters": [{"name": "secret", "in": "path", "required": True, "schema": _ID,
                            "description": "the connection's downlink secret: the URL is the credential"}],
            "post": {"operationId": "iot_flow_downlink_messages_create", "tags": ["iot-flow"], "security": [{}],
                     "summary": "A cloud application queues a downlink for a device attached to the connection.",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["DevEUI_downlink"], "properties": {"DevEUI_downlink": {
                             "type": "object", "required": ["DevEUI"], "properties": {
                                 "DevEUI": {"type": "string", "minLength": 1},
                                 "payload": {"description": "any JSON but null; or send payload_hex, not both"},
                                 "payload_hex": {"type": "string", "pattern": "^([0-9A-Fa-f]{2})*$"}}}}},
                         **_example("A command for sensor-1", {"DevEUI_downlink": {
                             "DevEUI": "sensor-1", "payload": {"led": "off"}}})}}},
                     "responses": {"202": {"description": "Queued; returned in the device's next callback answer.",
                                           "content": {"application/json": {"schema": {
                                               "type": "object", "required": ["id", "status"], "properties": {
                                                   "id": {"type": "integer"}, "status": {"type": "string"}}}}}},
                                   **_errors(400, 403, 404, 413, 415, 503, schema=_TP_ERROR, text={
                                       400: "Malformed DevEUI_downlink, a null payload, or both payload and "
                                            "payload_hex (com-4000).",
                                       403: "The connection is deactivated.",
                                       404: "No such downlink URL, or no such device attached (com-4004).",
                                       413: "Body too large.", 415: "Not JSON (com-4015).",
                                       503: "The database is unavailable (Retry-After)."})}},
        },
    })
