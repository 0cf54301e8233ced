"""The production WSGI application (platform/wsgi.py) sends device callbacks to a handler without
the web UI's middleware, and everything else, including the callback-settings API on
`.../callback`, through Django's full middleware."""
import io
import json
import logging
import sys

import pytest
from django.conf import settings
from django.test import Client

from devices.models import Message
from platform.handlers import is_device_callback
from platform.models import AccessToken

DATA = "/v3/users/alice/devices/d1/callback/data"
SETTINGS = "/v3/users/alice/devices/d1/callback"


@pytest.fixture
def app(db):
    """The application the web server serves. As Django's test client does, requests here leave the
    database connection open: it holds the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from platform.wsgi import application

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield application
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def call(app, path, method="GET", body=b"", **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1", **headers}
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status[:3]), dict(response_headers)

    answer["body"] = b"".join(app(environ, start_response))
    return answer


@pytest.mark.parametrize(("path", "authorization", "device"), [
    (DATA, "Bearer abc", True), (DATA, "", True), (DATA, "Bearer key.secret", True),
    (SETTINGS, "Bearer abc", True), (SETTINGS, "bearer abc", True), (SETTINGS, "Bearer key.secret", False),
    (SETTINGS, "", False), (SETTINGS, "Bearer ", False), (SETTINGS + "/token", "Bearer abc", False),
    ("/devices/", "Bearer abc", False), ("/v3/users/alice/devices/d1/callback/data/x", "Bearer abc", False)])
def test_which_requests_are_a_devices(path, authorization, device):
    assert is_device_callback({"PATH_INFO": path, "HTTP_AUTHORIZATION": authorization}) is device


def test_device_callback_is_stored_and_answered_with_security_headers(app, device):
    answer = call(app, DATA, "POST", json.dumps({"t": 1}).encode(), HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert answer["status"] == 200 and Message.objects.count() == 1
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware kept
    assert answer["headers"]["Content-Length"] == str(len(answer["body"]))  # firmware reads no chunks
    assert "Cookie" not in answer["headers"].get("Vary", "")


def test_wrong_device_token_is_the_same_401_on_both_urls(app, device):
    on_data = call(app, DATA, "POST", b"{}", HTTP_AUTHORIZATION="Bearer wrong")
    on_alias = call(app, SETTINGS, "POST", b"{}", HTTP_AUTHORIZATION="Bearer wrong")
    assert on_data["status"] == on_alias["status"] == 401 and on_data["body"] == on_alias["body"]


def test_settings_api_with_a_users_token_keeps_working(app, alice, device):
    _, token = AccessToken.issue(user=alice, name="test")
    answer = call(app, SETTINGS, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer["status"] == 200 and "actions" in json.loads(answer["body"])


def test_settings_for_a_signed_in_browser_keep_the_session(app, alice, device):
    browser = Client()
    browser.force_login(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    answer = call(app, SETTINGS, HTTP_COOKIE=cookie)
    assert answer["status"] == 200 and "actions" in json.loads(answer["body"])


def test_web_pages_keep_the_full_middleware(app):
    answer = call(app, "/devices/")
    assert answer["status"] == 302  # to the login page: the session and auth middleware ran
    assert answer["headers"]["X-Frame-Options"] == "DENY"


def test_a_failing_callback_is_djangos_500_logged(app, device, caplog, monkeypatch):
    """The device handler calls the view itself (platform/handlers.py): an exception there is
    answered and logged as Django's handler would, in the platform's error shape."""
    from platform.wsgi import routed

    def broken(request, user, device):
        raise RuntimeError("boom")

    monkeypatch.setattr(routed.device, "view", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = call(app, DATA, "POST", b"{}", HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert answer["status"] == 500 and "error" in json.loads(answer["body"])
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"  # the middleware's hooks still ran
    assert any(r.levelno == logging.ERROR and "boom" in str(r.exc_info) for r in caplog.records)


def test_a_callback_to_a_host_not_allowed_is_a_400(app, device):
    answer = call(app, DATA, "POST", b"{}", HTTP_AUTHORIZATION=f"Bearer {device.token}", HTTP_HOST="evil.example")
    assert answer["status"] == 400 and Message.objects.count() == 0
    # CommonMiddleware's process_request raised it; the layer outside (SecurityMiddleware) still answers.
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"


def test_a_4xx_to_a_device_is_logged_as_djangos_handler_logs_it(app, device, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        answer = call(app, DATA, "POST", b"{}", HTTP_AUTHORIZATION="Bearer wrong")
    assert answer["status"] == 401
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [f"Unauthorized: {DATA}"]


def test_a_device_middleware_without_hooks_stops_the_start(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from platform import handlers

    monkeypatch.setattr(handlers, "DEVICE_MIDDLEWARE", [*handlers.DEVICE_MIDDLEWARE, "tests.platform.test_handlers.Plain"])
    with pytest.raises(ImproperlyConfigured, match="Plain must be a MiddlewareMixin"):
        handlers.DeviceHandler()


class Plain:
    """A middleware of the kind that wraps get_response (no hooks)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


def test_a_middlewares_early_answer_goes_back_out_through_the_layers_entered(app, device, settings):
    """SecurityMiddleware answers a plain-HTTP callback with a redirect when told to: the view never
    runs, and the answer still gets the security headers, as in Django's chain."""
    from platform.handlers import DeviceHandler

    settings.SECURE_SSL_REDIRECT = True
    answer = call(DeviceHandler(), DATA, "POST", b"{}", HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert answer["status"] == 301 and answer["headers"]["Location"] == f"https://127.0.0.1{DATA}"
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff" and Message.objects.count() == 0
