"""Thin tasks on the maintenance queue (the default route). The database holds the work."""
from celery import shared_task

from platform.account_mail import account_mails_send


@shared_task(name="platform.tasks.send_account_mails_task", soft_time_limit=120, time_limit=150)
def send_account_mails_task() -> int:
    """Woken after a password reset is asked for or an account changes, and by beat every 15 s
    for retries and lost wake-ups."""
    return account_mails_send()
