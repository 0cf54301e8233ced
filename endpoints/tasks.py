"""Thin tasks on the `deliveries` queue (platform/celery.py routes endpoints.tasks.* there). The
database holds the work; the wake-ups are only that, so a lost one costs latency, never a delivery."""
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from endpoints.delivery import deliveries_prune
from endpoints.sender import Sender, claimable, senders_start, senders_wake_next

logger = logging.getLogger(__name__)


@shared_task(name="endpoints.tasks.dispatch_deliveries_task")
def dispatch_deliveries_task() -> bool:
    """Sent after an ingest batch commits: queues a sender unless one is running (it finds the new
    deliveries by itself)."""
    return senders_start()


@shared_task(name="endpoints.tasks.redrive_deliveries_task")
def redrive_deliveries_task() -> bool:
    """Beat, every 10 s, and queued with an eta for the next retry or blame end: starts a sender
    for retries whose time has come, blame periods that ended, lost wake-ups; with nothing due,
    makes sure the next retry has its wake-up (a sender that stopped queued it already, unless
    its target was paused then)."""
    now = timezone.now()
    if claimable(now).exists():
        return senders_start()
    senders_wake_next(now)
    return False


@shared_task(name="endpoints.tasks.send_deliveries_task", soft_time_limit=settings.DELIVERY_SENDER_SECONDS + 120,
             time_limit=settings.DELIVERY_SENDER_SECONDS + 150)
def send_deliveries_task() -> int:
    """Sends due deliveries of this sender's share of the partitions until its time is up or
    there is nothing to send (endpoints/sender/)."""
    return Sender().run()


@shared_task(name="endpoints.tasks.delivery_log_retention_task", soft_time_limit=300, time_limit=360)
def delivery_log_retention_task() -> int:
    """Beat, hourly (maintenance queue): deletes settled deliveries and their attempts older than
    ENDPOINTS_LOG_RETENTION_DAYS in bounded batches; if cut short, the next run continues."""
    return deliveries_prune(older_than_days=settings.ENDPOINTS_LOG_RETENTION_DAYS, deadline_s=240.0)
