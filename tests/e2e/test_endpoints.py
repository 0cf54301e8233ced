"""A ThingPark-style receiver pointed at the platform, over real processes: the web server (Granian), a Celery
worker on the ingest and deliveries queues, PostgreSQL and Redis."""
import pytest
import requests

from platform.models import AccessToken
from tests.endpoints.receiver import receiver_start
from tests.stack import Stack, live_database_url, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(transactional_db, tmp_path):
    running = Stack(env={"DATABASE_URL": live_database_url(), "ENDPOINTS_ALLOW_PRIVATE_IPS": "true"},
                    tmp_path=tmp_path)
    yield running
    running.stop()


@pytest.fixture
def receiver():
    running = receiver_start()
    yield running
    running.stop()


def test_uplink_to_application_and_downlink_back(stack, alice, device, receiver):
    stack.start_web().start_worker()
    _, access = AccessToken.issue(user=alice, name="e2e")
    created = requests.post(f"{stack.url}/iot-flow/v1/connections", headers={"Authorization": f"Bearer {access}"},
                            json={"connectorId": "actility-http-iot", "name": "Receiver", "active": True,
                                  "configuration": {"destinationURL": f"{receiver.url}/uplink",
                                                    "headers": {"X-Thing": "{DevEUI}", "X-Customer": "{CustomerID}"}}},
                            timeout=10)
    assert created.status_code == 201, created.text
    connection = created.json()
    assert connection["downlinkUrl"].startswith(f"{stack.url}/iot-flow/downlinkMessages/")
    device.applications.add(connection["id"])

    # The receiver answers each uplink by sending a downlink back to the URL it was given.
    replies = []

    def reply(received):
        uplink = received.json()["DevEUI_uplink"]
        replies.append(requests.post(uplink["downlinkUrl"], timeout=10, json={
            "DevEUI_downlink": {"DevEUI": uplink["DevEUI"], "payload": {"led": "on"}}}).status_code)

    receiver.on_request = reply
    callback = f"{stack.url}/v3/users/alice/devices/d1/callback/data"
    auth = {"Authorization": f"Bearer {device.token}"}
    first = requests.post(callback, json={"temperature": 22}, headers=auth, timeout=10)
    assert first.status_code == 200 and first.json() == {}

    sent = receiver.wait_for(1, timeout=60)[0]
    assert sent.headers["X-Thing"] == "d1" and sent.headers["X-Customer"] == "alice"
    assert sent.headers["X-Message-Id"]
    uplink = sent.json()["DevEUI_uplink"]
    assert uplink["DevEUI"] == "d1" and uplink["CustomerID"] == "alice" and uplink["payload"] == {"temperature": 22}
    wait_until(lambda: replies == [202], timeout=30, what="the downlink to be accepted")

    second = requests.post(callback, json={"temperature": 23}, headers=auth, timeout=10)
    assert second.status_code == 200 and second.json() == {"led": "on"}
    status = requests.get(f"{stack.url}/iot-flow/v1/connections/{connection['id']}",
                          headers={"Authorization": f"Bearer {access}"}, timeout=10).json()
    assert status["state"] == "OPENED"


def test_failed_uplink_is_retried_by_the_redrive_in_order(stack, alice, device, receiver):
    """The receiver answers 500 once: the connection is blamed, then the beat redrive sends the
    first message again and the second after it, with the same X-Message-Id on the retry."""
    from endpoints.models import Connection

    stack.start_web().start_worker().start_beat()
    connection = Connection.objects.create(owner=alice, name="flaky", destination_url=f"{receiver.url}/uplink",
                                           blame_period=1)
    device.applications.add(connection)
    receiver.answers = [500]
    auth = {"Authorization": f"Bearer {device.token}"}
    for n in (1, 2):
        assert requests.post(f"{stack.url}/v3/users/alice/devices/d1/callback/data", json={"n": n}, headers=auth,
                             timeout=10).status_code == 200
    got = receiver.wait_for(3, timeout=90)
    assert [r.json()["DevEUI_uplink"]["payload"]["n"] for r in got] == [1, 1, 2]
    assert got[0].headers["X-Message-Id"] == got[1].headers["X-Message-Id"] != got[2].headers["X-Message-Id"]
    wait_until(lambda: Connection.objects.get(pk=connection.pk).state == "OPENED", timeout=30, what="OPENED again")
