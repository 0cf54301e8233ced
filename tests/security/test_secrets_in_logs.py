"""Secrets in URLs never reach a log line: the downlink URL's secret on a 4xx (Django logs the
path) and a device token in `?authorization=` (the web server's access log has the request line)."""
import logging

import pytest
import requests

from endpoints.models import Connection
from platform.logfilters import AccessLogQuery, RedactSecrets, redact
from tests.stack import Stack, live_database_url, wait_until


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


def _access_line(path, query_string):
    """An access log record as the web server makes it (a format and a dict of values), through
    the filters platform/wsgi.py puts on its logger."""
    record = logging.LogRecord("granian.access", logging.INFO, __file__, 1, '"%(method)s %(path)s %(protocol)s" %(status)d',
                               ({"method": "POST", "path": path, "query_string": query_string, "protocol": "HTTP/1.1",
                                 "status": 200},), None)
    assert AccessLogQuery().filter(record) and RedactSecrets().filter(record)
    return record.getMessage()


def test_the_access_line_has_the_query_string_with_its_token_masked():
    path = "/v3/users/a/devices/d/callback/data"
    assert _access_line(path, "x=1&authorization=tok-123") == f'"POST {path}?x=1&authorization=<token> HTTP/1.1" 200'
    assert _access_line(path, "") == f'"POST {path} HTTP/1.1" 200'


@pytest.mark.e2e
def test_the_web_servers_access_log_has_no_secret(transactional_db, tmp_path):
    stack = Stack(env={"DATABASE_URL": live_database_url()}, tmp_path=tmp_path)
    try:
        stack.start_web(workers=1)
        answer = requests.post(f"{stack.url}/iot-flow/downlinkMessages/s3cr3t?authorization=t0k",
                               json={"DevEUI_downlink": {"DevEUI": "nope"}}, timeout=10)
        assert answer.status_code == 404
        wait_until(lambda: '"POST /iot-flow/' in stack.log("web"), timeout=10, what="the access log line")
    finally:
        stack.stop()
    log = stack.log("web")
    assert "s3cr3t" not in log and "t0k" not in log, log
    assert '"POST /iot-flow/downlinkMessages/<secret>?authorization=<token> HTTP/1.1" 404' in log, log
