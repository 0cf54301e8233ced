"""Races on a real database: threads with their own database connections, committed data
(transactional_db), released together by a barrier. A parity suite: on PostgreSQL the racers
meet row locks; on SQLite (`make test`'s second pass, a database file in WAL mode) they take
turns on its one write lock. Exactly once either way."""
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from devices.models import Device, StatusChange
from devices.services import device_create, devices_sweep_timeouts, downlink_queue
from tests.devices.conftest import post

pytestmark = pytest.mark.parity


def run_together(count, work):
    """Runs work(i) in `count` threads started at the same moment; returns their results."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001  reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_racing_callbacks_each_take_a_different_downlink_exactly_once(device):
    queued = [downlink_queue(device=device, payload={"n": n}).pk for n in range(4)]

    def callback(_):
        response = post(Client(), device, {"a": 1})
        assert response.status_code == 200, response.content
        return response.get("X-Downlink-Id")

    for _ in range(2):  # a few rounds to give the race chances
        answers = run_together(8, callback)
        delivered = [int(a) for a in answers if a]
        assert len(delivered) == len(set(delivered))
        if delivered:
            break
    assert sorted(delivered) == queued
    assert device.downlinks.filter(delivered_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_racing_callbacks_and_one_downlink(device):
    for _ in range(3):
        downlink_queue(device=device, payload={"go": True})
        answers = run_together(2, lambda _: post(Client(), device, {"a": 1}).get("X-Downlink-Id"))
        assert len([a for a in answers if a]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_flips_timed_out_devices_and_records_the_change(alice, device):
    fresh, _ = device_create(owner=alice, device_id="fresh")
    past, future = timezone.now() - timedelta(seconds=1), timezone.now() + timedelta(minutes=10)
    Device.objects.filter(pk=device.pk).update(connected=True, disconnect_at=past)
    Device.objects.filter(pk=fresh.pk).update(connected=True, disconnect_at=future)
    assert devices_sweep_timeouts() == 1
    device.refresh_from_db()
    assert not device.connected and device.connected_ts is not None
    assert list(StatusChange.objects.values_list("device_id", "connected")) == [(device.pk, False)]
    assert Device.objects.get(pk=fresh.pk).connected
    assert devices_sweep_timeouts() == 0


@pytest.mark.django_db(transaction=True)
def test_sweepers_running_at_once_record_each_flip_once(alice):
    past = timezone.now() - timedelta(seconds=1)
    devices = [device_create(owner=alice, device_id=f"d{n}")[0] for n in range(60)]
    Device.objects.update(connected=True, disconnect_at=past)
    flipped = run_together(3, lambda _: devices_sweep_timeouts(batch_size=7))
    assert sum(flipped) == 60
    assert StatusChange.objects.count() == 60
    assert sorted(StatusChange.objects.values_list("device_id", flat=True)) == sorted(d.pk for d in devices)
    assert not Device.objects.filter(connected=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_callback_after_the_sweep_reconnects_once(device):
    Device.objects.filter(pk=device.pk).update(connected=True, disconnect_at=timezone.now() - timedelta(seconds=1))
    devices_sweep_timeouts()
    run_together(4, lambda _: post(Client(), device, {"a": 1}).status_code)
    assert list(StatusChange.objects.order_by("id").values_list("connected", flat=True)) == [False, True]
