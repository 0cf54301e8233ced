"""Reads on rules and alarms; always through the owner."""
from collections.abc import Collection

from django.contrib.auth.models import User
from django.db.models import Case, IntegerField, QuerySet, Value, When

from alarms.models import Alarm, AlarmEvent, Rule
from devices.models import Device
from platform.auth import found_or_404

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4}


def rules_for_owner(owner: User) -> QuerySet[Rule]:
    return (Rule.objects.filter(owner=owner).select_related("bucket")
            .prefetch_related("devices", "endpoints").order_by("rule_id"))


def rule_for_owner_or_404(owner: User, rule_id: str) -> Rule:
    """The owner's rule, or Http404: the one look-up of the rule pages and the API."""
    return found_or_404(rules_for_owner(owner).filter(rule_id=rule_id).first(), "rule")


def alarms_for_owner(owner: User, *, states: Collection[str] | None = None, severity: str | None = None,
                     device: str | None = None, rule: str | None = None) -> QuerySet[Alarm]:
    """Open alarms first (most severe, then newest), then the closed ones, newest first."""
    rows = Alarm.objects.filter(owner=owner).select_related("rule", "device")
    if states:
        rows = rows.filter(state__in=states)
    if severity:
        rows = rows.filter(severity=severity)
    if device:
        rows = rows.filter(device__device_id=device)
    if rule:
        rows = rows.filter(rule__rule_id=rule)
    open_first = Case(When(state__in=Alarm.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    severity_rank = Case(*[When(severity=s, then=Value(n)) for s, n in SEVERITY_RANK.items()],
                         default=Value(9), output_field=IntegerField())
    return rows.annotate(open_rank=open_first, severity_rank=severity_rank).order_by(
        "open_rank", "severity_rank", "-id")


def alarm_for_owner_or_404(owner: User, pk: int) -> Alarm:
    """The owner's alarm, or Http404: the one look-up of the alarm pages and the API."""
    return found_or_404(Alarm.objects.filter(owner=owner, pk=pk).select_related("rule", "device").first(), "alarm")


def open_alarms_count(owner: User) -> int:
    """What the navigation badge shows: open alarms nobody has acknowledged or shelved."""
    return Alarm.objects.filter(owner=owner, state=Alarm.ACTIVE).count()


def open_alarms_for_device(device: Device) -> QuerySet[Alarm]:
    return (Alarm.objects.filter(device=device, state__in=Alarm.OPEN).select_related("rule")
            .order_by("-id"))


def events_for_alarm(alarm: Alarm) -> QuerySet[AlarmEvent]:
    return alarm.events.select_related("delivery", "email").order_by("id")
