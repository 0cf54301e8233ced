"""Callback settings (Thinger's shape) and token regeneration; how `.../callback` tells a user
(settings) from a device (data)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from buckets.models import Bucket
from devices.models import Device, Message
from endpoints.models import Endpoint
from tests.devices.conftest import post

URL = "/v3/users/alice/devices/d1/callback"
OFF = {"write_bucket": None, "call_endpoint": None, "set_property": None, "send_property": None}


@pytest.fixture
def endpoint(alice):
    return Endpoint.objects.create(owner=alice, endpoint_id="e1", url="https://example.com/e1")


def test_get_answers_thingers_shape(api, alice, device):
    response = api(alice).get(URL)
    assert response.status_code == 200
    assert response.json() == {"actions": {**OFF, "write_bucket": "b1"}, "properties": {"timeout": 10}}


def test_put_sets_every_action_and_the_timeout(api, alice, device, endpoint):
    Bucket.objects.create(owner=alice, bucket_id="b2")
    settings = {"actions": {"write_bucket": "b2", "call_endpoint": "e1", "set_property": "last",
                            "send_property": "config"}, "properties": {"timeout": 3}}
    response = api(alice).put(URL, settings, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == settings
    assert api(alice).get(URL).json() == settings
    device.refresh_from_db()
    assert (device.write_bucket.bucket_id, device.call_endpoint_id, device.set_property, device.send_property,
            device.timeout) == ("b2", endpoint.pk, "last", "config", 3)


def test_absent_or_null_actions_are_off(api, alice, device):
    response = api(alice).put(URL, {"actions": {"set_property": "last", "write_bucket": None}}, format="json")
    assert response.json() == {"actions": {**OFF, "set_property": "last"}, "properties": {"timeout": 10}}
    assert api(alice).put(URL, {}, format="json").json() == {"actions": OFF, "properties": {"timeout": 10}}


def test_new_timeout_moves_the_disconnect_deadline(api, alice, device, client):
    post(client, device, {"a": 1})
    api(alice).put(URL, {"properties": {"timeout": 1}}, format="json")
    device.refresh_from_db()
    assert device.disconnect_at == device.last_seen + timedelta(minutes=1)


@pytest.mark.parametrize("body, says", [
    ({"actions": {"write_bucket": "nope"}}, "actions.write_bucket: You have no bucket 'nope'"),
    ({"actions": {"call_endpoint": "nope"}}, "actions.call_endpoint: You have no endpoint 'nope'"),
    ({"actions": {"set_property": "bad name"}}, "actions.set_property: Bad property name"),
    ({"actions": {"write_bucket": 5}}, "actions.write_bucket: Give an id as a string"),
    ({"actions": {"store": "b1"}}, "Unknown action store"),
    ({"properties": {"timeout": 0}}, "properties.timeout: Give the connection timeout in whole minutes"),
    ({"properties": {"timeout": "10"}}, "properties.timeout"),
    ({"actions": ["write_bucket"]}, "actions"),
])
def test_bad_settings_are_400_naming_the_problem(api, alice, device, body, says):
    response = api(alice).put(URL, body, format="json")
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]
    device.refresh_from_db()
    assert device.write_bucket is not None


def test_another_users_bucket_is_unknown(api, alice, bob, device):
    Bucket.objects.create(owner=bob, bucket_id="bobs")
    response = api(alice).put(URL, {"actions": {"write_bucket": "bobs"}}, format="json")
    assert response.status_code == 400 and "no bucket 'bobs'" in response.json()["error"]["message"]


def test_token_regeneration_invalidates_the_old_token_at_once(api, alice, device, client):
    response = api(alice).post(f"{URL}/token")
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != device.token
    assert post(client, device, {"a": 1}).status_code == 401
    assert post(client, device, {"a": 1}, token=new).status_code == 200
    assert Device.objects.get().token_hash not in (new, "")


def test_token_regeneration_needs_a_user_token(client, device):
    response = client.post(f"{URL}/token", HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert response.status_code == 401


# How `.../callback` dispatches: the credential decides.

def test_post_with_device_token_on_the_alias_is_data(client, device):
    assert post(client, device, {"a": 1}, alias=True).status_code == 200
    assert Message.objects.count() == 1


def test_get_with_device_token_is_the_callback_answer_not_the_settings(client, device):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert response.status_code == 200 and response.json() == {}


def test_get_with_user_token_is_the_settings(api, alice, device):
    assert "actions" in api(alice).get(URL).json()


def test_post_with_user_token_is_405_not_data(api, alice, device):
    response = api(alice).post(URL, {"a": 1}, format="json")
    assert response.status_code == 405
    assert "callback token" in response.json()["error"]["message"]
    assert not Message.objects.exists()


def test_put_with_device_token_is_405(client, device):
    response = client.put(URL, "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert response.status_code == 405


def test_wrong_user_token_gets_the_callbacks_single_401(client, device):
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer 0123456789ab.wrong")
    assert response.status_code == 401
    wrong_device_token = client.get(URL, HTTP_AUTHORIZATION="Bearer wrong")
    assert response.content == wrong_device_token.content


def test_logged_in_browser_without_token_gets_the_settings(client, alice, device):
    client.force_login(alice)
    assert "actions" in client.get(URL).json()


def test_logged_in_browser_with_device_token_in_query_is_data(client, alice, device):
    client.force_login(alice)
    response = post(client, device, {"a": 1}, alias=True, token=False, QUERY_STRING=f"authorization={device.token}")
    assert response.status_code == 200 and Message.objects.count() == 1


def test_disabled_device_settings_still_readable(api, alice, device):
    Device.objects.filter(pk=device.pk).update(enabled=False, last_seen=timezone.now())
    assert api(alice).get(URL).status_code == 200
