"""Devices over real processes: web server (Granian) + Celery worker on PostgreSQL and Redis."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings

from buckets.models import Bucket, Record
from devices.models import Message
from devices.tasks import redrive_messages_task
from platform.models import AccessToken
from tests.stack import Stack, free_port, live_database_url, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(transactional_db, tmp_path):
    running = Stack(env={"DATABASE_URL": live_database_url()}, tmp_path=tmp_path)
    yield running
    running.stop()


@pytest.fixture
def user_headers(alice):
    _, token = AccessToken.issue(user=alice, name="e2e")
    return {"Authorization": f"Bearer {token}"}


def test_main_flow_create_post_store_property_downlink(stack, alice, user_headers):
    stack.start_web().start_worker()
    Bucket.objects.create(owner=alice, bucket_id="b1")
    api = requests.Session()
    api.headers.update(user_headers)
    created = api.post(f"{stack.url}/v1/users/alice/devices", json={"device": "sensor-1", "name": "Sensor"}, timeout=10)
    assert created.status_code == 201, created.text
    device_token = created.json()["token"]
    base = f"{stack.url}/v3/users/alice/devices/sensor-1"
    settings = api.put(f"{base}/callback", json={"actions": {"write_bucket": "b1", "set_property": "last"}},
                       timeout=10)
    assert settings.status_code == 200, settings.text

    device = requests.Session()
    device.headers["Authorization"] = f"Bearer {device_token}"
    answer = device.post(f"{base}/callback/data", json={"temperature": 21.5}, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {})

    record = wait_until(lambda: Record.objects.filter(bucket__bucket_id="b1").first(), timeout=30,
                        what="the record in b1")
    assert record.val == {"temperature": 21.5}
    prop = wait_until(lambda: api.get(f"{base}/properties/last", timeout=10).json().get("value"), timeout=30,
                      what="the property 'last'")
    assert prop == {"temperature": 21.5}

    queued = api.post(f"{base}/downlinks", json={"payload": {"led": "on"}}, timeout=10)
    assert queued.status_code == 201
    answer = device.post(f"{base}/callback", json={"temperature": 22}, timeout=10)  # the alias URL
    assert answer.json() == {"led": "on"}
    assert (answer.headers["X-Downlink-Id"], answer.headers["X-Downlinks-Pending"]) == (str(queued.json()["id"]), "0")
    assert device.post(f"{base}/callback/data", json={"temperature": 23}, timeout=10).json() == {}
    assert api.get(f"{base}/downlinks", timeout=10).json()[0]["state"] == "delivered"

    stats = api.get(f"{stack.url}/v1/users/alice/devices/sensor-1/stats", timeout=10).json()
    assert (stats["connected"], stats["rx_messages"], stats["ip_address"]) == (True, 3, "127.0.0.1")
    wait_until(lambda: Record.objects.filter(bucket__bucket_id="b1").count() == 3, timeout=30, what="3 records")


def test_concurrent_http_callbacks_deliver_each_downlink_once(stack, alice, user_headers):
    stack.start_web(workers=2)
    api = requests.Session()
    api.headers.update(user_headers)
    token = api.post(f"{stack.url}/v1/users/alice/devices", json={"device": "d1"}, timeout=10).json()["token"]
    base = f"{stack.url}/v3/users/alice/devices/d1"
    queued = [api.post(f"{base}/downlinks", json={"payload": n}, timeout=10).json()["id"] for n in range(3)]

    def callback(n):
        response = requests.post(f"{base}/callback/data", json={"n": n}, timeout=20,
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.headers.get("X-Downlink-Id")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(callback, range(8)))
    delivered = sorted(int(a) for a in answers if a)
    assert delivered == queued


def test_a_message_accepted_while_the_broker_is_down_is_stored_by_the_redrive(stack, device):
    # The web process cannot reach any broker: its wake-up is lost, the 200 still means committed.
    stack.env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    stack.start_web()
    response = requests.post(f"{stack.url}/v3/users/alice/devices/d1/callback/data", json={"t": 1}, timeout=20,
                             headers={"Authorization": f"Bearer {device.token}"})
    assert response.status_code == 200, response.text
    assert Message.objects.filter(processed_at__isnull=True).count() == 1
    stack.env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL  # the worker (and this test) reach the broker
    stack.start_worker()
    redrive_messages_task.delay()  # what beat sends every 30 s
    record = wait_until(lambda: Record.objects.filter(bucket=device.write_bucket).first(), timeout=30,
                        what="the redriven record")
    assert record.val == {"t": 1}


def test_callback_is_503_with_retry_after_when_the_database_is_down(tmp_path):
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    stack = Stack(env={"DATABASE_URL": closed}, tmp_path=tmp_path)
    try:
        stack.start_web(workers=1)
        # A device no earlier test has posted as: the token -> device lookup of one that did may
        # still be in the shared cache, and a cached lookup rightly answers without the database.
        for url, headers in [
            ("/v3/users/dana-dbdown/devices/d9/callback/data", {"Authorization": "Bearer some-device-token"}),
            ("/v3/users/dana-dbdown/devices/d9/callback", {"Authorization": "Bearer 0123456789ab.user-token"}),
            ("/v3/users/dana-dbdown/devices/d9/callback?authorization=some-device-token", {}),
        ]:
            response = requests.post(f"{stack.url}{url}", json={"a": 1}, headers=headers, timeout=20)
            assert response.status_code == 503, (url, response.text)
            assert response.headers["Retry-After"] == "5"
            assert "database is unavailable" in response.json()["error"]["message"]
    finally:
        stack.stop()
