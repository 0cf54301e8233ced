"""OpenAPI pieces drf-spectacular cannot guess: the access-token scheme. Imported by urls.py so
the extension is registered before the schema is generated."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "platform.auth.AccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A user access token `<key>.<secret>` (web UI: Access tokens)."}
