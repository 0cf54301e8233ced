"""Settings an operator changes in the admin, held to the API's rules so that what is saved is
something the rest of the platform can run: a bucket's retention, a device's bucket, endpoint,
applications and timeout, fixed owners and ids; a device added there gets a token, shown once."""
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from buckets.models import Bucket, Record
from buckets.tasks import retention_task
from dashboards.services import dashboard_create
from devices.models import Device
from endpoints.models import Connection, Endpoint
from platform.models import AccessToken
from tests.admin_forms import shown
from tests.alarms.conftest import make_rule


def change(client, obj, **changes):
    url = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"
    return client.post(url, {**shown(client, url), **changes})


@pytest.mark.parametrize("period, unit, field, message", [
    ("0", "days", "retention_period", "from 1 to 1,000,000"),
    ("2147483647", "years", "retention_period", "from 1 to 1,000,000"),
    ("5", "", "retention_unit", "Choose the unit"),
    ("", "days", "retention_period", "leave the unit empty"),
])
def test_a_bucket_retention_the_api_refuses_is_a_form_error(root, bucket, period, unit, field, message):
    """0 days deleted every record at the next hourly run; 2147483647 years stopped that run for
    every bucket (a TypeError); 5 without a unit kept everything without a word."""
    Record.objects.create(bucket=bucket, ts=1, val={"t": 1})
    response = change(root, bucket, retention_period=period, retention_unit=unit)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    retention_task()
    assert Record.objects.filter(bucket=bucket).count() == 1


def test_a_good_retention_is_saved(root, bucket):
    assert change(root, bucket, retention_period="30", retention_unit="days").status_code == 302
    bucket.refresh_from_db()
    assert (bucket.retention_period, bucket.retention_unit) == (30, "days")
    assert change(root, bucket, retention_period="", retention_unit="").status_code == 302


def owned(model, device):
    """One object of `model` ("app/model") of the device's owner."""
    makers: dict[str, Callable[[], Any]] = {
        "buckets/bucket": Bucket.objects.get, "devices/device": lambda: device,
        "endpoints/endpoint": lambda: Endpoint.objects.create(owner=device.owner, endpoint_id="e1",
                                                              url="https://example.com/"),
        "endpoints/connection": lambda: Connection.objects.create(owner=device.owner, name="app",
                                                                  destination_url="https://example.com/up"),
        "alarms/rule": lambda: make_rule(device.owner),
        "dashboards/dashboard": lambda: dashboard_create(owner=device.owner, dashboard_id="home")}
    return makers[model]()


@pytest.mark.parametrize("model, fixed, current", [("buckets/bucket", ["owner", "bucket_id"], "b1"),
                                                   ("devices/device", ["owner", "device_id"], "d1"),
                                                   ("endpoints/endpoint", ["owner", "endpoint_id"], "e1"),
                                                   ("alarms/rule", ["owner", "rule_id"], "too-hot"),
                                                   ("dashboards/dashboard", ["owner", "dashboard_id"], "home")])
def test_owner_and_id_are_fixed_once_made(root, device, bob, model, fixed, current):
    """The API refuses to change them; the admin took them, and a device renamed or given to bob
    went on answering at its old callback URL (the callback's cache), its bucket still alice's."""
    obj = owned(model, device)
    url = f"/admin/{model}/{obj.pk}/change/"
    form = root.get(url).context["adminform"].form
    assert not set(fixed) & set(form.fields)
    assert root.post(url, {**shown(root, url), "owner": bob.pk, fixed[1]: "other"}).status_code == 302
    obj.refresh_from_db()
    assert (obj.owner.username, getattr(obj, fixed[1])) == ("alice", current)
    add = root.get(f"/admin/{model}/add/").context["adminform"].form
    assert set(fixed) <= set(add.fields)


def callback(device_id, token):
    return Client().post(f"/v3/users/alice/devices/{device_id}/callback/data", {"t": 1},
                         content_type="application/json", headers={"Authorization": f"Bearer {token}"})


def test_a_device_added_in_the_admin_gets_its_token_shown_once(root, alice):
    """It had none (an empty hash): no callback could ever be accepted, and nothing in the admin said so."""
    response = root.post("/admin/devices/device/add/", {**shown(root, "/admin/devices/device/add/"),
                                                         "owner": alice.pk, "device_id": "new-1"})
    page = response.content.decode()
    assert response.status_code == 200 and "copy its token now" in page
    found = re.search(r"<td><code>([^<]+)</code></td><td><code>[^<]*/v3/users/alice/devices/new-1/callback/data", page)
    assert found is not None
    token = found[1]
    device = Device.objects.get(device_id="new-1")
    assert device.token_hash and token not in device.token_hash and device.type == "HTTP"
    assert callback("new-1", token).status_code == 200
    assert token not in root.get(f"/admin/devices/device/{device.pk}/change/").content.decode()


def test_regenerating_tokens_shows_each_once_and_the_old_one_stops(root, device):
    assert callback("d1", device.token).status_code == 200
    response = root.post("/admin/devices/device/", {"action": "regenerate_tokens", "_selected_action": [device.pk]})
    found = re.search(r"<td><code>([^<]+)</code></td>", response.content.decode())
    assert found is not None
    token = found[1]
    assert response.status_code == 200 and token != device.token
    assert callback("d1", device.token).status_code == 401
    assert callback("d1", token).status_code == 200


def test_a_device_takes_only_its_owners_bucket_endpoint_and_applications(root, device, bob):
    """Another user's bucket got this device's data (its records in bob's bucket)."""
    theirs = {"write_bucket": Bucket.objects.create(owner=bob, bucket_id="b2").pk,
              "call_endpoint": Endpoint.objects.create(owner=bob, endpoint_id="e2", url="https://example.com/").pk,
              "applications": [Connection.objects.create(owner=bob, name="app-2",
                                                         destination_url="https://example.com/").pk]}
    for name, value in theirs.items():
        response = change(root, device, **{name: value})
        assert response.status_code == 200 and "alice's" in " ".join(response.context["adminform"].form.errors[name])
    device.refresh_from_db()
    assert device.write_bucket.bucket_id == "b1" and device.call_endpoint is None and not device.applications.exists()


@pytest.mark.parametrize("timeout", ["0", "43201", "2147483647"])
def test_a_device_timeout_out_of_bounds_is_a_form_error(root, device, timeout):
    response = change(root, device, timeout=timeout)
    assert response.status_code == 200 and "1 to 43200" in str(response.context["adminform"].form.errors["timeout"])
    assert change(root, device, timeout="60").status_code == 302
    device.refresh_from_db()
    assert device.timeout == 60


@pytest.fixture
def targets(alice):
    return (Endpoint.objects.create(owner=alice, endpoint_id="e1", url="https://example.com/hook",
                                    headers={"Authorization": "Bearer s3cret", "X-Plain": "1"}),
            Connection.objects.create(owner=alice, name="app", destination_url="https://example.com/uplink",
                                      headers={"X-Api-Key": "k3y-value", "X-Plain": "1"}))


def test_secret_header_values_are_masked_and_kept(root, targets):
    """They were shown in clear in the admin's headers field, where the pages mask them."""
    endpoint, connection = targets
    for target, secret in ((endpoint, "s3cret"), (connection, "k3y-value")):
        url = f"/admin/endpoints/{target._meta.model_name}/{target.pk}/change/"
        page = root.get(url).content.decode()
        assert secret not in page and "X-Plain" in page
        assert root.post(url, shown(root, url)).status_code == 302  # the mask posted back keeps the value
        target.refresh_from_db()
        assert secret in " ".join(target.headers.values()) and target.headers["X-Plain"] == "1"
    url = f"/admin/endpoints/endpoint/{endpoint.pk}/change/"
    assert root.post(url, {**shown(root, url), "headers": '{"Authorization": "Bearer new"}'}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.headers == {"Authorization": "Bearer new"}
    response = root.post(url, {**shown(root, url), "headers": '{"X-Token": "••••••••"}'})
    assert "Header X-Token: give its value" in str(response.context["adminform"].form.errors["headers"])


def test_over_50_headers_are_refused_when_set_and_a_row_saved_before_the_limit_still_saves(root, alice):
    sixty = {f"X-H{n}": "v" for n in range(60)}
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="e1", url="https://example.com/hook", headers=sixty)
    assert change(root, endpoint, name="renamed").status_code == 302  # headers as shown: not being set
    endpoint.refresh_from_db()
    assert endpoint.name == "renamed" and endpoint.headers == sixty
    response = change(root, endpoint, headers=json.dumps({f"X-H{n}": "v" for n in range(51)}))
    assert response.status_code == 200
    assert "Give at most 50 headers (51 given)." in str(response.context["adminform"].form.errors["headers"])


@pytest.mark.parametrize("which, field, value", [
    (0, "timeout", "0"), (0, "timeout", "61"), (0, "max_in_flight", "0"), (0, "max_in_flight", "257"),
    (1, "blame_period", "2147483647"), (1, "max_in_flight", "0")])
def test_target_numbers_out_of_the_apis_bounds_are_form_errors(root, targets, which, field, value):
    """A timeout of 0 is no timeout at all for the sender's HTTP client; 0 in flight, none."""
    response = change(root, targets[which], **{field: value})
    assert response.status_code == 200 and "Give a whole number of" in str(
        response.context["adminform"].form.errors[field])


def test_an_application_url_without_a_scheme_is_refused_as_in_the_api(root, targets):
    # The admin's URL field put "http://" before it, unasked.
    connection = targets[1]
    response = change(root, connection, destination_url="example.com/uplink")
    assert response.status_code == 200
    assert "must start with http:// or https://" in str(response.context["adminform"].form.errors)
    assert change(root, connection, destination_url="https://example.com/in?d={DevEUI}").status_code == 302
    connection.refresh_from_db()
    assert connection.destination_url == "https://example.com/in?d={DevEUI}"


def test_an_application_follows_its_active_switch_and_keeps_its_owner(root, targets, bob):
    connection = targets[1]
    form = root.get(f"/admin/endpoints/connection/{connection.pk}/change/").context["adminform"].form
    assert not {"owner", "state", "blamed_until"} & set(form.fields)
    url = f"/admin/endpoints/connection/{connection.pk}/change/"
    data = shown(root, url)
    data.pop("active")
    assert root.post(url, data).status_code == 302
    connection.refresh_from_db()
    assert connection.state == Connection.DEACTIVATED and connection.owner.username == "alice"
    assert change(root, connection, active="on").status_code == 302
    connection.refresh_from_db()
    assert connection.state == Connection.OPENED


def test_an_access_tokens_user_is_read_only(root, alice, bob):
    """Given to bob, alice's token signed its holder in as bob."""
    row, _ = AccessToken.issue(user=alice, name="script")
    url = f"/admin/platform/accesstoken/{row.pk}/change/"
    assert "user" not in root.get(url).context["adminform"].form.fields
    assert root.post(url, {"name": "renamed", "user": bob.pk}).status_code == 302
    row.refresh_from_db()
    assert (row.name, row.user.username) == ("renamed", "alice")


@pytest.mark.parametrize("model", ["buckets/bucket", "devices/device", "endpoints/endpoint", "endpoints/connection",
                                   "alarms/rule", "dashboards/dashboard"])
def test_a_description_is_capped_as_in_the_api(root, device, model):
    """The admin took any length, shown on every list that has the description."""
    obj = owned(model, device)
    response = change(root, obj, description="x" * 2001)
    assert response.status_code == 200
    assert "at most 2000 characters" in str(response.context["adminform"].form.errors["description"])
    assert change(root, obj, description="x" * 2000).status_code == 302
    obj.refresh_from_db()
    assert len(obj.description) == 2000
