import pytest

from endpoints.models import Connection, Endpoint
from tests.endpoints.receiver import receiver_start


@pytest.fixture(autouse=True)
def _private_ips_allowed(settings):
    # The receiver listens on 127.0.0.1; the guard itself is tested with this turned off.
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = True
    settings.SITE_URL = "https://iot.example.com"


@pytest.fixture
def receiver():
    running = receiver_start()
    yield running
    running.stop()


@pytest.fixture
def endpoint(alice, receiver):
    return Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{receiver.url}/in", timeout=2)


@pytest.fixture
def connection(alice, receiver):
    return Connection.objects.create(owner=alice, name="App", destination_url=f"{receiver.url}/uplink",
                                     headers={"X-Thing": "{DevEUI}"})
