import json

import pytest

from devices.models import Downlink
from endpoints.models import Connection


def _url(connection):
    return f"/iot-flow/downlinkMessages/{connection.downlink_secret}"


def _post(client, connection, body):
    return client.post(_url(connection), json.dumps(body) if not isinstance(body, str) else body,
                       content_type="application/json")


def test_downlink_reaches_the_devices_next_callback(client, device, connection):
    device.applications.add(connection)
    response = _post(client, connection, {"DevEUI_downlink": {"DevEUI": "d1", "payload": {"led": "on"}}})
    assert response.status_code == 202, response.content
    assert Downlink.objects.get().source == str(connection.pk)
    answer = client.post("/v3/users/alice/devices/d1/callback/data", {"t": 1}, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert answer.status_code == 200 and answer.json() == {"led": "on"}


def test_payload_hex(client, device, connection):
    device.applications.add(connection)
    assert _post(client, connection, {"DevEUI_downlink": {"DevEUI": "d1", "payload_hex": "0a1B"}}).status_code == 202
    assert Downlink.objects.get().payload == "0a1B"
    bad = _post(client, connection, {"DevEUI_downlink": {"DevEUI": "d1", "payload_hex": "xyz"}})
    assert bad.status_code == 400 and bad.json()["code"] == "com-4000"


def test_bad_bodies_are_com_4000(client, device, connection):
    device.applications.add(connection)
    for body in ("{nope", [], {"DevEUI_uplink": {}}, {"DevEUI_downlink": {"payload": 1}},
                 {"DevEUI_downlink": {"DevEUI": "d1"}}):
        response = _post(client, connection, body)
        assert response.status_code == 400 and response.json()["code"] == "com-4000", body
    assert not Downlink.objects.exists()


def test_unknown_secret_unattached_and_others_devices_are_404(client, alice, charlie, device, connection):
    from devices.services import device_create

    body = {"DevEUI_downlink": {"DevEUI": "d1", "payload": 1}}
    assert client.post("/iot-flow/downlinkMessages/nope", json.dumps(body),
                       content_type="application/json").json()["code"] == "com-4004"
    # d1 exists but is not attached to this connection
    assert _post(client, connection, body).status_code == 404
    # charlie's connection, with charlie's own d1 attached, cannot reach alice's d1
    charlies = Connection.objects.create(owner=charlie, name="c", destination_url="http://x.example")
    charlie_device, _ = device_create(owner=charlie, device_id="d9")
    charlie_device.applications.add(charlies)
    device.applications.add(charlies)  # even a wrong attachment across owners is refused
    assert _post(client, charlies, body).status_code == 404
    assert not Downlink.objects.exists()


def test_get_is_405(client, connection):
    assert client.get(_url(connection)).status_code == 405


def test_a_devEUI_in_another_case_finds_the_one_attached_device_it_names(client, alice, bucket, connection):
    """A DevEUI is hex in whatever case the application server writes it; two attached devices
    that differ only by case are ambiguous, and neither is picked."""
    from devices.services import device_create

    sensor, _ = device_create(owner=alice, device_id="70b3d57ed0000001", write_bucket=bucket)
    sensor.applications.add(connection)
    response = _post(client, connection, {"DevEUI_downlink": {"DevEUI": "70B3D57ED0000001", "payload": {"a": 1}}})
    assert response.status_code == 202, response.content
    assert Downlink.objects.get().device == sensor
    twin, _ = device_create(owner=alice, device_id="70B3D57ed0000001", write_bucket=bucket)
    twin.applications.add(connection)
    ambiguous = _post(client, connection, {"DevEUI_downlink": {"DevEUI": "70B3D57ED0000001", "payload": {"a": 2}}})
    assert ambiguous.status_code == 404 and Downlink.objects.count() == 1


# --- The same rules as the device callback and the user API ----------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_declared_json_is_415_as_on_the_callback(client, device, connection, content_type):
    device.applications.add(connection)
    body = json.dumps({"DevEUI_downlink": {"DevEUI": "d1", "payload": 1}})
    response = client.generic("POST", _url(connection), body, content_type=content_type, CONTENT_TYPE=content_type)
    assert response.status_code == 415 and response.json()["code"] == "com-4015"
    assert "Content-Type: application/json" in response.json()["message"]
    assert not Downlink.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json; charset=foo", "application/json; charset=latin-1",
                                          "application/vnd.thingpark+json"])
def test_only_the_media_type_counts_and_the_body_is_utf8_as_on_the_callback(client, device, connection,
                                                                             content_type):
    device.applications.add(connection)
    body = json.dumps({"DevEUI_downlink": {"DevEUI": "d1", "payload": "€"}}, ensure_ascii=False).encode()
    # generic(), not post(): the test client would re-encode the bytes in the declared charset.
    response = client.generic("POST", _url(connection), body, content_type=content_type)
    assert response.status_code == 202, response.content
    assert Downlink.objects.get().payload == "€"


def test_a_null_payload_is_400_naming_it_as_in_the_user_api(client, device, connection):
    device.applications.add(connection)
    response = _post(client, connection, {"DevEUI_downlink": {"DevEUI": "d1", "payload": None}})
    assert response.status_code == 400 and response.json()["code"] == "com-4000"
    assert "DevEUI_downlink.payload" in response.json()["message"]
    assert not Downlink.objects.exists()


def test_payload_and_payload_hex_together_is_400_as_in_the_user_api(client, device, connection):
    device.applications.add(connection)
    response = _post(client, connection, {"DevEUI_downlink": {"DevEUI": "d1", "payload": 1, "payload_hex": "0a"}})
    assert response.status_code == 400 and response.json()["code"] == "com-4000"
    assert "payload or payload_hex, not both" in response.json()["message"]
    assert not Downlink.objects.exists()
