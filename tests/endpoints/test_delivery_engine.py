"""The delivery engine's rules beyond one request: nothing wedges a target, connections retry by
their blamePeriod, lanes keep each device's order while devices go in parallel, health figures.
Time passing is simulated by moving times into the past, never by sleeping, except where the
timing itself is under test (the wake-up for a retry due after the sender stopped)."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from devices.ingest import messages_apply
from devices.models import Device, Message
from endpoints.delivery import deliveries_retry_now, deliveries_statistics
from endpoints.models import Attempt, Connection, Delivery
from endpoints.sender import Sender, engine
from endpoints.sender.io import Claimed, Outcome
from endpoints.targets import connection as connection_kind
from endpoints.tasks import redrive_deliveries_task, send_deliveries_task


def _message(device, payload):
    message = Message.objects.create(device=device, payload=payload, ts=1700000000123)
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    return message


def _deliver():
    return Sender(budget=30, idle_exit=0.2).run()


def _time_passes():
    past = timezone.now() - timedelta(milliseconds=1)
    Delivery.objects.filter(state="pending").update(next_attempt_at=past)
    Connection.objects.exclude(blamed_until=None).update(blamed_until=past)


def test_a_device_name_no_header_can_carry_fails_its_deliveries_and_the_application_goes_on(
        alice, device, connection, receiver):
    """`X-Name: {DeviceName}` with a name holding a control character: that device's message is
    failed with the reason logged; the next device's message behind it is delivered; nothing is
    left pending. (A name outside Latin-1 is sent, as UTF-8: test_header_bytes.py.)"""
    Connection.objects.filter(pk=connection.pk).update(headers={"X-Name": "{DeviceName}"})
    Device.objects.filter(pk=device.pk).update(name="Küche\x07€")
    other = Device.objects.create(owner=alice, device_id="d2", name="Hall", token_hash="x")
    device.refresh_from_db()
    device.applications.add(connection)
    other.applications.add(connection)
    bad = _message(device, {"t": 1})
    good = _message(other, {"t": 2})
    _deliver()
    failed = Delivery.objects.get(message_id=bad.pk)
    assert failed.state == "failed" and "X-Name" in failed.last_error and "control character" in failed.last_error
    assert Attempt.objects.get(delivery=failed).error == failed.last_error
    assert Delivery.objects.get(message_id=good.pk).state == "delivered"
    assert [r.headers["X-Name"] for r in receiver.requests] == ["Hall"]
    connection.refresh_from_db()
    assert connection.state == "OPENED"


def test_a_payload_that_breaks_a_header_fails_that_message_only(device, connection, receiver):
    Connection.objects.filter(pk=connection.pk).update(headers={"X-City": "{payload.city}"})
    device.applications.add(connection)
    first = _message(device, {"city": "Paris\r\nX-Evil: 1"})
    _message(device, {"city": "Paris"})
    assert _deliver() == 2
    assert Delivery.objects.get(message_id=first.pk).state == "failed"
    assert [r.headers["X-City"] for r in receiver.requests] == ["Paris"]


def test_a_connection_retries_after_its_blame_period_doubling_up_to_the_cap(device, connection, receiver):
    """blamePeriod 1 s, the receiver failing: the next try is 1 s after the failure, then 2 s,
    4 s ... never the endpoints' minutes-long schedule, never more than 10 minutes."""
    Connection.objects.filter(pk=connection.pk).update(blame_period=1)
    receiver.answers = [500, 503]
    device.applications.add(connection)
    _message(device, {"t": 1})
    assert _deliver() == 1
    connection.refresh_from_db()
    attempt = Attempt.objects.latest("id")
    assert connection.state == "UNREACHABLE" and connection.blame_count == 1
    assert connection.blamed_until - attempt.at == timedelta(seconds=1)
    assert Delivery.objects.get().next_attempt_at == connection.blamed_until
    _time_passes()
    assert _deliver() == 1
    connection.refresh_from_db()
    attempt = Attempt.objects.latest("id")
    assert connection.blamed_until - attempt.at == timedelta(seconds=2) and connection.blame_count == 2
    _time_passes()
    assert _deliver() == 1
    connection.refresh_from_db()
    assert connection.state == "OPENED" and connection.blame_count == 0 and connection.blamed_until is None
    assert Delivery.objects.get().state == "delivered"
    long = Connection(blame_period=300)
    assert [connection_kind.pause(long, n) for n in (1, 2, 3, 9)] == [300, 600, 600, 600]
    assert connection_kind.pause(Connection(blame_period=1), 50) == 16


def _two_devices_on(alice, device, connection):
    other = Device.objects.create(owner=alice, device_id="d2", name="Hall", token_hash="x")
    for d in (device, other):
        d.applications.add(connection)
    return other


def test_a_failure_wins_over_a_success_in_the_same_batch(alice, device, connection):
    """A busy application: one device's request fails while another's succeeds, and both answers
    are settled together. The failure's blame is written whatever order they came in."""
    other = _two_devices_on(alice, device, connection)
    _message(device, {"t": 1})
    _message(other, {"t": 2})
    rows = [Claimed(*v) for v in Delivery.objects.order_by("id").values_list(*Claimed.__slots__)]
    sender = Sender()
    sender._targets_load(rows)
    sent_at = timezone.now()
    sender._settle([Outcome(rows[0], status=500, error="HTTP 500", sent_at=sent_at),
                    Outcome(rows[1], status=200, sent_at=sent_at)])
    connection.refresh_from_db()
    assert connection.state == "UNREACHABLE" and connection.blame_count == 1
    assert connection.blamed_until > timezone.now() and connection.blamed_at is not None
    assert Delivery.objects.get(pk=rows[1].pk).state == "delivered"


def test_a_request_in_flight_when_the_blame_began_does_not_clear_it(alice, device, connection, receiver):
    """d1's request is on its way (answered 1 s later) when d2's fails: d1's 200 says nothing
    about the receiver since, so the application stays blamed, and its next failure doubles the
    pause. A request sent after the blame began clears it."""
    other = _two_devices_on(alice, device, connection)
    Connection.objects.filter(pk=connection.pk).update(blame_period=5)
    receiver.answer_for = lambda body: ("sleep", 1.0, 200) if b'"d1"' in body else 500
    _message(device, {"t": 1})
    failing = _message(other, {"t": 2})
    assert _deliver() == 2
    connection.refresh_from_db()
    assert connection.state == "UNREACHABLE" and connection.blame_count == 1
    assert Delivery.objects.get(message_id=failing.pk).state == "pending"
    _time_passes()
    assert _deliver() == 1
    connection.refresh_from_db()
    assert connection.blame_count == 2 and connection.blamed_until - connection.blamed_at == timedelta(seconds=10)
    receiver.answer_for = None
    _time_passes()
    assert _deliver() == 1
    connection.refresh_from_db()
    assert connection.state == "OPENED" and connection.blame_count == 0 and connection.blamed_at is None


def _retry_arrives_on_time(receiver, monkeypatch, due_at):
    """After one failed attempt the sender stops (idle); the wake-up it queued runs at its eta as a
    worker would, and the retry reaches the receiver within a second of `due_at()`."""
    wakeups, started, arrivals = [], [], []
    monkeypatch.setattr(redrive_deliveries_task, "apply_async", lambda **options: wakeups.append(options["eta"]))
    monkeypatch.setattr(send_deliveries_task, "delay", lambda: started.append(True))
    receiver.on_request = lambda request: arrivals.append(timezone.now())
    assert _deliver() == 1
    due = due_at()
    assert len(wakeups) == 1 and timedelta(0) <= wakeups[0] - due <= timedelta(seconds=0.5)
    time.sleep(max(0.0, (wakeups[0] - timezone.now()).total_seconds()))
    assert redrive_deliveries_task() and started
    assert _deliver() == 1
    assert len(arrivals) == 2 and timedelta(0) <= arrivals[1] - due <= timedelta(seconds=1)
    assert Delivery.objects.get().state == "delivered"


@pytest.mark.parametrize("blame_period", [1, 2])
def test_a_blame_ending_after_the_sender_stopped_is_retried_on_time(device, connection, receiver, monkeypatch,
                                                                   blame_period):
    Connection.objects.filter(pk=connection.pk).update(blame_period=blame_period)
    receiver.answers = [500]
    device.applications.add(connection)
    _message(device, {"t": 1})
    _retry_arrives_on_time(receiver, monkeypatch, lambda: Connection.objects.get(pk=connection.pk).blamed_until)


def test_an_endpoint_retry_after_the_sender_stopped_is_on_time(device, endpoint, receiver, monkeypatch, settings):
    settings.ENDPOINTS_RETRY_SCHEDULE = [1.5]
    receiver.answers = [500]
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"t": 1})
    _retry_arrives_on_time(receiver, monkeypatch, lambda: Delivery.objects.get().next_attempt_at)


def test_each_device_in_order_devices_in_parallel(alice, connection, receiver):
    """Three devices, three messages each, the first message of d0 answered 500 once: d0's later
    messages wait for it (order per device); d1 and d2 are not held up by the blame of d0's
    failure beyond the pause; every device's messages arrive in the order it sent them."""
    devices = [Device.objects.create(owner=alice, device_id=f"d{i}", name=f"D{i}", token_hash=f"t{i}")
               for i in range(3)]
    failed = []

    def d0_fails_once(body):  # d0's first request, whichever device's request arrives first
        if b'"d0"' in body and not failed:
            failed.append(body)
            return 500
        return None

    receiver.answer_for = d0_fails_once
    for d in devices:
        d.applications.add(connection)
    for n in range(3):
        for d in devices:
            _message(d, {"n": n, "device": d.device_id})
    _deliver()
    _time_passes()
    _deliver()
    arrived = {}
    for r in receiver.requests:
        body = r.json()["DevEUI_uplink"]["payload"]
        arrived.setdefault(body["device"], []).append(body["n"])
    assert arrived == {"d0": [0, 0, 1, 2], "d1": [0, 1, 2], "d2": [0, 1, 2]}


def test_statistics_and_retry_now(device, connection, receiver):
    receiver.answers = [500]
    device.applications.add(connection)
    _message(device, {"t": 1})
    _message(device, {"t": 2})
    _deliver()
    connection.refresh_from_db()
    statistics, next_attempt = deliveries_statistics(target=connection)
    assert statistics["pending"] == 2 and statistics["delivered"] == 0 and statistics["failed"] == 0
    assert statistics["oldestPendingSeconds"] >= 0 and next_attempt == connection.blamed_until
    assert deliveries_retry_now(target=connection) == 1
    assert _deliver() == 2
    statistics, next_attempt = deliveries_statistics(target=connection)
    assert statistics == {"delivered": 2, "failed": 0, "pending": 0, "oldestPendingSeconds": 0}
    assert next_attempt is None


def test_a_targets_limit_is_shared_out_among_senders_without_exceeding_it(connection):
    """Two live senders: their parts of maxInFlight add up to it (the remainder to the first by
    name), where before each took the rounded-up half (3 -> 2 + 2). A limit below the number of
    senders leaves each one request, as documented: its lanes can go nowhere else."""
    senders = [Sender(name=name) for name in ("sender-a", "sender-b")]
    for sender in senders * 2:  # the second round sees both alive
        sender.partitions.balance()
    key = ("connection", connection.pk)
    for limit, parts in ((3, [2, 1]), (4, [2, 2]), (5, [3, 2]), (1, [1, 1])):
        connection.max_in_flight = limit
        assert [s._limit(key, connection) for s in senders] == parts
    for sender in senders:
        sender.partitions.leave()


def test_a_delivery_committed_while_a_claim_finds_nothing_is_claimed_by_the_next_one(device, connection, receiver,
                                                                                    monkeypatch):
    """An ingest batch commits its deliveries while a sender's claim is running and finds nothing:
    the next claim (by the cursor, not a full look) takes them."""
    device.applications.add(connection)
    monkeypatch.setattr(engine, "RESCAN", 60.0)  # no full look but the first within the test
    real_claim, calls = engine.claim, []

    def claim(now, after, *args):
        calls.append(after)
        rows = real_claim(now, after, *args)
        if len(calls) == 2 and not rows:  # the first claim by the cursor
            calls.append("committed")
            _message(device, {"late": True})
        return rows

    monkeypatch.setattr(engine, "claim", claim)
    Sender(budget=30, idle_exit=0.5).run()
    assert "committed" in calls
    assert [r.json()["DevEUI_uplink"]["payload"] for r in receiver.requests] == [{"late": True}]
