"""The ingest worker: batches, set_property, idempotence, the redrive. A parity suite (`make test`
runs it on PostgreSQL and on SQLite)."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from buckets.models import Record
from devices import ingest
from devices.ingest import messages_apply, messages_process
from devices.models import Device, DeviceProperty, Message
from devices.tasks import redrive_messages_task
from tests.devices.conftest import post

pytestmark = pytest.mark.parity


def _inbox(device, *payloads):
    return [Message.objects.create(device=device, payload=p, ts=1700000000000 + n, size=1)
            for n, p in enumerate(payloads)]


def test_set_property_keeps_the_last_payload_with_one_write_per_batch(device):
    Device.objects.filter(pk=device.pk).update(set_property="last")
    _inbox(device, {"n": 1}, {"n": 2}, [{"n": 3}, {"n": 4}])
    with CaptureQueriesContext(connection) as queries:
        assert messages_process() == 3
    writes = [q["sql"] for q in queries if "devices_deviceproperty" in q["sql"]]
    assert len(writes) == 1 and writes[0].startswith("INSERT")
    assert DeviceProperty.objects.get(name="last").value == [{"n": 3}, {"n": 4}]


def test_an_older_message_never_overwrites_a_newer_property(device):
    Device.objects.filter(pk=device.pk).update(set_property="last")
    older, newer = _inbox(device, {"n": 1}, {"n": 2})
    # Two workers finishing out of order: the newer batch commits first.
    messages_apply(list(Message.objects.filter(pk=newer.pk).select_related("device")))
    messages_apply(list(Message.objects.filter(pk=older.pk).select_related("device")))
    assert DeviceProperty.objects.get(name="last").value == {"n": 2}


def test_a_property_written_through_the_api_is_replaced_by_the_next_message(api, alice, device):
    Device.objects.filter(pk=device.pk).update(set_property="last")
    api(alice).put("/v3/users/alice/devices/d1/properties/last", {"value": "manual"}, format="json")
    _inbox(device, {"n": 1})
    messages_process()
    assert DeviceProperty.objects.get(name="last").value == {"n": 1}


def test_processing_the_same_batch_twice_stores_nothing_twice(device, bucket):
    Device.objects.filter(pk=device.pk).update(set_property="last")
    _inbox(device, {"n": 1}, [{"n": 2}, {"n": 3}])
    batch = list(Message.objects.select_related("device").order_by("id"))
    messages_apply(batch)
    messages_apply(batch)
    # And a worker that died after storing but before marking the batch processed:
    assert messages_process() == 2
    Message.objects.update(processed_at=None)
    assert messages_process() == 2
    assert sorted(Record.objects.filter(bucket=bucket).values_list("val__n", flat=True)) == [1, 2, 3]
    assert DeviceProperty.objects.get().value == [{"n": 2}, {"n": 3}]


def test_batches_are_claimed_until_the_inbox_is_empty(device, bucket):
    _inbox(device, *({"n": n} for n in range(7)))
    assert messages_process(batch_size=3) == 7
    assert Record.objects.count() == 7
    assert not Message.objects.filter(processed_at__isnull=True).exists()
    assert messages_process() == 0


def test_messages_of_a_device_without_bucket_are_processed_without_records(alice, device):
    Device.objects.filter(pk=device.pk).update(write_bucket=None)
    _inbox(device, {"n": 1})
    assert messages_process() == 1
    assert not Record.objects.exists()


def test_redrive_stores_a_message_whose_wakeup_was_dropped(client, device, bucket, django_capture_on_commit_callbacks):
    # The callback commits the message; its on-commit wake-up is captured and never run, as if
    # the broker had lost it.
    with django_capture_on_commit_callbacks(execute=False) as wakeups:
        assert post(client, device, {"t": 1}).status_code == 200
    assert len(wakeups) == 1 and not Record.objects.exists()
    assert redrive_messages_task() == 1
    assert Record.objects.get().val == {"t": 1}


class _Clock:
    """devices.ingest's `time`: sleeping moves the clock on, and runs `during_sleep` once."""

    def __init__(self, during_sleep=None):
        self.now, self.slept, self.during_sleep = 1000.0, [], during_sleep

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 3))
        self.now += seconds
        if self.during_sleep:
            self.during_sleep()
            self.during_sleep = None


@pytest.fixture
def batches(monkeypatch):
    """The sizes of the batches messages_process stores, in order, from an idle worker."""
    sizes = []
    process = ingest._batch_process

    def counted(waiting, batch_size):
        sizes.append(process(waiting, batch_size))
        return sizes[-1]

    monkeypatch.setattr(ingest, "_batch_process", counted)
    monkeypatch.setattr(ingest, "_short_batch_at", 0.0)
    return sizes


def test_after_a_short_batch_what_arrives_within_the_linger_joins_the_next_one(device, bucket, batches,
                                                                              monkeypatch, settings):
    settings.INGEST_LINGER_MS = 100
    clock = _Clock(during_sleep=lambda: _inbox(device, {"n": 3}, {"n": 4}, {"n": 5}))
    monkeypatch.setattr(ingest, "time", clock)
    _inbox(device, {"n": 1}, {"n": 2})
    assert messages_process() == 5
    # An idle worker claims at once; after each short batch the next claim waits for the linger.
    assert batches == [2, 3]
    assert clock.slept == [0.1, 0.1]
    assert Record.objects.count() == 5


def test_full_batches_follow_each_other_without_waiting(device, bucket, batches, monkeypatch, settings):
    settings.INGEST_LINGER_MS = 100
    clock = _Clock()
    monkeypatch.setattr(ingest, "time", clock)
    _inbox(device, *({"n": n} for n in range(4)))
    assert messages_process(batch_size=2) == 4
    assert batches == [2, 2]
    assert clock.slept == []
