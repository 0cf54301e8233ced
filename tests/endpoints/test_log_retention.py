"""Retention of the delivery log: settled deliveries and their attempts go after
ENDPOINTS_LOG_RETENTION_DAYS; pending ones and anything recently active stay."""
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.delivery import deliveries_prune
from endpoints.models import Attempt, Delivery
from endpoints.tasks import delivery_log_retention_task
from platform.celery import app

pytestmark = pytest.mark.django_db


def _delivery(target, *, state, age_days, attempt_age_days=None, message_id):
    kind = "endpoint" if target.__class__.__name__ == "Endpoint" else "connection"
    delivery = Delivery.objects.create(owner=target.owner, message_id=message_id, device_id="d1", payload={"n": 1},
                                       ts=1, state=state, **{kind: target})
    Delivery.objects.filter(pk=delivery.pk).update(created=timezone.now() - timedelta(days=age_days))
    for days in (age_days, attempt_age_days if attempt_age_days is not None else age_days):
        attempt = Attempt.objects.create(delivery=delivery, status_code=200 if state == "delivered" else 500)
        Attempt.objects.filter(pk=attempt.pk).update(at=timezone.now() - timedelta(days=days))
    return delivery


@pytest.fixture
def log(endpoint, connection):
    return {
        "old_delivered": _delivery(endpoint, state="delivered", age_days=40, message_id=1),
        "old_failed": _delivery(connection, state="failed", age_days=31, message_id=2),
        "old_failed_2": _delivery(endpoint, state="failed", age_days=35, message_id=3),
        "old_pending": _delivery(connection, state="pending", age_days=60, message_id=4),
        "recent_delivered": _delivery(endpoint, state="delivered", age_days=2, message_id=5),
        # Created long ago but retried from the UI recently: its log is still of interest.
        "old_recently_tried": _delivery(connection, state="failed", age_days=45, attempt_age_days=1, message_id=6),
    }


def test_old_settled_deliveries_and_their_attempts_are_deleted(log):
    assert deliveries_prune(older_than_days=30) == 3
    kept = set(Delivery.objects.values_list("pk", flat=True))
    assert kept == {log[k].pk for k in ("old_pending", "recent_delivered", "old_recently_tried")}
    assert set(Attempt.objects.values_list("delivery_id", flat=True)) == kept
    assert Attempt.objects.count() == 6
    assert deliveries_prune(older_than_days=30) == 0  # idempotent


def test_batches_are_bounded_and_the_deadline_leaves_the_rest_for_the_next_run(log):
    # One batch of one, then the (already passed) deadline stops it: the next run carries on.
    assert deliveries_prune(older_than_days=30, batch_size=1, deadline_s=0) == 1
    assert deliveries_prune(older_than_days=30, batch_size=1) == 2
    assert not Delivery.objects.filter(pk=log["old_failed"].pk).exists()


def test_pending_deliveries_are_never_deleted_however_old(log):
    deliveries_prune(older_than_days=1)
    assert Delivery.objects.filter(pk=log["old_pending"].pk, state="pending").exists()
    assert Attempt.objects.filter(delivery=log["old_pending"]).count() == 2


def test_zero_days_keeps_the_log_forever(log):
    assert deliveries_prune(older_than_days=0) == 0
    assert Delivery.objects.count() == 6


def test_task_reads_the_setting_and_beat_runs_it_hourly_on_maintenance(settings, log):
    settings.ENDPOINTS_LOG_RETENTION_DAYS = 50
    assert delivery_log_retention_task() == 0  # nothing settled is older than 50 days
    settings.ENDPOINTS_LOG_RETENTION_DAYS = 30
    assert delivery_log_retention_task() == 3
    entry = next(e for e in app.conf.beat_schedule.values()
                 if e["task"] == "endpoints.tasks.delivery_log_retention_task")
    assert entry["schedule"] == 3600.0 and entry["options"]["queue"] == "maintenance"
