"""A deactivated user (is_active=False) is gone for devices and cloud applications too: their
devices' callbacks answer like an unknown device (401) and their applications' downlink URLs like
an unknown URL (404), at once, even with the callback's token lookup cached."""
import json

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import Connection
from tests.devices.conftest import post


def _deactivate(user, active=False):
    user.is_active = active
    user.save()


@pytest.mark.django_db
def test_a_deactivated_users_device_answers_like_an_unknown_one(client, alice, device):
    assert post(client, device, {"a": 1}).status_code == 200  # the lookup is now cached
    _deactivate(alice)
    response = post(client, device, {"a": 2})
    unknown = client.post("/v3/users/nobody/devices/d1/callback/data", {"a": 2}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert response.status_code == unknown.status_code == 401
    assert response.json() == unknown.json()
    assert client.get(f"/v3/users/alice/devices/d1/callback/data?authorization={device.token}").status_code == 401
    _deactivate(alice, active=True)
    assert post(client, device, {"a": 3}).status_code == 200


@pytest.mark.django_db
def test_an_active_users_cached_callback_costs_no_extra_query(client, alice, device):
    from devices.selectors import device_for_callback

    assert post(client, device, {"a": 1}).status_code == 200
    with CaptureQueriesContext(db_connection) as queries:
        assert device_for_callback("alice", "d1", device.token)[0] is not None
    from devices import cache as callback_cache

    assert len(queries) == (0 if callback_cache.enabled() else 1)


@pytest.mark.django_db
def test_a_deactivated_users_downlink_url_answers_like_an_unknown_one(client, alice, device):
    app = Connection.objects.create(owner=alice, name="app", destination_url="https://example.com/up")
    device.applications.add(app)
    body = json.dumps({"DevEUI_downlink": {"DevEUI": "d1", "payload": {"led": "on"}}})
    url = f"/iot-flow/downlinkMessages/{app.downlink_secret}"
    assert client.post(url, body, content_type="application/json").status_code == 202
    _deactivate(alice)
    response = client.post(url, body, content_type="application/json")
    unknown = client.post("/iot-flow/downlinkMessages/" + "x" * 32, body, content_type="application/json")
    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()
