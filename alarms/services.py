"""Writes on rules and alarms. Services take keyword arguments and never see a request.
Saving or deleting a rule makes the watch map stale (alarms/receivers.py, also for cascades and
the admin).

An alarm moves active -> acknowledged / shelved -> normalized or cleared. Every move is a
conditional UPDATE on the state it leaves (several workers and people may act at once) and leaves
an AlarmEvent; notifications are queued in the same transaction (alarms/notify.py)."""
import logging
import re
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from alarms import notify
from alarms.conditions import MISSING, ConditionError, condition_clean, confirm_clean, describe
from alarms.models import MAX_EMAIL, MAX_MINUTES, SEVERITIES, Alarm, AlarmEvent, Rule, RuleState
from platform.validators import ID_PATTERN

logger = logging.getLogger(__name__)

RULE_FIELDS = ("name", "description", "enabled", "severity", "source_type", "bucket", "property", "field",
               "silence_minutes", "condition", "confirm", "normalize", "latch", "emails", "reminder_minutes")
SHELVE_MAX_MINUTES = 30 * 24 * 60


# --- Rules -------------------------------------------------------------------------------------

def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _error(errors: dict[str, str], text: str, key: str = "") -> None:
    """Files "source.bucket: no such bucket." under "source.bucket" as "no such bucket.": the API
    answers each message under its dotted path, once (docs/api.md), and the form shows it next to
    its own input. A message without a path goes under `key`."""
    path, sep, message = text.partition(": ")
    if sep and re.fullmatch(r"[a-z]+(\.[a-z]+)*", path):
        errors[path] = message
    else:
        errors[key] = text


# What each source type reads of the spec; a type given another type's setting refuses it (the
# API's clients would believe it in force). None and "" are no setting.
SOURCE_USES = {Rule.BUCKET: {"bucket", "field", "condition", "normalize"},
               Rule.PROPERTY: {"property", "field", "condition", "normalize"},
               Rule.STATUS: set(), Rule.SILENCE: {"silence_minutes"}}
NO_CONDITION = ("Status and silence rules have no condition: a status rule fires when the device disconnects, a "
                "silence rule after its minutes without a message; remove it (or send null).")
NO_NORMALIZE = ("Status and silence rules have no normalize condition: a status alarm normalizes when the device "
                "connects again, a silence alarm when a message arrives; remove it (or send null).")


def _unused_errors(kind: str, spec: dict[str, Any]) -> dict[str, str]:
    """The settings `kind` does not use that `spec` gives anyway, each with what to do."""
    texts = {"bucket": f"source.bucket: a {kind} rule watches no bucket (bucket rules do); remove it (or send null).",
             "property": f"source.property: a {kind} rule watches no property (property rules do); remove it (or "
                         "send null).",
             "field": f"source.field: a {kind} rule tests no field (bucket and property rules do); remove it (or "
                      "send null).",
             "silence_minutes": f"source.minutes: a {kind} rule counts no minutes without a message (silence rules "
                                "do); remove it (or send null).",
             "condition": NO_CONDITION, "normalize": NO_NORMALIZE}
    errors: dict[str, str] = {}
    for name, text in texts.items():
        if name not in SOURCE_USES[kind] and spec.get(name) not in (None, ""):
            _error(errors, text, name)
    return errors


def rule_check(*, owner: User, spec: dict[str, Any]) -> dict[str, Any]:
    """The rule's settings made consistent, or ValidationError naming each field to fix: a bucket
    rule needs the owner's bucket and a condition, a property rule a property name and a
    condition, a silence rule its minutes; status and silence rules carry no condition and
    confirm at once (the device timeout or the minutes are their time span). A setting the
    source type does not use is refused unless None or "" (the form blanks its hidden inputs).
    Each problem of a condition is filed under its own path."""
    errors: dict[str, str] = {}
    spec = dict(spec)
    kind = spec.get("source_type")
    if kind not in dict(Rule.SOURCES):
        _error(errors, "source.type: use bucket, property, status or silence.")
    else:
        errors.update(_unused_errors(kind, spec))
    if spec.get("severity", "medium") not in SEVERITIES:
        errors["severity"] = f"Use one of {', '.join(SEVERITIES)}."
    bucket = spec.get("bucket")
    if kind == Rule.BUCKET and bucket is None:
        _error(errors, "source.bucket: name one of your buckets, e.g. \"b1\".")
    if kind == Rule.BUCKET and bucket is not None and bucket.owner_id != owner.pk:
        _error(errors, "source.bucket: no such bucket.")
    if kind == Rule.PROPERTY and not spec.get("property"):
        _error(errors, "source.property: name the device property to watch, e.g. \"battery\".")
    elif kind == Rule.PROPERTY and not re.fullmatch(ID_PATTERN, spec["property"]):
        _error(errors, "source.property: a property name is 1 to 64 letters, digits, '_' or '-'.")
    if kind == Rule.SILENCE and not _whole(spec.get("silence_minutes"), 1, MAX_MINUTES):
        _error(errors, f"source.minutes: a whole number of minutes without a message, 1 to {MAX_MINUTES}.")
    if kind in (Rule.BUCKET, Rule.PROPERTY):
        try:
            spec["condition"] = condition_clean(spec.get("condition"))
        except ConditionError as exc:
            for text in exc.messages:
                _error(errors, text, "condition")
        try:
            spec["normalize"] = condition_clean(spec["normalize"], "normalize") if spec.get("normalize") else None
        except ConditionError as exc:
            for text in exc.messages:
                _error(errors, text, "normalize")
        try:
            spec["confirm"] = confirm_clean(spec.get("confirm"))
        except ConditionError as exc:
            for text in exc.messages:
                _error(errors, text, "confirm")
    else:
        spec["condition"], spec["normalize"] = None, None
        if (spec.get("confirm") or {}).get("type", "immediate") != "immediate":
            errors["confirm"] = ("Status and silence rules confirm at once: the device's timeout (status) or the "
                                 "minutes (silence) are already their time span.")
        spec["confirm"] = {"type": "immediate"}
    if kind != Rule.BUCKET:
        spec["bucket"] = None
    if kind != Rule.PROPERTY:
        spec["property"] = ""
    if kind not in (Rule.BUCKET, Rule.PROPERTY):
        spec["field"] = ""
    if kind != Rule.SILENCE:
        spec["silence_minutes"] = None
    devices = spec.get("devices")
    if devices is not None and any(d.owner_id != owner.pk for d in devices):
        errors["devices"] = "Only your own devices."
    endpoints = spec.get("endpoints") or []
    if any(e.owner_id != owner.pk for e in endpoints):
        _error(errors, "notify.endpoints: only your own endpoints.")
    reminder = spec.get("reminder_minutes")
    if reminder is not None and not _whole(reminder, 1, MAX_MINUTES):
        _error(errors, f"reminder.minutes: a whole number of minutes from 1 to {MAX_MINUTES}, e.g. 60.")
    long_address = next((a for a in spec.get("emails") or [] if len(a) > MAX_EMAIL), None)
    if long_address is not None:
        _error(errors, f"notify.emails: {long_address[:40]}... is longer than {MAX_EMAIL} characters.")
    if errors:
        raise ValidationError(errors)
    return spec


def _rule_save(rule: Rule, spec: dict[str, Any], *, creating: bool) -> Rule:
    for name in RULE_FIELDS:
        if name in spec:
            setattr(rule, name, spec[name])
    rule.emails = list(spec.get("emails") or [])
    rule.all_devices = spec.get("devices") is None
    rule.full_clean(exclude=["owner", "bucket"], validate_constraints=False)
    with transaction.atomic():
        rule.save()
        rule.devices.set(spec.get("devices") or [])
        rule.endpoints.set(spec.get("endpoints") or [])
        if not creating:
            # What counted towards a confirmation under the old settings does not under the new ones.
            RuleState.objects.filter(rule=rule).delete()
    return rule


def rule_create(*, owner: User, rule_id: str, **spec: Any) -> Rule:
    """Creates the owner's rule; ValidationError for a duplicate id or an inconsistent setting."""
    return rule_create_checked(owner=owner, rule_id=rule_id, spec=rule_check(owner=owner, spec=spec))


def rule_create_checked(*, owner: User, rule_id: str, spec: dict[str, Any]) -> Rule:
    """rule_create for settings rule_check returned for this owner already (the rule form checks
    them in its clean, with its other errors, and saves them once valid); ValidationError for a
    duplicate id."""
    if Rule.objects.filter(owner=owner, rule_id=rule_id).exists():
        raise ValidationError({"rule": f"You already have a rule '{rule_id}'."})
    try:
        return _rule_save(Rule(owner=owner, rule_id=rule_id), spec, creating=True)
    except IntegrityError:  # a concurrent create of the same id won
        raise ValidationError({"rule": f"You already have a rule '{rule_id}'."}) from None


def rule_update(*, rule: Rule, **spec: Any) -> Rule:
    """Replaces the rule's settings (the caller merges a partial change first). Confirmation
    progress restarts; open alarms stay open and follow the new settings."""
    return rule_update_checked(rule=rule, spec=rule_check(owner=rule.owner, spec=spec))


def rule_update_checked(*, rule: Rule, spec: dict[str, Any]) -> Rule:
    """rule_update for settings rule_check returned for the rule's owner already (as
    rule_create_checked)."""
    return _rule_save(rule, spec, creating=False)


def rule_delete(*, rule: Rule) -> None:
    """Deletes the rule with its alarms and their history."""
    rule.delete()


# --- Alarms ------------------------------------------------------------------------------------

def event_add(alarm: Alarm, type: str, detail: str = "", **links: Any) -> AlarmEvent:
    return AlarmEvent.objects.create(alarm=alarm, type=type, detail=detail, **links)


def _shown(value: Any) -> Any:
    return "absent" if value is MISSING else value


def alarm_activate(*, rule: Rule, device_pk: int, value: Any, now: datetime | None = None,
                   detail: str = "", ts: int | None = None) -> Alarm | None:
    """Opens an alarm for the rule and device and queues its notifications, atomically; `ts` is
    the activating value's time (epoch ms), if it has one. Returns None if one is open already:
    the partial unique index decides between racing workers, the loser's insert fails and it
    rolls back to its savepoint."""
    now = now or timezone.now()
    value = None if value is MISSING else value
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(owner_id=rule.owner_id, rule=rule, device_id=device_pk,
                                         severity=rule.severity, state=Alarm.ACTIVE, value=value,
                                         activated=now, last_notified=now, last_ts=ts)
            event = event_add(alarm, "activate", detail or f"{notify.source_text(rule)} {describe(rule.condition)}: "
                                                           f"value {_shown(value)}".replace("  ", " "))
            notify.alarm_notify(alarm=alarm, kind="activate", detail=event.detail)
    except IntegrityError:
        return None
    return alarm


def alarm_normalize(*, alarm: Alarm, detail: str = "The condition no longer holds.", ts: int | None = None) -> bool:
    """Closes an open alarm because its condition stopped holding; notifies unless it was
    shelved. `ts`: the normalizing value's time (epoch ms), if it has one. False if it was no
    longer open."""
    now = timezone.now()
    with transaction.atomic():
        current = Alarm.objects.select_for_update().filter(pk=alarm.pk, state__in=Alarm.OPEN).first()
        if current is None:
            return False
        was = current.state
        current.state, current.normalized, current.shelved_until = Alarm.NORMALIZED, now, None
        if ts is not None:
            current.last_ts = ts
        current.save(update_fields=["state", "normalized", "shelved_until", "last_ts"])
        event_add(current, "normalize", detail)
        if was != Alarm.SHELVED:
            notify.alarm_notify(alarm=current, kind="normalize", detail=detail)
    alarm.state, alarm.normalized, alarm.last_ts = current.state, current.normalized, current.last_ts
    return True


class AlarmActionError(ValueError):
    """An action the alarm's state does not allow; the message says why."""


def _act(alarm: Alarm, allowed: Collection[str], verb: str, changes: Callable[[datetime, Alarm], dict[str, Any]],
         event: str, detail: str) -> Alarm:
    now = timezone.now()
    with transaction.atomic():
        current = Alarm.objects.select_for_update().filter(pk=alarm.pk).first()
        if current is None or current.state not in allowed:
            state = current.state if current else "gone"
            raise AlarmActionError(f"This alarm is {state}: it cannot be {verb}.")
        for name, value in changes(now, current).items():
            setattr(current, name, value)
        current.save()
        event_add(current, event, detail)
    return current


def alarm_acknowledge(*, alarm: Alarm, by: str = "") -> Alarm:
    """Someone is on it: no more reminders. Normalizing still closes it."""
    return _act(alarm, (Alarm.ACTIVE, Alarm.SHELVED), "acknowledged",
                lambda now, a: {"state": Alarm.ACKNOWLEDGED, "acknowledged": now, "shelved_until": None},
                "acknowledge", f"Acknowledged{f' by {by}' if by else ''}.")


def alarm_shelve(*, alarm: Alarm, minutes: int, by: str = "") -> Alarm:
    """No notifications (reminders, normalize) until the time is up; then it is active again
    (acknowledged if it was)."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= SHELVE_MAX_MINUTES:
        raise AlarmActionError(f"Shelve for 1 to {SHELVE_MAX_MINUTES} minutes.")
    return _act(alarm, Alarm.OPEN, "shelved",
                lambda now, a: {"state": Alarm.SHELVED, "shelved_until": now + timedelta(minutes=minutes)},
                "shelve", f"Shelved for {minutes} minutes{f' by {by}' if by else ''}.")


def alarm_clear(*, alarm: Alarm, by: str = "") -> Alarm:
    """Closes the alarm for good; the rule's next activation opens a new one."""
    def changes(now: datetime, current: Alarm) -> dict[str, Any]:
        RuleState.objects.filter(rule_id=current.rule_id, device_id=current.device_id).delete()
        return {"state": Alarm.CLEARED, "cleared": now, "shelved_until": None}

    return _act(alarm, (*Alarm.OPEN, Alarm.NORMALIZED), "cleared", changes, "clear",
                f"Cleared{f' by {by}' if by else ''}.")


def alarms_unshelve(*, now: datetime | None = None) -> int:
    """Beat: shelved alarms whose time is up become active (or acknowledged) again."""
    now = now or timezone.now()
    done = 0
    for alarm in Alarm.objects.filter(state=Alarm.SHELVED, shelved_until__lte=now):
        back = Alarm.ACKNOWLEDGED if alarm.acknowledged else Alarm.ACTIVE
        with transaction.atomic():
            if Alarm.objects.filter(pk=alarm.pk, state=Alarm.SHELVED, shelved_until__lte=now).update(
                    state=back, shelved_until=None, last_notified=now):
                event_add(alarm, "shelve", f"Shelving ended; the alarm is {back} again.")
                done += 1
    return done


def alarms_remind(*, now: datetime | None = None) -> int:
    """Beat: an active (not acknowledged, not shelved) alarm whose rule has a reminder is notified
    again each time that many minutes pass. Claimed by a conditional update on `last_notified`,
    so two beats never send the same reminder twice."""
    now = now or timezone.now()
    sent = 0
    for alarm in (Alarm.objects.filter(state=Alarm.ACTIVE, rule__reminder_minutes__isnull=False)
                  .select_related("rule")):
        minutes = alarm.rule.reminder_minutes
        assert minutes is not None  # the filter above
        due = (alarm.last_notified or alarm.activated) + timedelta(minutes=minutes)
        if due > now:
            continue
        with transaction.atomic():
            if not Alarm.objects.filter(pk=alarm.pk, state=Alarm.ACTIVE,
                                        last_notified=alarm.last_notified).update(last_notified=now):
                continue
            alarm.last_notified = now
            event = event_add(alarm, "remind", f"Still active after {_age(now - alarm.activated)}.")
            notify.alarm_notify(alarm=alarm, kind="remind", detail=event.detail)
            sent += 1
    return sent


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
