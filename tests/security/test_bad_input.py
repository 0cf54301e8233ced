"""Bad input on the device callback: never a 500, and every error says what to fix."""
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from buckets.models import Record
from devices.models import Message
from tests.security.conftest import error_message


def post(client, device, body, content_type="application/json", **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic("POST", f"/v3/users/alice/devices/{device.device_id}/callback/data", data,
                          content_type=content_type, CONTENT_TYPE=content_type,
                          HTTP_AUTHORIZATION=f"Bearer {device.token}", **extra)


def assert_refused(response, status, *words):
    assert response.status_code == status, (response.status_code, response.content[:300])
    message = error_message(response)
    assert message and all(w.lower() in message.lower() for w in words), message
    return message


@pytest.mark.parametrize("body, words", [
    (b"{", ["malformed json"]),
    (b"\xff\xfe{\x00}", ["malformed json"]),  # not UTF-8
    (b'{"a": "\xc3\x28"}', ["malformed json"]),  # invalid UTF-8 sequence inside a string
    (b'{"a": NaN}', ["not json"]),
    (b'{"a": Infinity}', ["not json"]),
    (b'{"a": -Infinity}', ["not json"]),
    (b'{"a": 1e400}', ["out of range"]),
    (b'{"a": -1e400}', ["out of range"]),
    (b'{"a": 1' + b"0" * 5000 + b"}", ["out of range"]),  # past Python's int-parsing limit
    (b'{"a": 1.7976931348623157e308}', ["out of range"]),  # finite, but buckets aggregate as double precision
    (b'{"a": "\\u0000"}', ["nul"]),
    (b'{"a": "\\ud800"}', ["surrogate"]),
    # Without a \u escape (the parser's text pre-check must not skip these, platform/payloads.py):
    (b'{"a": "\xed\xa0\x80"}', ["surrogate"]),  # a surrogate encoded as if UTF-8
    ('{"a": "\\u0000"}'.encode("utf-16-le"), ["nul"]),  # ASCII bytes, but no contiguous \u
    ('{"a": "\ud800"}'.encode("utf-32", "surrogatepass"), ["surrogate"]),
    (b"[" * 65 + b"{}" + b"]" * 65, ["nested"]),  # one level past the cap
    (b"[" * 100_00 + b"]" * 100_00, ["nested"]),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, ["nested"]),
    (b"[]", ["empty array"]),
    (b"42", ["object"]),
    (b'"text"', ["object"]),
    (b"null", ["object"]),
    (b"[1, 2]", ["object"]),
    (b'{"ts": "yesterday"}', ["ts"]),
    (b'{"ts": true}', ["ts"]),
    (b'{"ts": -5}', ["ts"]),
    (b'{"ts": 1e300}', ["ts"]),
    (b"", ["empty"]),
    (b"   ", ["empty"]),
])
def test_bad_json_is_400_saying_what_to_fix(client, device, body, words):
    assert_refused(post(client, device, body), 400, *words)
    assert not Message.objects.exists()


def test_oversized_body_is_413(client, device, settings):
    settings.DEVICE_CALLBACK_MAX_BYTES = 1024
    body = json.dumps({"blob": "x" * 2000})
    assert_refused(post(client, device, body), 413, "at most 1024 bytes")


def test_body_longer_than_its_content_length_is_cut_not_trusted(client, device, settings):
    """A client lying about Content-Length cannot make the view read more than the limit."""
    settings.DEVICE_CALLBACK_MAX_BYTES = 1024
    body = json.dumps({"blob": "x" * 5000}).encode()
    response = post(client, device, body, CONTENT_LENGTH="10")
    assert response.status_code in (400, 413), response.content
    assert not Message.objects.exists()


def test_wrong_content_type_is_415(client, device):
    assert_refused(post(client, device, b'{"a": 1}', content_type="text/plain"), 415, "application/json")


def test_duplicate_keys_keep_the_last_value(client, device):
    response = post(client, device, b'{"a": 1, "a": 2}')
    assert response.status_code == 200, response.content
    assert Message.objects.get().payload == {"a": 2}


def test_big_but_finite_numbers_are_stored_exactly(client, device):
    body = b'{"big": 123456789012345678901234567890, "small": -1e-300, "large": 1e300}'
    assert post(client, device, body).status_code == 200
    assert Message.objects.get().payload["big"] == 123456789012345678901234567890


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)

def _decimals(value):
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(repr(value))
    return value


FUZZ = {"max_examples": 80, "deadline": None, "derandomize": True,
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


@pytest.fixture
def no_rate_limit(settings):
    # Set once per test, not per example: each assignment on pytest-django's `settings` stacks an override.
    settings.DEVICE_RATE_LIMIT = 0


@hsettings(**FUZZ)
@given(body=st.binary(max_size=300))
def test_any_bytes_never_500(client, device, no_rate_limit, body):
    response = post(client, device, body)
    assert response.status_code in (200, 400), (response.status_code, body)
    if response.status_code == 400:
        assert error_message(response)


@hsettings(**FUZZ)
@given(value=JSON)
def test_any_json_is_stored_or_refused_with_a_reason(client, device, no_rate_limit, value):
    body = json.dumps(value)
    response = post(client, device, body)
    assert response.status_code in (200, 400), (response.status_code, body)
    if response.status_code == 400:
        assert error_message(response)
    else:
        assert isinstance(value, (dict, list))
        # jsonb keeps numbers as decimals (6.9e+16 comes back as the int 69000000000000000): compare values.
        assert _decimals(Message.objects.order_by("-id").first().payload) == _decimals(json.loads(body))


@hsettings(**FUZZ)
@given(objects=st.lists(st.dictionaries(st.text(max_size=6), JSON, max_size=3), min_size=1, max_size=5))
def test_bulk_json_reaches_the_bucket_as_sent(device, objects):
    """The ingest worker's job on what the callback accepted: one record per object, values as sent
    (minus `ts`), whatever the keys and values."""
    from devices.ingest import messages_process
    from platform.payloads import PayloadError, payload_parse

    body = json.dumps(objects).encode()
    try:
        payload = payload_parse(body)
    except PayloadError:
        return
    message = Message.objects.create(device=device, payload=payload, size=len(body), ts=1_700_000_000_000)
    messages_process()
    stored = list(Record.objects.filter(message_id=message.pk).order_by("index").values_list("val", flat=True))
    assert _decimals(stored) == _decimals([{k: v for k, v in o.items() if k != "ts"} for o in objects])
