"""Password reset e-mails, mailed by a worker.

The web process answers "Check your e-mail" after writing one PasswordResetMail row for the
address asked for, the same work whether or not an account has it: sending from the web process
made the answer slower exactly when an account existed (SMTP is slow), which told anyone which
addresses have accounts. The worker (platform.tasks.send_reset_mails_task, woken after commit and
by beat) finds the active accounts with a usable password and that address, and mails each a link
made then, with SITE_URL's address. A failed send is retried on the delivery retry schedule
(ENDPOINTS_RETRY_SCHEDULE), as alarm e-mails are; past it the row is dropped and the failure
logged. At least once: when one address has several accounts and a send fails, the retry mails
all of them again."""
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.core.mail import EmailMessage
from django.db import transaction
from django.template import loader
from django.utils import timezone

from endpoints.targets.endpoint import retry_delay
from platform.models import PasswordResetMail
from platform.outbox import due_claimed

logger = logging.getLogger(__name__)
# A claimed reset is not picked up again for this long (a worker that died mid-send).
LEASE_SECONDS = 120
SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"
BODY_TEMPLATE = "registration/password_reset_email.txt"


def reset_request(email: str) -> None:
    """Queues the reset e-mails for `email` (the web side: one insert, account or not)."""
    PasswordResetMail.objects.create(email=email, next_attempt_at=timezone.now())
    transaction.on_commit(reset_mails_wake)


def reset_mails_wake() -> None:
    from platform.tasks import send_reset_mails_task

    try:
        send_reset_mails_task.delay()
    except Exception:
        logger.warning("could not wake the reset e-mail sender; beat will send them", exc_info=True)


class _ResetMails(auth_forms.PasswordResetForm):
    """Django's form for the accounts to mail and each one's link, sending without its
    try/except (which logs and drops a failed send): a failure here is retried."""

    def send_mail(self, subject_template_name: str, email_template_name: str, context: dict[str, Any],
                  from_email: str | None, to_email: str, html_email_template_name: str | None = None) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        EmailMessage(subject, body, from_email, [to_email]).send(fail_silently=False)


def _mail(email: str) -> None:
    form = _ResetMails({"email": email})
    if not form.is_valid():  # written by the web form, which checked it: only a hand-made row
        logger.warning("password reset for %r: not an e-mail address; dropped", email)
        return
    # The link is SITE_URL's, as every link the platform hands out (a worker has no request).
    site = urlsplit(settings.SITE_URL)
    form.save(domain_override=site.netloc, use_https=site.scheme == "https", subject_template_name=SUBJECT_TEMPLATE,
              email_template_name=BODY_TEMPLATE,
              extra_email_context={"site_url": settings.SITE_URL,
                                   "valid_hours": str(settings.PASSWORD_RESET_TIMEOUT // 3600)})


def _failed(row: PasswordResetMail, exc: Exception) -> bool:
    """Schedules the next attempt; False once the schedule is exhausted (the row is then dropped)."""
    error = f"{exc.__class__.__name__}: {exc}"[:1000] or exc.__class__.__name__
    attempts = row.attempts + 1
    delay = retry_delay(attempts)
    if delay is None:
        logger.error("password reset e-mail %s failed for good after %s attempts: %s", row.pk, attempts, error)
        return False
    PasswordResetMail.objects.filter(pk=row.pk).update(
        attempts=attempts, last_error=error, next_attempt_at=timezone.now() + timedelta(seconds=delay))
    logger.warning("password reset e-mail %s failed (attempt %s): %s; next try in %s s",
                   row.pk, attempts, error, max(1, round(delay)))
    return True


def reset_mails_send(*, limit: int = 50) -> int:
    """Mails the due resets, one attempt each; returns how many were mailed (an address without
    an account counts, with nothing sent)."""
    mailed = 0
    for row in due_claimed(PasswordResetMail.objects.all(), limit=limit, lease_seconds=LEASE_SECONDS):
        try:
            _mail(row.email)
        except Exception as exc:  # noqa: BLE001  SMTP refused, timed out, rejected the address...
            if _failed(row, exc):
                continue
        else:
            mailed += 1
        PasswordResetMail.objects.filter(pk=row.pk).delete()
    return mailed
