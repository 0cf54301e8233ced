"""Django's error views (404, 400, 403, 500) for what fails outside a view's own handling: no
route matched, a request refused by middleware, an exception no handler caught. The routes of
the JSON API answer in the API's error shape (ThingPark's under /iot-flow/), never with an HTML
page; the web UI keeps Django's pages."""
from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from platform.api import INTERNAL, error_response, thingpark_error_response

API_PREFIXES = ("/v1/", "/v3/", "/iot-flow/", "/api/schema")
NOT_FOUND = "Not found: no such route, or no such object of yours (see /api/docs/)."


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIXES)


def api_error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path_info.startswith("/iot-flow/"):
        return thingpark_error_response(status, message)
    return error_response(status, message)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error(request, 404, NOT_FOUND)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # as every API view is: a POST to a wrong path is a 404, not a CSRF 403
def api_route_not_found(request: HttpRequest) -> HttpResponse:
    """The last route under the API's prefixes: a path no API route matched. Django's handler404
    is not used when DEBUG is on (as under `make run`), where it draws its HTML debug page; a
    script or a device must get the API's JSON error whatever the setting."""
    return api_error(request, 404, NOT_FOUND)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error(request, 400, "Bad request: the request itself could not be read.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error(request, 403, "Forbidden.")
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return api_error(request, 500, INTERNAL)
    return defaults.server_error(request)
