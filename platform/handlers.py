"""Device callbacks skip the web UI's middleware.

A device's callback needs none of what the web UI's middleware does (sessions, a browser's login,
CSRF, messages, static files, htmx, frame options): it authenticates with its own token and is
answered in JSON. Routed to a handler with only SecurityMiddleware (HTTPS redirect and security
headers, as configured) and CommonMiddleware (Content-Length), a callback costs less CPU (README,
"Intake levers").

`.../callback` is also the callback-settings URL for a user (devices/callback.py): a request there
that may carry a user's credentials (an access token, which has a '.', or a browser session) keeps
the full middleware. Only a bearer token without a '.' (a device token, or a wrong one) takes the
device handler there; `.../callback/data` is always a device's."""
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import ResolverMatch
from django.urls.resolvers import RegexPattern, URLResolver

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# CommonMiddleware sets Content-Length: without it the server answers HTTP/1.1 in chunks, which the
# smallest firmware HTTP clients do not read.
DEVICE_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
_CALLBACK = re.compile(r"/v3/users/[^/]+/devices/[^/]+/callback(/data)?\Z")


def is_device_callback(environ: "WSGIEnvironment") -> bool:
    found = _CALLBACK.match(environ.get("PATH_INFO", ""))
    if found is None:
        return False
    if found.group(1):
        return True
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    return scheme.lower() == "bearer" and bool(token) and "." not in token


class DeviceHandler(WSGIHandler):
    def __init__(self) -> None:
        from devices.urls import callback_patterns

        super().__init__()
        # The full URL configuration costs a callback ~27 us to resolve (it is tried pattern by
        # pattern); the Router only sends the callback's two URLs here, so only they are tried.
        self.resolver = URLResolver(RegexPattern(r"^/"), callback_patterns)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        request.resolver_match = self.resolver.resolve(request.path_info)
        return request.resolver_match

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; this handler's chain is built from the
        # device list instead, once, when the process starts (before it serves anything).
        web_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = DEVICE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = web_middleware


class Router:
    """The WSGI application: device callbacks to the device handler, everything else to Django's."""

    def __init__(self, web: "WSGIApplication", device: "WSGIApplication") -> None:
        self.web, self.device = web, device

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        handler = self.device if is_device_callback(environ) else self.web
        return handler(environ, start_response)
