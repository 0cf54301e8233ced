"""The devices REST API (docs/devices.md): /v1/users/{user}/devices[/{device}] and stats."""
import pytest

from devices.models import Device, Message, StatusChange
from devices.services import device_create
from endpoints.models import Connection
from tests.devices.conftest import post

BASE = "/v1/users/alice/devices"


@pytest.fixture
def app1(alice):
    return Connection.objects.create(owner=alice, name="App one", destination_url="https://example.com/hook")


def test_create_answers_the_device_with_its_token_once(api, alice, app1, client):
    response = api(alice).post(BASE, {"device": "d9", "name": "Boiler", "description": "cellar", "type": "HTTP",
                                      "applications": [str(app1.pk)]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    token = body.pop("token")
    assert isinstance(body.pop("created"), int) and isinstance(body.pop("modified"), int)
    assert body == {"device": "d9", "name": "Boiler", "description": "cellar", "type": "HTTP", "enabled": True,
                    "applications": [str(app1.pk)], "connection": {"active": False, "ts": None}}
    device = Device.objects.get(device_id="d9")
    device.token = token
    assert post(client, device, {"a": 1}).status_code == 200
    assert "token" not in api(alice).get(f"{BASE}/d9").json()
    assert token not in str(Device.objects.filter(pk=device.pk).values().get())


def test_list_and_get(api, alice, device):
    device_create(owner=alice, device_id="d2", name="Second")
    listed = api(alice).get(BASE).json()
    assert [d["device"] for d in listed] == ["d1", "d2"]
    assert api(alice).get(f"{BASE}/d2").json()["name"] == "Second"


@pytest.mark.parametrize("body, field, says", [
    ({"device": "d 1"}, "device", "letters, digits"),
    ({"device": "x" * 65}, "device", ""),
    ({"name": "no id"}, "device", "required"),
    ({"device": "d9", "type": "MQTT"}, "type", "Only type 'HTTP'"),
    ({"device": "d9", "applications": ["not-a-uuid"]}, "applications", "No application"),
    ({"device": "d9", "applications": ["6f1c7a52-94f0-4a4c-8d1b-1f0e2a3b4c5d"]}, "applications", "No application"),
    # Each was stored as something else (false, "5", a device "7"); buckets and endpoints refused them.
    ({"device": "d9", "enabled": "no"}, "enabled", "valid boolean"),
    ({"device": "d9", "name": 5}, "name", "Not a valid string"),
    ({"device": 7}, "device", "letters, digits"),
    ({"device": "d9", "applications": [5]}, "applications.0", "Not a valid string"),
])
def test_create_refuses_bad_input_with_400(api, alice, body, field, says):
    response = api(alice).post(BASE, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and says in error["message"]
    assert not Device.objects.exists()


def test_create_refuses_another_users_application(api, alice, bob):
    theirs = Connection.objects.create(owner=bob, name="Bob's", destination_url="https://example.com/b")
    response = api(alice).post(BASE, {"device": "d9", "applications": [str(theirs.pk)]}, format="json")
    assert response.status_code == 400 and "No application" in response.json()["error"]["message"]


def test_duplicate_id_is_400_not_500(api, alice, device):
    response = api(alice).post(BASE, {"device": "d1"}, format="json")
    assert response.status_code == 400
    assert "already has a device 'd1'" in response.json()["error"]["message"]


def test_same_id_for_another_user_is_fine(api, bob, device):
    assert api(bob).post("/v1/users/bob/devices", {"device": "d1"}, format="json").status_code == 201


def test_put_and_patch_change_only_given_fields(api, alice, device, app1):
    client = api(alice)
    response = client.patch(f"{BASE}/d1", {"name": "Renamed", "applications": [str(app1.pk)]}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["applications"]) == ("Renamed", [str(app1.pk)])
    response = client.put(f"{BASE}/d1", {"enabled": False, "description": "off"}, format="json")
    body = response.json()
    assert (body["name"], body["enabled"], body["description"], body["applications"]) == \
        ("Renamed", False, "off", [str(app1.pk)])
    assert client.patch(f"{BASE}/d1", {"applications": []}, format="json").json()["applications"] == []


def test_update_refuses_id_change_and_other_types(api, alice, device):
    client = api(alice)
    response = client.patch(f"{BASE}/d1", {"device": "d2"}, format="json")
    assert response.status_code == 400 and "cannot be changed" in response.json()["error"]["message"]
    assert client.put(f"{BASE}/d1", {"type": "LoRa"}, format="json").status_code == 400
    assert client.patch(f"{BASE}/d1", {"device": "d1", "type": "HTTP"}, format="json").status_code == 200


def test_delete(api, alice, device, client):
    post(client, device, {"a": 1})
    assert StatusChange.objects.filter(device=device).exists()
    assert api(alice).delete(f"{BASE}/d1").status_code == 204
    # Status changes have no constraint in the database (devices/models.py): Django deletes them.
    assert not Device.objects.exists() and not Message.objects.exists() and not StatusChange.objects.exists()
    assert api(alice).get(f"{BASE}/d1").status_code == 404


def test_stats_and_connection(api, alice, device, client):
    assert api(alice).get(f"{BASE}/d1/stats").json() == {
        "connected": False, "connected_ts": None, "last_seen": None, "ip_address": None,
        "rx_bytes": 0, "tx_bytes": 0, "rx_messages": 0}
    post(client, device, {"a": 1}, REMOTE_ADDR="10.0.0.7")
    stats = api(alice).get(f"{BASE}/d1/stats").json()
    assert (stats["connected"], stats["ip_address"], stats["rx_messages"], stats["rx_bytes"], stats["tx_bytes"]) == \
        (True, "10.0.0.7", 1, 8, 2)
    assert stats["connected_ts"] == stats["last_seen"] and isinstance(stats["last_seen"], int)
    connection = api(alice).get(f"{BASE}/d1").json()["connection"]
    assert connection == {"active": True, "ts": stats["connected_ts"]}


def test_without_a_token_is_401(client, device):
    response = client.get(BASE)
    assert response.status_code == 401 and response.json()["error"]["code"] == 401


def test_wrong_access_token_is_401(client, device):
    response = client.get(BASE, HTTP_AUTHORIZATION="Bearer 0123456789ab.nope")
    assert response.status_code == 401


def test_browser_session_works(client, alice, device):
    client.force_login(alice)
    assert client.get(BASE).json()[0]["device"] == "d1"


DEVICE_ROUTES = [
    ("get", "/v1/users/alice/devices"), ("post", "/v1/users/alice/devices"),
    ("get", "/v1/users/alice/devices/d1"), ("put", "/v1/users/alice/devices/d1"),
    ("patch", "/v1/users/alice/devices/d1"), ("delete", "/v1/users/alice/devices/d1"),
    ("get", "/v1/users/alice/devices/d1/stats"),
    ("get", "/v3/users/alice/devices/d1/callback"), ("put", "/v3/users/alice/devices/d1/callback"),
    ("post", "/v3/users/alice/devices/d1/callback/token"),
    ("get", "/v3/users/alice/devices/d1/properties"), ("post", "/v3/users/alice/devices/d1/properties"),
    ("get", "/v3/users/alice/devices/d1/properties/p"), ("put", "/v3/users/alice/devices/d1/properties/p"),
    ("patch", "/v3/users/alice/devices/d1/properties/p"), ("delete", "/v3/users/alice/devices/d1/properties/p"),
    ("get", "/v3/users/alice/devices/d1/downlinks"), ("post", "/v3/users/alice/devices/d1/downlinks"),
]


@pytest.mark.parametrize("method, url", DEVICE_ROUTES)
def test_charlie_gets_404_on_every_route(api, charlie, device, method, url):
    from devices.services import property_set

    property_set(device_id=device.pk, name="p", value=1)
    body = {"device": "d1", "value": 2, "payload": {"x": 1}, "property": "q"}
    response = getattr(api(charlie), method)(url, body, format="json")
    assert response.status_code == 404, (url, response.content)
    assert response.json()["error"]["code"] == 404
    device.refresh_from_db()
    assert device.properties.get().value == 1 and not device.downlinks.exists()


@pytest.mark.parametrize("method, url", [r for r in DEVICE_ROUTES if "/d1" in r[1]])
def test_unknown_device_is_404_for_its_owner(api, alice, method, url):
    url = url.replace("/d1", "/nope")
    response = getattr(api(alice), method)(url, {"value": 1, "payload": 1, "property": "q"}, format="json")
    assert response.status_code == 404, (url, response.content)
    assert "nope" in response.json()["error"]["message"]
