"""Properties CRUD and downlinks through the API (docs/devices.md). A parity suite: the callback
answers with them (`make test` runs it on PostgreSQL and on SQLite)."""
import pytest

from devices.models import DeviceProperty, Downlink
from tests.devices.conftest import post

pytestmark = pytest.mark.parity

PROPS = "/v3/users/alice/devices/d1/properties"
DOWNLINKS = "/v3/users/alice/devices/d1/downlinks"


def test_property_crud(api, alice, device):
    client = api(alice)
    response = client.post(PROPS, {"property": "config", "value": {"interval": 60}}, format="json")
    assert response.status_code == 201
    assert response.json() == {"property": "config", "value": {"interval": 60}}
    assert client.get(PROPS).json() == [{"property": "config", "value": {"interval": 60}}]
    assert client.get(f"{PROPS}/config").json()["value"] == {"interval": 60}
    assert client.put(f"{PROPS}/config", {"value": [1, 2]}, format="json").json() == \
        {"property": "config", "value": [1, 2]}
    assert client.patch(f"{PROPS}/config", {"value": None}, format="json").json()["value"] is None
    assert client.delete(f"{PROPS}/config").status_code == 204
    assert client.get(f"{PROPS}/config").status_code == 404
    assert not DeviceProperty.objects.exists()


def test_put_creates_a_missing_property_and_patch_does_not(api, alice, device):
    client = api(alice)
    assert client.patch(f"{PROPS}/new", {"value": 1}, format="json").status_code == 404
    response = client.put(f"{PROPS}/new", {"value": 1}, format="json")
    assert response.status_code == 201
    assert client.put(f"{PROPS}/new", {"value": 2}, format="json").status_code == 200


@pytest.mark.parametrize("method, url, body, says", [
    ("post", PROPS, {"property": "bad name", "value": 1}, "property"),
    ("post", PROPS, {"value": 1}, "property"),
    ("put", f"{PROPS}/p", {}, "value"),
    ("put", f"{PROPS}/p", {"value": "\u0000"}, "NUL"),
    ("put", f"{PROPS}/bad%20name", {"value": 1}, "Bad property name"),
])
def test_bad_property_input_is_400(api, alice, device, method, url, body, says):
    response = getattr(api(alice), method)(url, body, format="json")
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_body_may_repeat_the_property_id_but_not_change_it(api, alice, device, method):
    # docs/api.md's rule for every id in a URL, as devices, buckets and endpoints apply it.
    client = api(alice)
    client.post(PROPS, {"property": "p", "value": 1}, format="json")
    changed = getattr(client, method)(f"{PROPS}/p", {"property": "zz", "value": 3}, format="json")
    assert changed.status_code == 400, changed.content
    assert changed.json()["error"]["fields"] == {
        "property": ["The property id cannot be changed: create a new property instead."]}
    assert DeviceProperty.objects.get().value == 1 and not DeviceProperty.objects.filter(name="zz").exists()
    repeated = getattr(client, method)(f"{PROPS}/p", {"property": "p", "value": 3}, format="json")
    assert repeated.status_code == 200 and repeated.json() == {"property": "p", "value": 3}


def test_duplicate_property_is_400(api, alice, device):
    api(alice).post(PROPS, {"property": "p", "value": 1}, format="json")
    response = api(alice).post(PROPS, {"property": "p", "value": 2}, format="json")
    assert response.status_code == 400 and "already has a property 'p'" in response.json()["error"]["message"]


def test_downlink_is_queued_then_answered_then_listed_as_delivered(api, alice, device, client):
    response = api(alice).post(DOWNLINKS, {"payload": {"led": "on"}}, format="json")
    assert response.status_code == 201
    first = response.json()["id"]
    second = api(alice).post(DOWNLINKS, {"payload": "reboot"}, format="json").json()["id"]
    answer = post(client, device, {"a": 1})
    assert answer.json() == {"led": "on"} and answer["X-Downlink-Id"] == str(first)
    listed = api(alice).get(DOWNLINKS).json()
    assert [(d["id"], d["state"]) for d in listed] == [(second, "queued"), (first, "delivered")]
    assert listed[1]["payload"] == {"led": "on"} and isinstance(listed[1]["delivered"], int)
    assert listed[0]["delivered"] is None and listed[0]["source"] == "api"
    assert len(api(alice).get(DOWNLINKS, {"items": 1}).json()) == 1


@pytest.mark.parametrize("body", [{}, {"payload": None}, {"pay": 1}])
def test_downlink_needs_a_payload(api, alice, device, body):
    response = api(alice).post(DOWNLINKS, body, format="json")
    assert response.status_code == 400 and "payload" in response.json()["error"]["message"]
    assert not Downlink.objects.exists()


def test_downlink_list_items_must_be_a_number(api, alice, device):
    assert api(alice).get(DOWNLINKS, {"items": "many"}).status_code == 400


@pytest.mark.parametrize("items", ["0", "-1", "1001", "9" * 5000])
def test_downlink_list_items_outside_1_to_1000_is_400_as_for_bucket_data(api, alice, device, items):
    # Was clamped to 1 or 1000.
    response = api(alice).get(DOWNLINKS, {"items": items})
    assert response.status_code == 400 and response.json()["error"]["fields"] == {
        "items": ["Use an integer from 1 to 1000."]}


def test_payload_hex_queues_its_string_as_on_the_downlink_url(api, alice, device):
    response = api(alice).post(DOWNLINKS, {"payload_hex": "0a1B"}, format="json")
    assert response.status_code == 201, response.content
    assert Downlink.objects.get().payload == "0a1B"
    bad = api(alice).post(DOWNLINKS, {"payload_hex": "xyz"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {"payload_hex": ["Use an even number of hex digits."]}


def test_payload_and_payload_hex_together_is_400_as_on_the_downlink_url(api, alice, device):
    # Neither is silently dropped: the client meant one of them.
    response = api(alice).post(DOWNLINKS, {"payload": {"led": "on"}, "payload_hex": "0a"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Send payload or payload_hex, not both."
    assert not Downlink.objects.exists()
