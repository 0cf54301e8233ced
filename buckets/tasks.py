"""Thin tasks: no arguments, call a service."""
from celery import shared_task

from buckets.services import buckets_apply_retention


@shared_task(name="buckets.tasks.retention_task", soft_time_limit=300, time_limit=360)
def retention_task() -> dict[int, int]:
    """Deletes records older than each bucket's retention in bounded batches (each a short
    transaction). Idempotent; if it is cut short, the next hourly run continues."""
    return buckets_apply_retention(deadline_s=240.0)
