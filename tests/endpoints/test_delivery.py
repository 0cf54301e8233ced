"""The delivery engine against a real local HTTP server. Time passing is simulated by moving
`next_attempt_at` / `blamed_until` into the past, never by sleeping. `_deliver` runs a sender
until nothing is sendable and returns the attempts it made."""
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from devices.ingest import messages_apply
from devices.models import Message
from endpoints.delivery import delivery_retry
from endpoints.models import Attempt, Connection, Delivery, DeliveryPartition, Endpoint
from endpoints.sender import Sender, claimable
from endpoints.targets.endpoint import retry_delay
from tests.endpoints.receiver import receiver_start


def _message(device, payload, ts=1700000000123):
    message = Message.objects.create(device=device, payload=payload, ts=ts)
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    return message


def _time_passes():
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(state="pending").update(next_attempt_at=past)
    Connection.objects.exclude(blamed_until=None).update(blamed_until=past)


def _deliver(target=None):
    return Sender(budget=30, idle_exit=0.2).run()


def _sendable():
    return claimable(timezone.now()).exists()


def test_ingest_creates_one_delivery_per_target_idempotently(alice, bob, device, endpoint, connection):
    inactive = Connection.objects.create(owner=alice, name="off", destination_url="http://x.example", active=False)
    bobs = Connection.objects.create(owner=bob, name="bob's", destination_url="http://x.example")
    device.call_endpoint = endpoint
    device.save()
    device.applications.add(connection, inactive, bobs)
    message = _message(device, {"t": 1})
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    rows = Delivery.objects.order_by("id")
    assert [(d.endpoint_id, d.connection_id) for d in rows] == [(endpoint.pk, None), (None, connection.pk)]
    assert all(d.message_id == message.pk and d.state == "pending" and d.device_id == "d1" for d in rows)


def test_disabled_endpoint_gets_no_delivery(device, endpoint):
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 1})
    assert not Delivery.objects.exists()


def test_connection_gets_devEUI_uplink_with_templated_headers(alice, device, connection, receiver):
    connection.headers = {"X-Thing": "{DevEUI}", "X-Who": "{CustomerID}", "X-T": "{payload.t}", "X-Time": "{Time}"}
    connection.save()
    device.applications.add(connection)
    message = _message(device, {"t": 21.5})
    assert _deliver(connection) == 1
    sent = receiver.requests[0]
    assert sent.path == "/uplink"
    assert (sent.headers["X-Thing"], sent.headers["X-Who"], sent.headers["X-T"]) == ("d1", "alice", "21.5")
    assert sent.headers["X-Time"] == "2023-11-14T22:13:20.123+00:00"
    assert sent.headers["X-Message-Id"] == str(message.pk)
    assert sent.json() == {"DevEUI_uplink": {
        "Time": "2023-11-14T22:13:20.123+00:00", "DevEUI": "d1", "CustomerID": "alice", "payload": {"t": 21.5},
        "downlinkUrl": f"https://iot.example.com/iot-flow/downlinkMessages/{connection.downlink_secret}"}}
    delivery = Delivery.objects.get()
    assert delivery.state == "delivered" and delivery.attempts == 1 and delivery.last_status == 200
    attempt = Attempt.objects.get()
    assert attempt.status_code == 200 and attempt.url.endswith("/uplink") and '"ok": true' in attempt.response_body
    connection.refresh_from_db()
    assert connection.state == "OPENED" and delivery.leased_until is None


def test_raw_format_sends_the_device_json(device, connection, receiver):
    Connection.objects.filter(pk=connection.pk).update(send_raw_decoded_format=True)
    device.applications.add(connection)
    _message(device, [{"t": 1}, {"t": 2}])
    _deliver(connection)
    assert receiver.requests[0].json() == [{"t": 1}, {"t": 2}]


def test_endpoint_url_headers_and_body_are_templated(device, endpoint, receiver):
    Endpoint.objects.filter(pk=endpoint.pk).update(
        url=f"{receiver.url}/{{{{device}}}}/{{{{payload.room}}}}?ts={{{{ts}}}}", method="PUT",
        headers={"X-Name": "{{device_name}}", "X-User": "{{user}}"},
        body='{"temperature": {{t}}, "room": "{{room}}", "all": {{payload}}}')
    device.call_endpoint = endpoint
    device.save()
    message = _message(device, {"t": 20, "room": "living room"})
    _deliver(endpoint)
    sent = receiver.requests[0]
    assert sent.method == "PUT" and sent.path == "/d1/living%20room?ts=1700000000123"
    assert (sent.headers["X-Name"], sent.headers["X-User"]) == ("d1", "alice")
    assert sent.headers["X-Message-Id"] == str(message.pk)
    assert sent.json() == {"temperature": 20, "room": "living room", "all": {"t": 20, "room": "living room"}}


def test_no_body_template_sends_the_message_json(device, endpoint, receiver):
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 20})
    _deliver(endpoint)
    assert receiver.requests[0].json() == {"t": 20}
    assert receiver.requests[0].headers["Content-Type"] == "application/json"


def test_retries_after_500_and_timeout_then_delivered(device, endpoint, receiver):
    Endpoint.objects.filter(pk=endpoint.pk).update(timeout=1)
    receiver.answers = [500, ("sleep", 3, 200), 200]
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 1})
    assert _deliver(endpoint) == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    _time_passes()
    assert _deliver(endpoint) == 1
    delivery.refresh_from_db()
    assert delivery.state == "pending" and "No answer" in delivery.last_error
    _time_passes()
    assert _deliver(endpoint) == 1
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempts == 3
    assert [a.status_code for a in Attempt.objects.order_by("id")] == [500, None, 200]
    assert len({r.headers["X-Message-Id"] for r in receiver.requests}) == 1


def test_backoff_waits_before_the_next_attempt(device, endpoint, receiver):
    receiver.answers = [500]
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 1})
    _deliver(endpoint)
    assert _deliver(endpoint) == 0
    assert not _sendable()
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at > timezone.now()
    _time_passes()
    assert _sendable()
    assert _deliver(endpoint) == 1 and Delivery.objects.get().state == "delivered"


def test_retry_schedule_is_exponential_with_jitter(settings):
    settings.ENDPOINTS_RETRY_SCHEDULE = [10, 100]
    assert 8 <= retry_delay(1) <= 12 and 80 <= retry_delay(2) <= 120 and retry_delay(3) is None


def test_gives_up_after_the_schedule_then_can_be_retried(device, endpoint, receiver, settings):
    settings.ENDPOINTS_RETRY_SCHEDULE = [0]
    receiver.answers = [500, 503]
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 1})
    assert _deliver(endpoint) == 2  # a schedule of [0]: the retry is due at once
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 2, 503)
    assert _deliver(endpoint) == 0
    assert delivery_retry(delivery=delivery)
    assert _deliver(endpoint) == 1
    assert Delivery.objects.get().state == "delivered"


def test_a_failed_delivery_does_not_block_the_next(device, endpoint, receiver, settings):
    settings.ENDPOINTS_RETRY_SCHEDULE = [0]
    receiver.answers = [500, 500]
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"n": 1})
    _message(device, {"n": 2})
    _deliver(endpoint)
    _deliver(endpoint)
    _deliver(endpoint)
    assert [d.state for d in Delivery.objects.order_by("id")] == ["failed", "delivered"]


def test_blame_period_pauses_and_resumes_in_order(device, connection, receiver):
    receiver.answers = [500]
    device.applications.add(connection)
    for n in range(3):
        _message(device, {"n": n})
    assert _deliver(connection) == 1
    connection.refresh_from_db()
    assert connection.state == "UNREACHABLE"
    assert connection.blamed_until > timezone.now() + timedelta(seconds=25)
    assert _deliver(connection) == 0
    assert not _sendable()
    assert len(receiver.requests) == 1
    _time_passes()
    assert _deliver(connection) == 3
    assert [r.json()["DevEUI_uplink"]["payload"]["n"] for r in receiver.requests] == [0, 0, 1, 2]
    connection.refresh_from_db()
    assert connection.state == "OPENED" and connection.blamed_until is None
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_deactivated_connection_gets_nothing_queued(device, connection):
    connection.active = False
    connection.state = Connection.DEACTIVATED
    connection.save()
    device.applications.add(connection)
    _message(device, {"t": 1})
    assert not Delivery.objects.exists()


def test_private_address_guard_fails_the_delivery_for_good(device, endpoint, receiver, settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 1})
    _deliver(endpoint)
    delivery = Delivery.objects.get()
    assert delivery.state == "failed" and "private" in delivery.last_error
    assert receiver.requests == []


def test_a_partition_held_by_another_sender_is_not_sent_twice(device, connection, receiver):
    device.applications.add(connection)
    _message(device, {"t": 1})
    _deliver()  # creates the partition rows
    _message(device, {"t": 2})
    DeliveryPartition.objects.update(holder="another-sender", lease_until=timezone.now() + timedelta(minutes=1))
    assert _deliver(connection) == 0 and len(receiver.requests) == 1
    DeliveryPartition.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert _deliver(connection) == 1
    assert DeliveryPartition.objects.exclude(holder="").count() == 0  # a sender gives them back when it stops


@pytest.mark.django_db(transaction=True)
def test_a_dead_target_does_not_slow_another(alice, device):
    """The dead target's request is held open until the end; the other target is delivered
    meanwhile by the same sender, which keeps both requests in flight."""
    dead, alive = receiver_start(), receiver_start()
    release = threading.Event()
    dead.answers = [("block", release)]
    sent = []
    try:
        slow = Connection.objects.create(owner=alice, name="dead", destination_url=dead.url)
        fast = Connection.objects.create(owner=alice, name="alive", destination_url=alive.url)
        device.applications.add(slow, fast)
        _message(device, {"t": 1})
        worker = threading.Thread(target=lambda: sent.append(_deliver()))
        worker.start()
        dead.wait_for(1)
        alive.wait_for(1)
        for _ in range(100):
            if Delivery.objects.get(connection=fast).state == "delivered":
                break
            release.wait(0.05)
        assert not release.is_set() and worker.is_alive()
        assert Delivery.objects.get(connection=fast).state == "delivered"
        assert Delivery.objects.get(connection=slow).state == "pending"
    finally:
        release.set()
        worker.join(30)
        dead.stop()
        alive.stop()
    assert Delivery.objects.get(connection=slow).state == "delivered" and sent == [2]


def test_delivery_committed_while_the_sender_runs_is_sent_in_the_same_run(device, connection, receiver,
                                                                         monkeypatch):
    """A sender looks for new deliveries while it runs (and once more as it stops), so one
    committed after its first look does not wait for the beat redrive."""
    device.applications.add(connection)
    _message(device, {"seq": 1})
    real_claim = Sender._claim
    late = []

    def claim_then_a_message_arrives(self, limit):
        claimed = real_claim(self, limit)
        if claimed == 0 and not late:
            late.append(_message(device, {"seq": 2}))
        return claimed

    monkeypatch.setattr(Sender, "_claim", claim_then_a_message_arrives)
    assert _deliver(connection) == 2
    assert [r.json()["DevEUI_uplink"]["payload"]["seq"] for r in receiver.requests] == [1, 2]
