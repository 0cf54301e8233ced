"""Rows of work that a worker sends and retries (alarm e-mails, password reset e-mails): each is
due at its `next_attempt_at`, and a worker takes its share with a lease, so two workers never
send the same row at once and a worker that dies mid-send only delays it."""
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone


def due_claimed(rows: QuerySet[Any], *, limit: int, lease_seconds: int) -> list[Any]:
    """Up to `limit` of `rows` that are due, oldest first, leased to the caller by moving their
    next attempt `lease_seconds` ahead (rows another worker holds locked are skipped)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(rows.select_for_update(skip_locked=True).filter(next_attempt_at__lte=now).order_by("id")[:limit])
        rows.model.objects.filter(pk__in=[row.pk for row in claimed]).update(
            next_attempt_at=now + timedelta(seconds=lease_seconds))
    return claimed


def mail_send(subject: str, body: str, to: str) -> None:
    """One e-mail from EMAIL_FROM, raising on failure (the row is then retried)."""
    EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]).send(fail_silently=False)


def failure_text(exc: BaseException) -> str:
    """What a failed send keeps as its last error (SMTP refused, timed out, rejected the address...)."""
    return f"{exc.__class__.__name__}: {exc}"[:1000] or exc.__class__.__name__
