"""OpenAPI pieces drf-spectacular cannot guess: the access-token scheme (imported by urls.py so
the extension is registered before the schema is generated) and the error bodies every API
operation declares."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "platform.auth.AccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A user access token `<key>.<secret>` (web UI: Access tokens)."}


# --- Error bodies, shared by the API views' @extend_schema declarations -----------------------


class ErrorDetailSchema(serializers.Serializer):
    code = serializers.IntegerField(help_text="the HTTP status")
    message = serializers.CharField(help_text="what is wrong and what to fix")
    # A declared field goes to _declared_fields (the serializer's `fields` property stays as it is).
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="per-field messages, on a 400 from validation")


class ApiErrorSchema(serializers.Serializer):
    """Thinger's error shape: {"error": {"code": N, "message": "..."}}."""

    error = ErrorDetailSchema()


ERROR_TEXT = {400: "Invalid input; the message says what to fix.", 401: "No or invalid access token.",
              404: "Not found, or another user's.", 413: "Body too large.", 415: "Body is not JSON.",
              502: "The endpoint did not answer."}


def api_errors(*codes, schema=ApiErrorSchema):
    """{status: OpenApiResponse} for the error answers an operation can give (401 and 404 always:
    every route is a user's and answers 404 for anyone else)."""
    return {code: OpenApiResponse(schema, description=ERROR_TEXT[code]) for code in sorted({401, 404, *codes})}



# --- Completing the generated schema (SPECTACULAR_SETTINGS' POSTPROCESSING_HOOKS) -------------

_COMMON_ERRORS = {413: "Body too large.", 415: "Body is not JSON (Content-Type: application/json).",
                  503: "The database is unavailable: retry after Retry-After seconds."}


def complete_schema(result, generator, request, public):
    """Adds the routes that are plain Django views (devices.openapi.callback_paths) and the
    answers every operation can give whatever its view: 503 when the database is down, and 413
    and 415 for a body too large or not JSON (platform/parsers.py), in the route's error shape."""
    from devices.openapi import callback_paths

    result["paths"].update(callback_paths())
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["deviceToken"] = {"type": "http", "scheme": "bearer", "description": "A device's callback token."}
    for path, item in result["paths"].items():
        error = "ThingParkErrorSchema" if path.startswith("/iot-flow/") else "ApiErrorSchema"
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = [503] + ([413, 415] if "requestBody" in operation else [])
            for code in codes:
                operation["responses"].setdefault(str(code), {
                    "description": _COMMON_ERRORS[code],
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}}})
    return result
