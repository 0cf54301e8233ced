"""The ingest wake-up is debounced: at most one in flight, and no committed message is left for
the 30 s redrive (devices/accept.py ingest_wake, devices/ingest.py messages_process)."""
from unittest import mock

import pytest
from django.core.cache import cache

from devices import accept
from devices.ingest import messages_process
from devices.models import Message
from tests.devices.conftest import post

pytestmark = pytest.mark.skipif(not accept._wake_flag_shared(),
                                reason="the wake-up flag needs the shared (Redis) cache")


@pytest.fixture
def delay():
    with mock.patch("devices.tasks.process_messages_task.delay") as delay:
        yield delay


def test_one_wake_up_in_flight_until_the_worker_claims(db, delay):
    accept.ingest_wake()
    accept.ingest_wake()
    accept.ingest_wake()
    assert delay.call_count == 1
    messages_process()  # the worker clears the flag before it claims
    accept.ingest_wake()
    assert delay.call_count == 2


def test_a_message_committed_while_a_wake_up_is_in_flight_is_processed_by_it(client, device, delay,
                                                                             django_capture_on_commit_callbacks):
    accept.ingest_wake()  # a wake-up is in flight (queued, its worker not started yet)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, device, {"n": 1}).status_code == 200
    assert delay.call_count == 1  # debounced: no second publish
    # The in-flight wake-up's worker runs now: it clears the flag, then claims and sees the message.
    assert messages_process() == 1
    assert not Message.objects.filter(processed_at__isnull=True).exists()


def test_a_message_committed_during_a_batch_publishes_a_new_wake_up(client, device, delay,
                                                                    django_capture_on_commit_callbacks):
    """The worker clears the flag before each claim: a callback committed after the clear (while
    the worker is busy with the batch) sets it again and publishes, so it never waits."""
    accept.ingest_wake()
    accept.ingest_wake_clear()  # the worker is about to claim a batch
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, device, {"n": 1}).status_code == 200
    assert delay.call_count == 2


def test_a_failed_publish_clears_the_flag(delay, monkeypatch):
    monkeypatch.setattr(accept, "_wake_paused_until", 0.0)
    delay.side_effect = OSError("broker down")
    accept.ingest_wake()
    assert cache.get(accept.WAKE_FLAG) is None  # the next callback after the pause tries again
    monkeypatch.setattr(accept, "_wake_paused_until", 0.0)
    delay.side_effect = None
    accept.ingest_wake()
    assert delay.call_count == 2
