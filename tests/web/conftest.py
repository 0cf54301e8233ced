import pytest

from endpoints.models import Connection, Endpoint


@pytest.fixture
def outsider(client, charlie):
    client.force_login(charlie)
    return client


@pytest.fixture
def endpoint(alice):
    return Endpoint.objects.create(owner=alice, endpoint_id="e1", url="http://127.0.0.1:9/hook", headers={"X-A": "1"})


@pytest.fixture
def application(alice):
    return Connection.objects.create(owner=alice, name="My app", destination_url="https://example.com/uplink",
                                     headers={"X-Thing": "{DevEUI}"})


HX = {"HTTP_HX_REQUEST": "true"}


def hx(target):
    return {**HX, "HTTP_HX_TARGET": target}
