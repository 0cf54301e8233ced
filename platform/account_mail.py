"""E-mails about accounts, sent by a worker: password resets, and notices that a password or an
e-mail address changed.

A reset: the web process answers "Check your e-mail" after writing one AccountMail row for the
address asked for, the same work whether or not an account has it. Sending from the web process
made the answer slower exactly when an account existed (SMTP is slow), which told anyone which
addresses have accounts. The worker finds the active accounts with a usable password and that
address, and mails each a link made then, with SITE_URL's address.

A notice: after a password change (on the account page or by a reset link) the account's address
is told, and after an e-mail change the old address is, so that someone who took over a session
cannot change either unseen.

The worker is platform.tasks.send_account_mails_task, woken after commit and by beat. A failed send
is retried on the delivery retry schedule (ENDPOINTS_RETRY_SCHEDULE), as alarm e-mails are; past
it the row is dropped and the failure logged. At least once: when one address has several
accounts and a reset's send fails, the retry mails all of them again."""
import logging
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.template import loader
from django.urls import reverse
from django.utils import timezone

from endpoints.targets.endpoint import retry_delay
from platform.models import AccountMail
from platform.outbox import due_claimed, failure_text, mail_send

logger = logging.getLogger(__name__)
# A claimed mail is not picked up again for this long (a worker that died mid-send).
LEASE_SECONDS = 120
RESET_SUBJECT = "registration/password_reset_subject.txt"
RESET_BODY = "registration/password_reset_email.txt"
NOTICES = {  # kind: (subject, body template)
    AccountMail.PASSWORD_CHANGED: ("Your password on {domain} was changed", "registration/password_changed_email.txt"),
    AccountMail.EMAIL_CHANGED: ("Your e-mail address on {domain} was changed", "registration/email_changed_email.txt"),
}


def _queued(**fields: Any) -> None:
    AccountMail.objects.create(next_attempt_at=timezone.now(), **fields)
    transaction.on_commit(account_mails_wake)


def reset_request(email: str) -> None:
    """Queues the reset e-mails for `email` (the web side: one insert, account or not)."""
    _queued(kind=AccountMail.RESET, email=email)


def password_changed(user: AbstractBaseUser) -> None:
    """Tells the account's address that its password changed (nothing without an address)."""
    if user.email:  # type: ignore[attr-defined]  # Django's User has it; AbstractBaseUser does not say
        _queued(kind=AccountMail.PASSWORD_CHANGED, email=user.email, user=user)  # type: ignore[attr-defined]


def email_changed(user: AbstractBaseUser, old: str) -> None:
    """Tells the old address that the account's address changed (nothing if there was none)."""
    if old and old.lower() != user.email.lower():  # type: ignore[attr-defined]
        _queued(kind=AccountMail.EMAIL_CHANGED, email=old, user=user, detail=user.email)  # type: ignore[attr-defined]


# Every change of address is told, whoever makes it (the user on the account page, an operator in
# the admin or the shell): the address is read before a save that may write it, and compared
# after. Connected to the user model's pre_save and post_save in PlatformConfig.ready().
_EMAIL_WAS = "_account_mail_email_was"


def email_saving(sender: Any, instance: AbstractBaseUser, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk and (update_fields is None or "email" in update_fields):
        setattr(instance, _EMAIL_WAS, sender.objects.filter(pk=instance.pk).values_list("email", flat=True).first())


def email_saved(sender: Any, instance: AbstractBaseUser, created: bool = False, **kwargs: Any) -> None:
    was = instance.__dict__.pop(_EMAIL_WAS, None)
    if not created and was:
        email_changed(instance, was)


def account_mails_wake() -> None:
    from platform.tasks import send_account_mails_task

    try:
        send_account_mails_task.delay()
    except Exception:
        logger.warning("could not wake the account e-mail sender; beat will send them", exc_info=True)


class _ResetMails(auth_forms.PasswordResetForm):
    """Django's form for the accounts to mail and each one's link, sending without its
    try/except (which logs and drops a failed send): a failure here is retried."""

    def send_mail(self, subject_template_name: str, email_template_name: str, context: dict[str, Any],
                  from_email: str | None, to_email: str, html_email_template_name: str | None = None) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        mail_send(subject, loader.render_to_string(email_template_name, context), to_email)


def _context() -> dict[str, str]:
    return {"site_url": settings.SITE_URL, "valid_hours": str(settings.PASSWORD_RESET_TIMEOUT // 3600)}


def _reset(email: str) -> None:
    form = _ResetMails({"email": email})
    if not form.is_valid():  # written by the web form, which checked it: only a hand-made row
        logger.warning("password reset for %r: not an e-mail address; dropped", email)
        return
    # The link is SITE_URL's, as every link the platform hands out (a worker has no request).
    site = urlsplit(settings.SITE_URL)
    form.save(domain_override=site.netloc, use_https=site.scheme == "https", subject_template_name=RESET_SUBJECT,
              email_template_name=RESET_BODY, extra_email_context=_context())


def _notice(row: AccountMail) -> None:
    subject, template = NOTICES[row.kind]
    context = {**_context(), "user": row.user, "old": row.email, "new": row.detail,
               "at": f"{row.created.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
               "reset_url": settings.SITE_URL + reverse("password_reset"),
               "tokens_url": settings.SITE_URL + reverse("token_list")}
    mail_send(subject.format(domain=urlsplit(settings.SITE_URL).netloc), loader.render_to_string(template, context),
              row.email)


def _failed(row: AccountMail, exc: Exception) -> bool:
    """Schedules the next attempt; False once the schedule is exhausted (the row is then dropped)."""
    error = failure_text(exc)
    attempts = row.attempts + 1
    delay = retry_delay(attempts)
    if delay is None:
        logger.error("account e-mail %s (%s) failed for good after %s attempts: %s", row.pk, row.kind, attempts,
                     error)
        return False
    AccountMail.objects.filter(pk=row.pk).update(
        attempts=attempts, last_error=error, next_attempt_at=timezone.now() + timedelta(seconds=delay))
    logger.warning("account e-mail %s (%s) failed (attempt %s): %s; next try in %s s", row.pk, row.kind, attempts,
                   error, max(1, round(delay)))
    return True


def account_mails_send(*, limit: int = 50) -> int:
    """Sends the due account e-mails, one attempt each; returns how many were done (a reset for an
    address without an account counts, with nothing sent)."""
    done = 0
    for row in due_claimed(AccountMail.objects.all(), limit=limit, lease_seconds=LEASE_SECONDS):
        try:
            _reset(row.email) if row.kind == AccountMail.RESET else _notice(row)
        except Exception as exc:  # noqa: BLE001  SMTP refused, timed out, rejected the address...
            if _failed(row, exc):
                continue
        else:
            done += 1
        AccountMail.objects.filter(pk=row.pk).delete()
    return done
