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

from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from django.utils.log import log_response
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# CommonMiddleware sets Content-Length: without it the server answers HTTP/1.1 in chunks, which the
# smallest firmware HTTP clients do not read.
DEVICE_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
_CALLBACK = re.compile(r"/v3/users/(?P<user>[^/]+)/devices/(?P<device>[^/]+)/callback(?P<data>/data)?\Z")


# Where is_device_callback keeps its answer in the request's environ: BodyDeadline asks first (for the
# body's limit), then the Router, and the answer cannot change in between.
_VERDICT = "platform.device_callback"


def is_device_callback(environ: "WSGIEnvironment") -> bool:
    verdict = environ.get(_VERDICT)
    if verdict is None:
        verdict = environ[_VERDICT] = _is_device_callback(environ)
    return verdict


def _is_device_callback(environ: "WSGIEnvironment") -> bool:
    found = _CALLBACK.match(environ.get("PATH_INFO", ""))
    if found is None:
        return False
    if found.group("data"):
        return True
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    return scheme.lower() == "bearer" and bool(token) and "." not in token


class DeviceHandler:
    """Django's WSGI handler for the device callback, flattened: the same request class, signals,
    middleware (DEVICE_MIDDLEWARE, their hooks called in order), view, error responses and 4xx/5xx
    logging, without the layers that cost a callback more than they do for it. Measured in process
    (docs/performance.md, "Intake levers"), Django's handler around a view that does nothing cost about 60%
    more than this: a wrapper per middleware to turn exceptions into responses, a URL resolver for
    two URLs the Router has already recognised, the thread's URL configuration and script prefix
    set for `reverse()`, which the callback never calls (the web handler sets them on each of its
    own requests)."""

    def __init__(self) -> None:
        from devices.callback import callback

        self.view = callback
        # Their hooks are called directly, never the middleware itself: only MiddlewareMixin's kind will do.
        middleware = [import_string(path)(_never_called) for path in DEVICE_MIDDLEWARE]
        for path, instance in zip(DEVICE_MIDDLEWARE, middleware, strict=True):
            if not isinstance(instance, MiddlewareMixin):
                raise ImproperlyConfigured(f"DEVICE_MIDDLEWARE: {path} must be a MiddlewareMixin (process_request "
                                           "and process_response hooks); the device handler calls no other kind.")
        # (process_request, process_response) per middleware, outermost first; None where it has none.
        self.layers = [(getattr(m, "process_request", None), getattr(m, "process_response", None)) for m in middleware]

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        signals.request_started.send(sender=self.__class__, environ=environ)
        request = WSGIRequest(environ)
        response, entered = self._response(request)
        for _, after in reversed(self.layers[:entered]):
            if after is not None:
                response = after(request, response)
        response._resource_closers.append(request.close)  # type: ignore[attr-defined]  # private, not in django-stubs; Django's handler does it
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response,  # type: ignore[arg-type]
                         request=request)  # any response will do; django-stubs asks for an HttpResponse
        start_response(f"{response.status_code} {response.reason_phrase}",
                       [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())])
        return response  # the server's close() of it sends request_finished, as for Django's handler

    def _response(self, request: HttpRequest) -> tuple[HttpResponseBase, int]:
        """The answer, and how many middleware layers it goes back out through, as in Django's
        chain: a layer whose process_request answers is the last one entered (its process_response
        runs); one whose process_request raises is not entered (Django turns the exception into a
        response just outside it); the view's answer or exception goes back through every layer."""
        for index, (before, _) in enumerate(self.layers):
            try:
                early = before(request) if before is not None else None
            except Exception as exc:  # noqa: BLE001  Django's own answer to it: logged, handler400 and the like
                return response_for_exception(request, exc), index
            if early is not None:
                return early, index + 1
        try:
            found = _CALLBACK.match(request.path_info)  # the Router matched the same path already
            if found is None:
                raise Http404("Not a device callback URL.")
            return self.view(request, found.group("user"), found.group("device")), len(self.layers)
        except Exception as exc:  # noqa: BLE001  as above: logged, handler500 and the like
            return response_for_exception(request, exc), len(self.layers)


def _never_called(request: HttpRequest) -> HttpResponseBase:
    raise AssertionError("DeviceHandler calls the middleware's hooks, not the middleware")


class Router:
    """The WSGI application: device callbacks to the device handler, everything else to Django's."""

    def __init__(self, web: "WSGIApplication", device: "WSGIApplication") -> None:
        self.web, self.device = web, device

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        handler = self.device if is_device_callback(environ) else self.web
        return handler(environ, start_response)
