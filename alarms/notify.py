"""Alarm notifications, handed to the delivery engine: alarms have no transport of their own.

An endpoint gets a Delivery row (message_id None) whose payload is {"alarm": {...}}: the engine
sends it in order with the endpoint's other deliveries, retries it on its schedule and logs every
attempt, and the endpoint's templates see `{{alarm.rule}}`, `{{alarm.device}}`, `{{alarm.severity}}`,
`{{alarm.state}}`, `{{alarm.value}}`, `{{alarm.url}}` (and `{{device}}`, `{{ts}}` as for messages).

An e-mail address gets an AlarmEmail row, sent through Django's mail settings (EMAIL_URL) by
`emails_send` (alarms.tasks.send_emails_task, woken after commit and by beat): a failed send is
retried on the same schedule as deliveries, each failure leaves an AlarmEvent."""
import json
import logging
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alarms.models import Alarm, AlarmEmail, AlarmEvent, Rule
from endpoints.delivery import deliveries_wake
from endpoints.models import Delivery
from endpoints.targets import lane_of
from endpoints.targets.endpoint import retry_delay
from platform.clock import ms, now_ms
from platform.outbox import due_claimed, failure_text, mail_send

logger = logging.getLogger(__name__)
# A claimed e-mail is not picked up again for this long (a worker that died mid-send).
EMAIL_LEASE_SECONDS = 120


def source_text(rule: Rule) -> str:
    if rule.source_type == "bucket":
        bucket = rule.bucket.bucket_id if rule.bucket else "bucket"
        return f"{bucket}.{rule.field}" if rule.field else bucket
    if rule.source_type == "property":
        return f"property {rule.property}{'.' + rule.field if rule.field else ''}"
    if rule.source_type == "status":
        return "device disconnected"
    return f"no message for {rule.silence_minutes} min"


def alarm_url(alarm: Alarm) -> str:
    return f"{settings.SITE_URL}/alarms/{alarm.pk}/"


def alarm_payload(alarm: Alarm, kind: str, detail: str = "") -> dict[str, Any]:
    """`value` is the value that opened the alarm, whatever the event; `detail` says what happened
    (for `normalize`, the value that closed it), as the alarm's event does."""
    rule, device = alarm.rule, alarm.device
    return {"alarm": {
        "id": str(alarm.pk), "rule": rule.rule_id, "name": rule.name or rule.rule_id, "device": device.device_id,
        "device_name": device.name, "severity": alarm.severity, "state": alarm.state, "value": alarm.value,
        "event": kind, "detail": detail, "url": alarm_url(alarm), "activated": ms(alarm.activated),
        "normalized": ms(alarm.normalized) if alarm.normalized else None, "source": source_text(rule)}}


def _at(moment: Any) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _email_text(alarm: Alarm, kind: str, detail: str = "") -> tuple[str, str]:
    rule, device = alarm.rule, alarm.device
    what = {"activate": "ACTIVE", "remind": "still ACTIVE", "normalize": "NORMALIZED"}[kind]
    named = f"{rule.name} ({rule.rule_id})" if rule.name and rule.name != rule.rule_id else rule.rule_id
    subject = f"[{alarm.severity}] {rule.name or rule.rule_id}: {device.device_id} {what}"
    lines = [f"Alarm {named} on device {device.device_id} is {what}.", ""]
    if detail:
        lines += [detail, ""]
    lines += [f"Severity: {alarm.severity}", f"Source: {source_text(rule)}",
              f"Opened by the value: {json.dumps(alarm.value)}", f"Opened at: {_at(alarm.activated)}"]
    if kind == "normalize":
        lines += [f"Normalized at: {_at(alarm.normalized or timezone.now())}", "", f"Its history: {alarm_url(alarm)}"]
    else:
        lines += ["", f"Acknowledge, shelve or clear it here: {alarm_url(alarm)}"]
    return subject, "\n".join(lines) + "\n"


def alarm_notify(*, alarm: Alarm, kind: str, detail: str = "") -> None:
    """Queues the rule's notifications for an activation, a reminder or a normalization (`detail`:
    the event's words, e.g. the value that normalized it): one
    Delivery per enabled endpoint, one AlarmEmail per address, each with a "notify" event that
    links it. Call inside the transaction that changed the alarm; the queues are woken after
    commit (a lost wake-up costs latency: beat redrives both)."""
    rule = alarm.rule
    now = timezone.now()
    payload = alarm_payload(alarm, kind, detail)
    endpoints = list(rule.endpoints.filter(enabled=True, owner_id=alarm.owner_id))
    for endpoint in endpoints:
        delivery = Delivery.objects.create(
            owner_id=alarm.owner_id, endpoint=endpoint, message_id=None, device_id=alarm.device.device_id,
            device_name=alarm.device.name, payload=payload, ts=now_ms(), state=Delivery.PENDING,
            next_attempt_at=now, lane=lane_of(endpoint_pk=endpoint.pk, device_id=alarm.device.device_id))
        AlarmEvent.objects.create(alarm=alarm, type="notify", delivery=delivery,
                                  detail=f"{kind}: call to endpoint {endpoint.endpoint_id} queued.")
    if endpoints:
        transaction.on_commit(deliveries_wake)
    subject, body = _email_text(alarm, kind, detail)
    for address in rule.emails or []:
        email = AlarmEmail.objects.create(alarm=alarm, kind=kind, to=address, subject=subject, body=body,
                                          next_attempt_at=now)
        AlarmEvent.objects.create(alarm=alarm, type="notify", email=email,
                                  detail=f"{kind}: e-mail to {address} queued.")
    if rule.emails:
        transaction.on_commit(emails_wake)


def emails_wake() -> None:
    from alarms.tasks import send_emails_task

    try:
        send_emails_task.delay()
    except Exception:
        logger.warning("could not wake the e-mail sender; beat will send them", exc_info=True)


def emails_send(*, limit: int = 50) -> int:
    """Sends the due e-mails, one SMTP attempt each; returns how many were sent. A failure sets the
    next attempt from the delivery retry schedule (ENDPOINTS_RETRY_SCHEDULE) and is recorded as an
    event on the alarm; past the schedule the e-mail is `failed`. At least once: a worker dying
    between the SMTP answer and the update sends that e-mail again after the lease."""
    sent = 0
    for email in due_claimed(AlarmEmail.objects.filter(state=AlarmEmail.PENDING), limit=limit,
                             lease_seconds=EMAIL_LEASE_SECONDS):
        error = ""
        try:
            mail_send(email.subject, email.body, email.to)
        except Exception as exc:  # noqa: BLE001  SMTP refused, timed out, rejected the address...
            error = failure_text(exc)
        now = timezone.now()
        with transaction.atomic():
            attempts = email.attempts + 1
            if not error:
                AlarmEmail.objects.filter(pk=email.pk).update(state=AlarmEmail.SENT, attempts=attempts, sent_at=now,
                                                              last_error="", next_attempt_at=None)
                AlarmEvent.objects.create(alarm_id=email.alarm_id, type="notify", email=email,
                                          detail=f"{email.kind}: e-mail to {email.to} sent.")
                sent += 1
                continue
            delay = retry_delay(attempts)
            if delay is None:
                AlarmEmail.objects.filter(pk=email.pk).update(state=AlarmEmail.FAILED, attempts=attempts,
                                                              last_error=error, next_attempt_at=None)
                detail = f"{email.kind}: e-mail to {email.to} failed for good after {attempts} attempts: {error}"
            else:
                AlarmEmail.objects.filter(pk=email.pk).update(attempts=attempts, last_error=error,
                                                              next_attempt_at=now + timedelta(seconds=delay))
                detail = (f"{email.kind}: e-mail to {email.to} failed (attempt {attempts}): {error}; "
                          f"next try in {max(1, round(delay))} s.")
            AlarmEvent.objects.create(alarm_id=email.alarm_id, type="notify", email=email, detail=detail)
            logger.warning("alarm e-mail %s: %s", email.pk, detail)
    return sent
