"""Thin tasks on the `deliveries` queue (platform/celery.py routes endpoints.tasks.* there). The
database holds the work; these are wake-ups, so a lost one costs latency, never a delivery."""
import logging

from celery import shared_task

from django.conf import settings

from endpoints.delivery import deliveries_due_targets, deliveries_prune, target_deliver

logger = logging.getLogger(__name__)


def _dispatch():
    """One task per due target, so a slow or dead target occupies one worker slot, not the queue."""
    targets = deliveries_due_targets()
    for kind, pk in targets:
        deliver_target_task.delay(kind, pk)
    return len(targets)


@shared_task(name="endpoints.tasks.dispatch_deliveries_task")
def dispatch_deliveries_task():
    """Sent after an ingest batch commits: queues a send task for every target with due work."""
    return _dispatch()


@shared_task(name="endpoints.tasks.redrive_deliveries_task")
def redrive_deliveries_task():
    """Beat, every 10 s: retries whose time has come, blame periods that ended, lost wake-ups."""
    return _dispatch()


@shared_task(name="endpoints.tasks.deliver_target_task", soft_time_limit=300, time_limit=330)
def deliver_target_task(kind, pk):
    """Sends one target's due deliveries in order; a no-op if another worker holds the target."""
    return target_deliver(kind=kind, pk=pk)


@shared_task(name="endpoints.tasks.delivery_log_retention_task", soft_time_limit=300, time_limit=360)
def delivery_log_retention_task():
    """Beat, hourly (maintenance queue): deletes settled deliveries and their attempts older than
    ENDPOINTS_LOG_RETENTION_DAYS in bounded batches; if cut short, the next run continues."""
    return deliveries_prune(older_than_days=settings.ENDPOINTS_LOG_RETENTION_DAYS, deadline_s=240.0)
