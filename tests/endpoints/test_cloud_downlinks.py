import json

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
