"""Nobody gets in: every API route refuses a missing, wrong, revoked or regenerated token (401)
and answers another user's token with 404; session-authenticated unsafe requests and every form
need the CSRF token; the downlink URL is its own credential."""
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from devices.models import Downlink
from devices.services import device_token_regenerate
from platform.models import AccessToken
from tests.security.conftest import error_message

D1, D3 = "/v1/users/alice/devices/d1", "/v3/users/alice/devices/d1"
B, E = "/v1/users/alice/buckets/b1", "/v1/users/alice/endpoints/e1"
C = "/iot-flow/v1/connections/{connection}"


def routes(connection):
    """Every user-API route of docs/api.md, with a body for the unsafe ones."""
    c = C.format(connection=connection.pk)
    return [
        ("get", "/v1/users/alice/devices", None), ("post", "/v1/users/alice/devices", {"device": "d9", "type": "HTTP"}),
        ("get", D1, None), ("put", D1, {"name": "x"}), ("patch", D1, {"name": "x"}), ("delete", D1, None),
        ("get", f"{D1}/stats", None),
        ("get", f"{D3}/callback", None), ("put", f"{D3}/callback", {"actions": {}}),
        ("post", f"{D3}/callback/token", None),
        ("get", f"{D3}/properties", None), ("post", f"{D3}/properties", {"property": "p", "value": 1}),
        ("get", f"{D3}/properties/p", None), ("put", f"{D3}/properties/p", {"value": 2}),
        ("patch", f"{D3}/properties/p", {"value": 2}), ("delete", f"{D3}/properties/p", None),
        ("get", f"{D3}/downlinks", None), ("post", f"{D3}/downlinks", {"payload": {"led": 1}}),
        ("get", "/v1/users/alice/buckets", None), ("post", "/v1/users/alice/buckets", {"bucket": "b9"}),
        ("get", B, None), ("put", B, {"name": "x"}), ("patch", B, {"name": "x"}), ("delete", B, None),
        ("get", f"{B}/data", None), ("post", f"{B}/data", {"a": 1}), ("delete", f"{B}/data", None),
        ("get", f"{B}/export?format=csv", None),
        ("get", "/v1/users/alice/endpoints", None),
        ("post", "/v1/users/alice/endpoints", {"endpoint": "e9", "config": {"url": "http://127.0.0.1:9/"}}),
        ("get", E, None), ("put", E, {"name": "x"}), ("patch", E, {"name": "x"}), ("delete", E, None),
        ("post", f"{E}/call", {"a": 1}), ("get", f"{E}/calls", None), ("get", f"{E}/deliveries", None),
        ("post", f"{E}/deliveries/1/retry", None),
        ("get", "/iot-flow/v1/connections", None),
        ("get", c, None), ("put", c, {"name": "x"}), ("delete", c, None),
        ("get", f"{c}/deliveries", None), ("post", f"{c}/deliveries/1/retry", None),
    ]


def call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def everything(alice, device, endpoint, connection):
    device.properties.create(name="p", value=1)
    return routes(connection)


def _as(token):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _assert_all(everything, client, expected, what):
    wrong = []
    for method, path, body in everything:
        response = call(client, method, path, body)
        allowed = expected
        if expected == {401} and method == "put" and path.endswith("/callback"):
            # Without a user's credential `.../callback` is the device data URL (devices/callback.py),
            # where PUT is 405 whatever the token: refused either way, and it reveals nothing.
            allowed = {401, 405}
        if response.status_code not in allowed:
            wrong.append((method.upper(), path, response.status_code, response.content[:120]))
    print(f"\n{what}: {len(everything)} routes tried, {len(wrong)} wrong")
    assert wrong == [], wrong


def test_no_token_is_401_everywhere(everything):
    # The connections API lists only the caller's: with no token at all it must still be 401.
    _assert_all(everything, _as(None), {401}, "no token")


def test_wrong_token_is_401_everywhere(everything):
    _assert_all(everything, _as("abcdef012345.not-the-secret"), {401}, "wrong token")
    _assert_all(everything, _as("garbage"), {401}, "garbage token")


def test_revoked_token_is_401_everywhere(everything, alice):
    row, token = AccessToken.issue(user=alice, name="soon revoked")
    assert _as(token).get("/v1/users/alice/devices").status_code == 200
    row.delete()
    _assert_all(everything, _as(token), {401}, "revoked token")


def test_inactive_users_token_is_401(everything, alice):
    _, token = AccessToken.issue(user=alice)
    alice.is_active = False
    alice.save()
    _assert_all(everything, _as(token), {401}, "inactive user's token")


def test_other_users_token_is_404_everywhere(everything, bob):
    """bob's own valid token on alice's paths: 404 (never 403), nothing changed."""
    _, token = AccessToken.issue(user=bob)
    everything = [r for r in everything if r[1] not in ("/iot-flow/v1/connections",)]  # bob's own (empty) list
    _assert_all(everything, _as(token), {404}, "another user's token")
    assert Downlink.objects.count() == 0


def test_connections_list_shows_only_ones_own(everything, bob):
    _, token = AccessToken.issue(user=bob)
    assert _as(token).get("/iot-flow/v1/connections").json() == []


def test_device_callback_token_is_not_an_api_token(everything, device):
    _assert_all([r for r in everything if "/callback" not in r[1]], _as(device.token), {401}, "device token on the API")


def test_regenerated_device_token_stops_the_old_one(client, device):
    url = "/v3/users/alice/devices/d1/callback/data"
    old = device.token
    assert client.post(url, {"a": 1}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 200
    new = device_token_regenerate(device=device)
    refused = client.post(url, {"a": 1}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {old}")
    assert refused.status_code == 401 and "token" in error_message(refused)
    assert client.post(f"{url}?authorization={old}", {"a": 1}, content_type="application/json").status_code == 401
    assert client.post(url, {"a": 1}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200


def test_another_devices_token_is_401(client, alice, device):
    from devices.services import device_create

    _, other = device_create(owner=alice, device_id="d2")
    response = client.post("/v3/users/alice/devices/d1/callback/data", {"a": 1}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {other}")
    assert response.status_code == 401


def test_session_unsafe_api_requests_need_csrf(everything, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    unsafe = [r for r in everything if r[0] != "get"]
    wrong = []
    for method, path, body in unsafe:
        response = call(client, method, path, body)
        if response.status_code != 403 or "csrf" not in response.content.decode().lower():
            wrong.append((method.upper(), path, response.status_code, response.content[:120]))
    print(f"\nsession without CSRF token: {len(unsafe)} unsafe routes tried, {len(wrong)} let through")
    assert wrong == [], wrong
    assert client.get("/v1/users/alice/devices").status_code == 200  # reading needs no CSRF token


def _web_posts(device, connection):
    c = connection.pk
    return ["/signup/", "/tokens/", "/tokens/1/revoke/", "/logout/",
            "/devices/+new/", "/devices/d1/settings/", "/devices/d1/token/", "/devices/d1/properties/",
            "/devices/d1/properties/p/delete/", "/devices/d1/downlinks/", "/devices/d1/applications/",
            f"/devices/d1/applications/{c}/remove/", "/devices/d1/delete/",
            "/buckets/+new/", "/buckets/b1/edit/", "/buckets/b1/clear/", "/buckets/b1/delete/",
            "/endpoints/+new/", "/endpoints/e1/edit/", "/endpoints/e1/test/", "/endpoints/e1/delete/",
            "/applications/new/http/", f"/applications/{c}/settings/name/", f"/applications/{c}/active/",
            f"/applications/{c}/delete/"]


def test_every_form_needs_csrf(everything, alice, device, connection):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    posts = _web_posts(device, connection)
    wrong = [(p, r.status_code) for p in posts if (r := client.post(p, {"name": "x"})).status_code != 403]
    print(f"\nforms posted without CSRF token: {len(posts)}, accepted: {len(wrong)}")
    assert wrong == [], wrong
    assert device.__class__.objects.filter(pk=device.pk).exists()
