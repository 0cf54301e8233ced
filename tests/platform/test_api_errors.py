"""The API's error bodies, including the database being down (503, not 500)."""
from django.db import DatabaseError, OperationalError
from rest_framework.exceptions import ValidationError

from platform.api import exception_handler


def test_database_error_is_503_with_retry_after():
    response = exception_handler(OperationalError("connection refused"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data == {"error": {"code": 503, "message": "The database is unavailable: retry later."}}
    assert isinstance(OperationalError(), DatabaseError)


def test_validation_error_names_the_field():
    response = exception_handler(ValidationError({"name": ["This field is required."]}), {})
    assert response.status_code == 400
    assert response.data["error"]["message"] == "name: This field is required."
    assert response.data["error"]["fields"] == {"name": ["This field is required."]}


# --- The three classes of database error, from real PostgreSQL errors (issue 17) ----------------

import json
import logging
from types import SimpleNamespace

import psycopg
import pytest
from django.db import DataError, ProgrammingError, connection, transaction
from django.http import QueryDict


def _raised(sql, params=()):
    """The Django error a real statement raises, inside a savepoint so the test goes on."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return exc
    raise AssertionError(f"{sql} did not fail")


@pytest.mark.django_db
def test_our_own_bad_sql_is_500_logged_with_its_sql(caplog):
    exc = _raised("SELECT r.ts AS t, FROM buckets_record r")  # the empty column list of issue 17
    assert isinstance(exc, ProgrammingError)
    with caplog.at_level(logging.ERROR, logger="platform.api"):
        response = exception_handler(exc, {})
    assert response.status_code == 500 and "Retry-After" not in response
    assert response.data["error"]["code"] == 500 and response.data["error"]["message"]
    assert "SELECT r.ts AS t, FROM buckets_record r" in caplog.text


@pytest.mark.django_db
def test_a_value_the_database_cannot_hold_is_400_naming_the_field():
    exc = _raised("SELECT %s::int", [2**40])
    assert isinstance(exc, DataError)
    request = SimpleNamespace(data={"config": {"period": 2**70, "unit": "days"}})
    response = exception_handler(exc, {"request": request})
    assert response.status_code == 400 and "Retry-After" not in response
    assert response.data["error"]["message"].startswith("config.period: ")
    nul = exception_handler(exc, {"request": SimpleNamespace(data={"name": "a\x00b"})})
    assert nul.data["error"]["message"].startswith("name: ")
    read = exception_handler(exc, {"request": SimpleNamespace(method="GET", query_params=QueryDict("q=a%00b"))})
    assert read.data["error"]["message"].startswith("q: this value cannot be used in a query: remove NUL")


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_is_503_with_retry_after(alice, api):
    client = api(alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
                         autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    try:
        response = client.get("/v1/users/alice/devices")
    finally:
        connection.close()
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": {"code": 503, "message": "The database is unavailable: retry later."}}


# --- The device callback and the downlink URL tell them apart too --------------------------------
# Firmware and application servers retry a 503 forever, so only an outage may answer it there.

from unittest import mock

from endpoints.models import Connection

CALLBACK = "/v3/users/alice/devices/d1/callback/data"
DOWNLINK_BODY = json.dumps({"DevEUI_downlink": {"DevEUI": "d1", "payload": {"led": "on"}}})


def _three_classes():
    """A real query bug, a real value out of range and a refused connection, as Django raises them."""
    return {
        "bug": _raised("SELECT r.ts AS t, FROM buckets_record r"),
        "value": _raised("SELECT %s::int", [2**40]),
        "outage": OperationalError("connection refused"),
    }


def _callback_answers(client, device):
    answers = {}
    for name, exc in _three_classes().items():
        with mock.patch("devices.callback.device_for_callback", side_effect=exc):
            answers[name] = client.post(CALLBACK, {"t": 1}, content_type="application/json",
                                        HTTP_AUTHORIZATION=f"Bearer {device.token}")
    return answers


def _downlink_answers(client, device):
    connection = Connection.objects.create(owner=device.owner, name="App", destination_url="http://x.example")
    device.applications.add(connection)
    answers = {}
    for name, exc in _three_classes().items():
        with mock.patch("devices.cloud_downlinks.downlink_queue", side_effect=exc):
            answers[name] = client.post(f"/iot-flow/downlinkMessages/{connection.downlink_secret}",
                                        DOWNLINK_BODY, content_type="application/json")
    return answers


@pytest.mark.django_db
def test_callback_tells_database_errors_apart_in_its_own_shape(client, device, caplog):
    with caplog.at_level(logging.ERROR, logger="platform.api"):
        answers = _callback_answers(client, device)
    bug, value, outage = answers["bug"], answers["value"], answers["outage"]
    assert bug.status_code == 500 and "Retry-After" not in bug
    assert "SELECT r.ts AS t, FROM buckets_record r" in caplog.text
    assert value.status_code == 400 and "Retry-After" not in value
    assert "cannot be stored" in value.json()["error"]["message"]
    assert outage.status_code == 503 and outage["Retry-After"] == "5"
    for response in answers.values():
        assert response.json()["error"]["code"] == response.status_code


@pytest.mark.django_db
def test_callback_settings_route_tells_them_apart_too(client, device):
    with mock.patch("devices.callback.AccessToken.find", side_effect=_three_classes()["bug"]):
        response = client.get("/v3/users/alice/devices/d1/callback", HTTP_AUTHORIZATION="Bearer a.b")
    assert response.status_code == 500 and "Retry-After" not in response
    assert response.json()["error"]["code"] == 500


@pytest.mark.django_db
def test_downlink_url_tells_database_errors_apart_in_thingparks_shape(client, device):
    answers = _downlink_answers(client, device)
    bug, value, outage = answers["bug"], answers["value"], answers["outage"]
    assert (bug.status_code, bug.json()["code"]) == (500, "com-5000") and "Retry-After" not in bug
    assert (value.status_code, value.json()["code"]) == (400, "com-4000") and "Retry-After" not in value
    assert (outage.status_code, outage.json()["code"]) == (503, "com-5003") and outage["Retry-After"] == "5"
    for response in answers.values():
        assert set(response.json()) == {"code", "message"}
