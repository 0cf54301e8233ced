"""Secrets in URLs never reach a log line: the downlink URL's secret on a 4xx (Django logs the
path) and a device token in `?authorization=` (gunicorn's access log has the request line)."""
import datetime
import logging

import pytest
from gunicorn.config import Config

from endpoints.models import Connection
from platform.gunicorn_logging import RedactingLogger
from platform.logfilters import redact


@pytest.mark.django_db
def test_a_4xx_on_a_valid_downlink_url_does_not_log_the_secret(client, alice, caplog):
    app = Connection.objects.create(owner=alice, name="app", destination_url="https://example.com/up")
    url = f"/iot-flow/downlinkMessages/{app.downlink_secret}"
    caplog.set_level(logging.DEBUG)
    assert client.post(url, b"{bad", content_type="application/json").status_code == 400
    assert client.get(url).status_code == 405
    assert client.post(url, {"DevEUI_downlink": {"DevEUI": "nope", "payload": 1}},
                       content_type="application/json").status_code == 404
    logged = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert len(logged) == 3 and all("/iot-flow/downlinkMessages/<secret>" in line for line in logged), logged
    assert app.downlink_secret not in caplog.text


def test_redact_keeps_the_rest_of_the_line():
    line = 'POST /v3/users/a/devices/d/callback/data?x=1&authorization=tok-123&y=2 HTTP/1.1'
    assert redact(line) == 'POST /v3/users/a/devices/d/callback/data?x=1&authorization=<token>&y=2 HTTP/1.1'
    assert redact("Not Found: /iot-flow/downlinkMessages/abcDEF_-9") == "Not Found: /iot-flow/downlinkMessages/<secret>"


def test_gunicorns_access_log_line_has_no_secret():
    class Response:
        status, sent, headers = "404 Not Found", 10, []

    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/iot-flow/downlinkMessages/s3cr3t?authorization=t0k",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/iot-flow/downlinkMessages/s3cr3t",
               "QUERY_STRING": "authorization=t0k", "REMOTE_ADDR": "10.0.0.1"}
    atoms = RedactingLogger(Config()).atoms(Response(), [], environ, datetime.timedelta(milliseconds=5))
    text = " ".join(str(v) for v in atoms.values())
    assert "s3cr3t" not in text and "t0k" not in text
    assert atoms["r"] == "POST /iot-flow/downlinkMessages/<secret>?authorization=<token> HTTP/1.1"
