"""Thin tasks on the maintenance queue (the default route). The database holds the work."""
from celery import shared_task

from alarms.evaluation import alarms_sweep
from alarms.notify import emails_send


@shared_task(name="alarms.tasks.sweep_alarms_task", soft_time_limit=60, time_limit=90)
def sweep_alarms_task() -> dict[str, int]:
    """Beat, every 30 s: status backstop, silence, timespans, reminders, the end of shelving."""
    return alarms_sweep()


@shared_task(name="alarms.tasks.send_emails_task", soft_time_limit=120, time_limit=150)
def send_emails_task() -> int:
    """Woken after an alarm queues e-mails, and by beat every 15 s for retries and lost wake-ups."""
    return emails_send()
