import pytest
from django.core.cache import cache

from endpoints.models import Connection, Endpoint
from tests.endpoints.receiver import receiver_start


@pytest.fixture(autouse=True)
def _fast_hashing_and_fresh_counters(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = True
    cache.clear()  # rate-limit counters are keyed by device pk


@pytest.fixture
def receiver():
    running = receiver_start()
    yield running
    running.stop()


@pytest.fixture
def endpoint(alice, receiver):
    return Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{receiver.url}/in", timeout=2,
                                   headers={"Authorization": "Bearer endpoint-secret-value-7f3a"})


@pytest.fixture
def connection(alice, receiver):
    return Connection.objects.create(owner=alice, name="App", destination_url=f"{receiver.url}/uplink",
                                     headers={"X-Api-Key": "connection-secret-value-91bc"})


def error_message(response):
    """The message of an error body, whichever of the two shapes (Thinger's or ThingPark's)."""
    body = response.json()
    return body["error"]["message"] if "error" in body else body["message"]
