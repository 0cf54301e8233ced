"""Test calls ("Send test" on the endpoint page, POST .../call) are logged, marked as tests, and
left out of the endpoint's health figures: a person trying a receiver that is down does not turn
the endpoint's delivery health red (the answer is shown to them at once)."""
import re

from endpoints.delivery import deliveries_statistics
from endpoints.models import Attempt, Delivery, Endpoint
from endpoints.targets import lane_of

BASE = "/v1/users/alice/endpoints"
NOTHING = {"delivered": 0, "failed": 0, "pending": 0, "oldestPendingSeconds": 0}


def _delivery(endpoint, state, **fields):
    """A delivery of a device's message (or, with message_id=None, of an alarm), settled."""
    row = Delivery.objects.create(owner=endpoint.owner, endpoint=endpoint, device_id="d1", ts=1, state=state,
                                  attempts=1, next_attempt_at=None, **{"message_id": 7, "payload": {"t": 1}, **fields})
    Attempt.objects.create(delivery=row, url=endpoint.url, status_code=500 if state == "failed" else 200)
    return row


def _health(page):
    """(delivered, pending, failed) as the health card shows them."""
    return tuple(int(re.search(rf'<td id="stat-{name}">(\d+)', page).group(1))
                 for name in ("delivered", "pending", "failed"))


def test_api_calls_to_a_receiver_that_is_down_are_logged_as_tests_not_counted(alice, api, receiver):
    client = api(alice)
    url = receiver.url
    receiver.stop()
    client.post(BASE, {"endpoint": "e1", "config": {"url": f"{url}/in"}}, format="json")
    for n in range(2):
        assert client.post(f"{BASE}/e1/call", {"n": n}, format="json").status_code == 502
    assert client.get(f"{BASE}/e1").json()["statistics"] == NOTHING
    calls = client.get(f"{BASE}/e1/calls").json()
    assert [(c["test"], c["state"], c["message_id"]) for c in calls] == [(True, "failed", None)] * 2
    failed = client.get(f"{BASE}/e1/deliveries?state=failed").json()
    assert [d["test"] for d in failed] == [True, True]


def test_test_calls_leave_the_figures_to_deliveries(alice, api, receiver):
    client = api(alice)
    client.post(BASE, {"endpoint": "e1", "config": {"url": f"{receiver.url}/in"}}, format="json")
    endpoint = Endpoint.objects.get()
    receiver.answers = [500, 200]
    assert client.post(f"{BASE}/e1/call", {"n": 1}, format="json").json()["status"] == 500
    assert client.post(f"{BASE}/e1/call", {"n": 2}, format="json").json()["status"] == 200
    assert deliveries_statistics(target=endpoint) == (NOTHING, None)
    # A device's message and an alarm notification (message_id None too) are deliveries: counted.
    _delivery(endpoint, Delivery.FAILED)
    _delivery(endpoint, Delivery.DELIVERED, message_id=None, payload={"alarm": {"rule": "hot", "event": "active"}})
    statistics, _ = deliveries_statistics(target=endpoint)
    assert statistics == {**NOTHING, "delivered": 1, "failed": 1}
    assert client.get(f"{BASE}/e1").json()["statistics"] == statistics
    tests = [c["test"] for c in client.get(f"{BASE}/e1/calls").json()]
    assert tests == [False, False, True, True]


def test_a_retried_test_call_stays_a_test(alice, api, receiver):
    client = api(alice)
    client.post(BASE, {"endpoint": "e1", "config": {"url": f"{receiver.url}/in"}}, format="json")
    receiver.answers = [503]
    client.post(f"{BASE}/e1/call", {"n": 1}, format="json")
    row = Delivery.objects.get()
    retried = client.post(f"{BASE}/e1/deliveries/{row.pk}/retry")
    assert retried.status_code == 202 and retried.json()["state"] == "pending" and retried.json()["test"] is True
    # It waits in line with its device's messages to this endpoint, not in one lane for everyone's tests.
    assert Delivery.objects.get().lane == lane_of(endpoint_pk=row.endpoint_id, device_id=row.device_id) != 0
    assert client.get(f"{BASE}/e1").json()["statistics"] == NOTHING


def test_send_test_on_the_page_does_not_turn_health_red(web, alice, receiver):
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{receiver.url}/in", timeout=2)
    _delivery(endpoint, Delivery.DELIVERED)
    receiver.stop()
    response = web.post("/endpoints/e1/test/", {"payload": '{"t": 1}'})
    assert response.status_code == 200
    assert 'id="test-answer"' in response.text and "no answer" in response.text  # the tester sees the failure
    assert _health(response.text) == (1, 0, 0)
    page = web.get("/endpoints/e1/").text
    assert _health(page) == (1, 0, 0) and "not counted here" in page
    assert page.count('''title="Sent with Send test or the API's call, not by a device's message: not counted in Health">test</span>''') == 1
    assert Delivery.objects.filter(test=True, state=Delivery.FAILED).count() == 1


def test_a_test_whose_payload_looks_like_an_alarm_is_shown_as_a_test(web, alice, receiver):
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{receiver.url}/in", timeout=2)
    web.post("/endpoints/e1/test/", {"payload": '{"alarm": {"rule": "hot", "event": "active"}}'})
    page = web.get("/endpoints/e1/").text
    assert ">test</span>" in page and ">alarm</span>" not in page
    assert _health(page) == (0, 0, 0)
    # A row logged before tests were marked (test false, no message, not an alarm) keeps its badge
    # and, as the migration's default says, counts as a delivery.
    _delivery(endpoint, Delivery.FAILED, message_id=None, payload={"n": 1})
    page = web.get("/endpoints/e1/").text
    assert page.count(">test</span>") == 2 and _health(page) == (0, 0, 1)
