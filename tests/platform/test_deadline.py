"""BodyDeadline in process (platform/deadline.py): bodies read on a helper thread under a deadline,
sizes checked before reading."""
import io
import json
import threading

import pytest

from platform.deadline import BodyDeadline


class Stalled:
    """A body stream whose read blocks until released (a client that stopped sending)."""

    def __init__(self):
        self.released = threading.Event()

    def read(self, size=-1):
        self.released.wait(30)
        return b""


def _echo(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"body": body.decode(), "length": environ.get("CONTENT_LENGTH"),
                        "proxy": environ.get("HTTP_PROXY"), "secret": environ.get("DATABASE_URL")}).encode()]


def _call(app, **environ):
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status[:3]), dict(headers)

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "wsgi.input": io.BytesIO(b""), **environ}
    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], json.loads(body)


def test_a_body_in_time_reaches_the_application():
    status, _, answer = _call(BodyDeadline(_echo), CONTENT_LENGTH="7", **{"wsgi.input": io.BytesIO(b'{"a":1}')})
    assert status == 200 and answer["body"] == '{"a":1}'


def test_a_body_past_the_deadline_is_408_and_closes(settings):
    settings.REQUEST_BODY_TIMEOUT = 1
    stream = Stalled()
    try:
        status, headers, answer = _call(BodyDeadline(_echo), CONTENT_LENGTH="10", **{"wsgi.input": stream})
    finally:
        stream.released.set()
    assert status == 408 and headers["Connection"] == "close"
    assert "did not arrive within 1 s" in answer["error"]["message"]


def test_a_body_declared_too_large_is_413_unread(settings):
    settings.DEVICE_CALLBACK_MAX_BYTES = 10
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20
    status, _, answer = _call(BodyDeadline(_echo), CONTENT_LENGTH="21", **{"wsgi.input": Stalled()})
    assert status == 413 and "at most 20 bytes" in answer["error"]["message"]


@pytest.mark.parametrize("length", ["15", "21"])
def test_a_device_callback_is_held_to_its_own_limit(settings, length):
    """The 413 names the limit the device must keep to, not the web pages' larger one."""
    settings.DEVICE_CALLBACK_MAX_BYTES = 10
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20
    status, _, answer = _call(BodyDeadline(_echo), PATH_INFO="/v3/users/alice/devices/d1/callback/data",
                              CONTENT_LENGTH=length, **{"wsgi.input": Stalled()})
    assert status == 413
    assert answer["error"]["message"] == "Body too large: at most 10 bytes; split it into several callbacks."
    status, _, answer = _call(BodyDeadline(_echo), PATH_INFO="/v3/users/alice/devices/d1/callback/data",
                              HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": io.BytesIO(b"x" * 11)})
    assert status == 413 and "at most 10 bytes" in answer["error"]["message"]


@pytest.mark.parametrize("length", ["ten", "-5"])
def test_a_content_length_that_is_not_a_size_is_400(length):
    status, _, answer = _call(BodyDeadline(_echo), CONTENT_LENGTH=length, **{"wsgi.input": io.BytesIO(b"x")})
    assert status == 400 and "Content-Length" in answer["error"]["message"]


def test_a_body_shorter_than_declared_is_400():
    status, _, answer = _call(BodyDeadline(_echo), CONTENT_LENGTH="10", **{"wsgi.input": io.BytesIO(b"abc")})
    assert status == 400 and "ended after 3 of the 10 bytes" in answer["error"]["message"]


def test_a_chunked_body_gets_its_length(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20
    settings.DEVICE_CALLBACK_MAX_BYTES = 10
    status, _, answer = _call(BodyDeadline(_echo), HTTP_TRANSFER_ENCODING="chunked",
                              **{"wsgi.input": io.BytesIO(b'{"t": 21}')})
    assert status == 200 and answer == {"body": '{"t": 21}', "length": "9", "proxy": None, "secret": None}
    status, _, answer = _call(BodyDeadline(_echo), HTTP_TRANSFER_ENCODING="chunked",
                              **{"wsgi.input": io.BytesIO(b"x" * 21)})
    assert status == 413


def test_its_errors_have_the_platforms_shape(settings):
    """{"error": {"code", "message"}}, as every other error of the platform (platform/api.py)."""
    settings.DEVICE_CALLBACK_MAX_BYTES = 10
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20
    status, headers, answer = _call(BodyDeadline(_echo), CONTENT_LENGTH="21", **{"wsgi.input": Stalled()})
    assert status == 413
    assert answer == {"error": {"code": 413, "message": "Body too large: at most 20 bytes."}}
    assert headers["Content-Type"] == "application/json" and headers["Content-Length"] == str(len(json.dumps(answer)))


@pytest.mark.parametrize("length, status", [("999999999", 413), ("-1", 400), ("50", 400)])
def test_under_iot_flow_the_error_is_in_thingparks_shape(length, status):
    # Was Thinger's {"error": {...}}: ThingPark's views answer {"code": "com-4xxx", "message"}.
    got, headers, answer = _call(BodyDeadline(_echo), PATH_INFO="/iot-flow/v1/connections", CONTENT_LENGTH=length,
                                 **{"wsgi.input": io.BytesIO(b"{}")})
    assert got == status and headers["Connection"] == "close"
    assert answer["code"] == f"com-{status // 100 * 1000 + status % 100}" and answer["message"]
