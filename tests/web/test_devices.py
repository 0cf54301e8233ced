import json

import pytest
from django.utils import timezone

from devices.models import Device, DeviceProperty, Downlink, Message
from devices.services import device_create
from endpoints.models import Connection
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


def test_device_list_empty_state_says_what_to_do(web):
    response = web.get("/devices/")
    assert response.status_code == 200
    assert "No devices yet" in response.text and "New device" in response.text


def test_device_list_shows_status_and_polls_its_rows(web, device):
    response = web.get("/devices/")
    assert "d1" in response.text and "disconnected" in response.text
    assert 'hx-trigger="every 5s"' in response.text
    partial = web.get("/devices/", **hx("device-rows"))
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="device-rows"' in partial.text


def test_create_device_shows_the_token_once_with_snippets(web, alice, settings):
    settings.SITE_URL = "https://iot.example.com"
    response = web.post("/devices/+new/", {"device_id": "esp32", "name": "Kitchen", "type": "HTTP"}, follow=True)
    assert response.status_code == 200
    device = Device.objects.get(owner=alice, device_id="esp32")
    token = response.context["token"]
    assert token and token in response.text
    url = "https://iot.example.com/v3/users/alice/devices/esp32/callback/data"
    assert f"curl -X POST '{url}'" in response.text
    assert "import requests" in response.text and "HTTPClient http;" in response.text
    assert "WiFiClientSecure" in response.text  # https URL: the sketch uses TLS
    assert "created" in response.text  # the toast
    again = web.get(f"/devices/{device.device_id}/")
    assert token not in again.text and "YOUR_DEVICE_TOKEN" in again.text


def test_create_device_errors_show_next_to_the_field(web, device):
    response = web.post("/devices/+new/", {"device_id": "d1", "type": "HTTP"})
    assert response.status_code == 400
    assert "already have a device" in response.text
    response = web.post("/devices/+new/", {"device_id": "bad id!", "type": "HTTP"})
    assert "has-error" in response.text


def test_messages_partial_for_live_updates(web, device):
    Message.objects.create(device=device, payload={"temperature": 23}, ts=1_700_000_000_000)
    page = web.get("/devices/d1/")
    assert 'id="messages"' in page.text and 'hx-trigger="every 3s"' in page.text
    partial = web.get("/devices/d1/", **hx("messages"))
    assert partial.status_code == 200
    assert "<html" not in partial.text and "temperature" in partial.text


def test_regenerate_token_shows_the_new_one(web, device):
    response = web.post("/devices/d1/token/", follow=True)
    assert response.context["token"] and response.context["token"] != device.token
    assert 'data-confirm="Create a new token' in web.get("/devices/d1/").text


def test_settings_save_and_validate(web, device, bucket):
    data = {"name": "One", "description": "", "enabled": "on", "write_bucket": bucket.pk, "call_endpoint": "",
            "set_property": "last", "send_property": "", "timeout": 5}
    assert web.post("/devices/d1/settings/", data).status_code == 302
    device.refresh_from_db()
    assert (device.name, device.set_property, device.timeout) == ("One", "last", 5)
    bad = web.post("/devices/d1/settings/", {**data, "set_property": "bad name"})
    assert bad.status_code == 400 and "has-error" in bad.text


@pytest.mark.parametrize("timeout", ["0", "-1", "43201", "99999", "1.5"])
def test_a_timeout_outside_the_apis_bounds_is_refused_on_the_page_too(web, device, bucket, timeout):
    """0 and 99999 were saved from the page, where the API refuses them."""
    data = {"name": "One", "description": "", "enabled": "on", "write_bucket": bucket.pk, "call_endpoint": "",
            "set_property": "", "send_property": "", "timeout": timeout}
    page = web.post("/devices/d1/settings/", data)
    assert page.status_code == 400 and "Give the connection timeout in whole minutes, 1 to 43200." in page.text
    device.refresh_from_db()
    assert device.timeout == 10


def test_a_description_over_2000_characters_is_refused_on_the_page_as_by_the_api(web, device, bucket):
    data = {"name": "One", "description": "x" * 2001, "enabled": "on", "write_bucket": bucket.pk, "call_endpoint": "",
            "set_property": "", "send_property": "", "timeout": 5}
    page = web.post("/devices/d1/settings/", data)
    assert page.status_code == 400 and "at most 2000 characters" in page.text
    assert 'maxlength="2000"' in web.get("/devices/d1/").text


def test_settings_offer_only_the_owners_buckets(web, device, charlie):
    from buckets.models import Bucket

    theirs = Bucket.objects.create(owner=charlie, bucket_id="cb")
    response = web.post("/devices/d1/settings/", {"name": "x", "write_bucket": theirs.pk, "timeout": 10})
    assert response.status_code == 400


def test_property_json_errors_inline_and_htmx_partial(web, device):
    bad = web.post("/devices/d1/properties/", {"name": "cfg", "value": "{oops"}, **hx("properties"))
    assert bad.status_code == 200 and "Not valid JSON" in bad.text and "<html" not in bad.text
    ok = web.post("/devices/d1/properties/", {"name": "cfg", "value": '{"rate": 5}'}, **hx("properties"))
    assert DeviceProperty.objects.get(device=device, name="cfg").value == {"rate": 5}
    assert 'hx-swap-oob="true"' in ok.text and "Property cfg saved" in ok.text
    web.post("/devices/d1/properties/cfg/delete/", **hx("properties"))
    assert not DeviceProperty.objects.filter(device=device).exists()


def test_downlink_queued(web, device):
    web.post("/devices/d1/downlinks/", {"payload": json.dumps({"led": "on"})}, **hx("downlinks"))
    assert Downlink.objects.get(device=device).payload == {"led": "on"}
    assert "1 pending" in web.get("/devices/d1/").text


def test_add_and_remove_an_application(web, device, application):
    page = web.get("/devices/d1/")
    assert "Add an application" in page.text
    response = web.post("/devices/d1/applications/", {"connection": application.pk}, **hx("applications"))
    assert response.status_code == 200 and "added to d1" in response.text
    assert list(device.applications.all()) == [application]
    web.post(f"/devices/d1/applications/{application.pk}/remove/", **hx("applications"))
    assert not device.applications.exists()


def test_cannot_attach_someone_elses_application(web, device, charlie):
    theirs = Connection.objects.create(owner=charlie, name="x", destination_url="https://example.com")
    assert web.post("/devices/d1/applications/", {"connection": theirs.pk}).status_code == 400
    assert not device.applications.exists()


def test_delete_device(web, device):
    assert 'data-confirm="Delete device d1' in web.get("/devices/d1/").text
    web.post("/devices/d1/delete/")
    assert not Device.objects.filter(pk=device.pk).exists()


@pytest.mark.parametrize("method,path", [
    ("get", "/devices/d1/"), ("post", "/devices/d1/settings/"), ("post", "/devices/d1/token/"),
    ("post", "/devices/d1/properties/"), ("post", "/devices/d1/downlinks/"), ("post", "/devices/d1/applications/"),
    ("post", "/devices/d1/delete/"), ("post", "/devices/d1/properties/p/delete/"),
])
def test_charlie_gets_404(outsider, device, method, path):
    assert getattr(outsider, method)(path).status_code == 404


def test_pages_need_sign_in(client, device):
    response = client.get("/devices/d1/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_device_with_id_new_has_a_working_page(web, alice, client):
    # "new" is a valid id (docs/api.md); the create page lives at /devices/+new/, a path no id can take.
    assert "Create device" in web.get("/devices/+new/").text
    response = web.post("/devices/+new/", {"device_id": "new", "name": "Named new", "type": "HTTP"})
    assert response.status_code == 302 and response["Location"] == "/devices/new/"
    page = web.get("/devices/new/")
    assert page.status_code == 200 and "Named new" in page.text
    assert "/v3/users/alice/devices/new/callback/data" in page.text
    assert 'href="/devices/new/"' in web.get("/devices/").text
    web.post("/devices/new/delete/")
    assert not Device.objects.filter(owner=alice, device_id="new").exists()


def test_downlinks_say_where_they_came_from_by_name(web, device, application, charlie):
    """An application's downlink is stored with the connection's id as its source: the page names
    the application (a link to it), not the raw id; another user's connection is never looked up."""
    theirs = Connection.objects.create(owner=charlie, name="Their app", destination_url="https://example.com")
    for source in ("api", "web", "dashboard", str(application.pk), str(theirs.pk)):
        device.downlinks.create(payload={"led": "on"}, source=source)
    page = web.get(f"/devices/{device.device_id}/").content.decode()
    assert f'from <a href="/applications/{application.pk}/">My app</a>' in page
    assert "from the API" in page and "from this page" in page and "from a dashboard" in page
    assert "Their app" not in page


def test_a_device_seen_seconds_ago_was_seen_just_now(web, device):
    """Django's timesince said "0 minutes ago" for the first minute."""
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now())
    assert "just now" in web.get("/devices/").text and "0 minutes" not in web.get("/devices/d1/").text
    assert "just now" in web.get("/").text


def test_a_new_users_device_page_says_to_create_a_bucket_and_an_endpoint_first(web, alice):
    """Its pickers held only "(none)", and nothing said why the messages reached no bucket."""
    device_create(owner=alice, device_id="first")
    page = web.get("/devices/first/").text
    assert 'You have no bucket yet: <a href="/buckets/+new/">create one</a>' in page
    assert 'You have no endpoint yet: <a href="/endpoints/+new/">create one</a>' in page


def test_the_hint_goes_once_there_is_something_to_choose(web, device):
    page = web.get("/devices/d1/").text
    assert "You have no bucket yet" not in page and "You have no endpoint yet" in page
