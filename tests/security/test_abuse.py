"""Abuse beyond the callback body: the downlink URL and the JSON API take what jsonb cannot store
(NUL characters, NaN) without a 500 or a misleading 503; templating cannot inject headers or
reach private addresses; secrets never reach the logs."""
import json
import logging

import pytest
from rest_framework.test import APIClient

from devices.models import Downlink
from endpoints.models import Endpoint
from platform.models import AccessToken
from tests.security.conftest import error_message

NUL = '{"v": "a\\u0000b"}'


@pytest.fixture
def attached(device, connection):
    device.applications.add(connection)
    return connection


def _downlink(client, secret, body):
    return client.generic("POST", f"/iot-flow/downlinkMessages/{secret}", body, content_type="application/json")


@pytest.mark.parametrize("payload", ['{"v": NaN}', '{"v": Infinity}', NUL, '"\\ud800"', '{"v": 1e999}'])
def test_downlink_url_refuses_what_jsonb_cannot_store_with_400(client, attached, payload):
    body = '{"DevEUI_downlink": {"DevEUI": "d1", "payload": ' + payload + '}}'
    response = _downlink(client, attached.downlink_secret, body)
    assert response.status_code == 400, (response.status_code, response.content)
    assert error_message(response)
    assert not Downlink.objects.exists()


@pytest.mark.parametrize("body", [b"\xff\xfe", b"[" * 60000, b"{}", b"null", b'{"DevEUI_downlink": []}'])
def test_downlink_url_bad_bodies_are_400(client, attached, body):
    response = _downlink(client, attached.downlink_secret, body)
    assert response.status_code == 400, (response.status_code, response.content)
    assert error_message(response)


def test_downlink_url_with_a_wrong_secret_is_404(client, attached):
    body = json.dumps({"DevEUI_downlink": {"DevEUI": "d1", "payload": {}}})
    assert _downlink(client, attached.downlink_secret + "x", body).status_code == 404
    assert _downlink(client, "", body).status_code == 404
    assert not Downlink.objects.exists()


@pytest.fixture
def alice_api(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.issue(user=alice)[1]}")
    return client


@pytest.mark.parametrize("method, path, body", [
    ("post", "/v3/users/alice/devices/d1/downlinks", '{"payload": %s}'),
    ("post", "/v3/users/alice/devices/d1/properties", '{"property": "p", "value": %s}'),
    ("post", "/v1/users/alice/buckets/b1/data", '%s'),
    ("post", "/v1/users/alice/endpoints/e1/call", '%s'),
])
@pytest.mark.parametrize("value", [NUL, '{"v": NaN}', '{"v": 1e999}'])
def test_api_json_values_jsonb_cannot_store_are_400(alice_api, endpoint, device, method, path, body, value):
    response = getattr(alice_api, method)(path, body % value, content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert error_message(response)


def test_templated_header_cannot_inject_crlf(alice_api, receiver, alice):
    Endpoint.objects.create(owner=alice, endpoint_id="t1", url=f"{receiver.url}/in", timeout=2,
                            headers={"X-Value": "{{payload.v}}"})
    response = alice_api.post("/v1/users/alice/endpoints/t1/call", {"v": "a\r\nX-Injected: 1"}, format="json")
    assert response.status_code == 400, response.content
    assert "CR" in error_message(response) or "line" in error_message(response).lower()
    assert not any("X-Injected" in r.headers for r in receiver.requests)


def test_templated_url_cannot_reach_private_addresses_when_guarded(alice_api, receiver, alice, settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False
    port = receiver.url.rsplit(":", 1)[1]
    Endpoint.objects.create(owner=alice, endpoint_id="t2", url="http://{{host}}:" + port + "/in", timeout=2)
    for host in ("127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254", "[::1]", "0.0.0.0"):
        response = alice_api.post("/v1/users/alice/endpoints/t2/call", {"host": host}, format="json")
        # "[::1]" is percent-encoded into the host by the URL template, so it does not even resolve (502).
        assert response.status_code in ((400, 502) if host == "[::1]" else (400,)), (host, response.content)
    assert receiver.requests == []


def test_secrets_never_reach_the_logs(client, alice_api, device, endpoint, attached, receiver, caplog):
    """A callback with its token in the header and in the query string, an endpoint call and an
    application delivery carrying secret header values: none of them appears in any log line."""
    from devices.ingest import messages_process
    from endpoints.sender import Sender

    device.call_endpoint = endpoint
    device.save()
    caplog.set_level(logging.DEBUG)
    url = "/v3/users/alice/devices/d1/callback/data"
    client.post(url, {"a": 1}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {device.token}")
    client.post(f"{url}?authorization={device.token}", {"a": 2}, content_type="application/json")
    client.post(url, b"{bad", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {device.token}")
    client.post(url, {"a": 3}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {device.token}x")
    alice_api.post("/v1/users/alice/endpoints/e1/call", {"a": 4}, format="json")
    messages_process()
    Sender(budget=30, idle_exit=0.2).run()
    receiver.wait_for(3) if hasattr(receiver, "wait_for") else None
    assert len(receiver.requests) >= 3, "the endpoint and the application must have been called"
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    leaked = [s for s in (device.token, "endpoint-secret-value-7f3a", "connection-secret-value-91bc",
                          attached.downlink_secret) if s in logged]
    print(f"\nlog records captured: {len(caplog.records)}, secrets leaked: {len(leaked)}")
    assert leaked == []
