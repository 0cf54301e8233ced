"""Thin tasks on the maintenance queue (the default route). The database holds the work."""
from celery import shared_task

from platform.resets import reset_mails_send


@shared_task(name="platform.tasks.send_reset_mails_task", soft_time_limit=120, time_limit=150)
def send_reset_mails_task() -> int:
    """Woken after a password reset is asked for, and by beat every 15 s for retries and lost wake-ups."""
    return reset_mails_send()
