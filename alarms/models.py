from django.conf import settings
from django.db import models
from django.db.models import Q

from buckets.models import Bucket
from devices.models import Device
from endpoints.models import Delivery, Endpoint
from platform.validators import id_validator

SEVERITIES = ("critical", "high", "medium", "low", "none")
MAX_MINUTES = 525_600  # a year: the longest silence or reminder period
MAX_EMAIL = 254  # AlarmEmail.to: a rule's longer address could never be e-mailed
# The states in which an alarm is open: at most one such alarm per rule and device.
OPEN_STATES = ("active", "acknowledged", "shelved")


class Rule(models.Model):
    """Watches a source and opens an alarm per device when its condition holds (docs/alarms.md)."""

    BUCKET, PROPERTY, STATUS, SILENCE = "bucket", "property", "status", "silence"
    SOURCES = [(BUCKET, "Bucket field (each new record)"), (PROPERTY, "Property (each change)"),
               (STATUS, "Device status (disconnected)"), (SILENCE, "Silence (no message for N minutes)")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alarm_rules")
    rule_id = models.CharField("rule", max_length=64, validators=[id_validator])
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=[(s, s) for s in SEVERITIES], default="medium")
    source_type = models.CharField(max_length=10, choices=SOURCES)
    bucket = models.ForeignKey(Bucket, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    property = models.CharField(max_length=64, blank=True)
    field = models.CharField(max_length=200, blank=True, help_text="a.b path in the record or value; empty = all")
    silence_minutes = models.PositiveIntegerField(null=True, blank=True)
    # all_devices: every device of the owner that feeds the source (API: "devices": null).
    all_devices = models.BooleanField(default=True)
    devices = models.ManyToManyField(Device, blank=True, related_name="alarm_rules")
    condition = models.JSONField(null=True, blank=True, help_text='{"op": "gt", "value": 30, "max": 40}')
    confirm = models.JSONField(default=dict, blank=True, help_text='{"type": "immediate|sequence|timespan", ...}')
    normalize = models.JSONField(null=True, blank=True)
    latch = models.BooleanField(default=False)
    endpoints = models.ManyToManyField(Endpoint, blank=True, related_name="alarm_rules")
    emails = models.JSONField(default=list, blank=True)
    reminder_minutes = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "rule_id"], name="rule_unique_per_owner")]
        ordering = ["rule_id"]

    def __str__(self):
        return self.rule_id


class Alarm(models.Model):
    """One activation of a rule for a device. At most one is open per rule and device (a partial
    unique index), however many workers evaluate at once."""

    ACTIVE, ACKNOWLEDGED, SHELVED, NORMALIZED, CLEARED = "active", "acknowledged", "shelved", "normalized", "cleared"
    STATES = [(s, s) for s in (ACTIVE, ACKNOWLEDGED, SHELVED, NORMALIZED, CLEARED)]
    OPEN = OPEN_STATES

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alarms")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="alarms")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="alarms")
    severity = models.CharField(max_length=10, choices=[(s, s) for s in SEVERITIES])
    state = models.CharField(max_length=12, choices=STATES, default=ACTIVE)
    value = models.JSONField(null=True, blank=True, help_text="the value that activated it")
    activated = models.DateTimeField()
    acknowledged = models.DateTimeField(null=True, blank=True)
    shelved_until = models.DateTimeField(null=True, blank=True)
    normalized = models.DateTimeField(null=True, blank=True)
    cleared = models.DateTimeField(null=True, blank=True)
    last_notified = models.DateTimeField(null=True, blank=True, help_text="activation or last reminder")
    # Immediate rules keep no RuleState, so the alarm remembers the newest value its rule saw for
    # the device: a late, older value must neither close it nor (once closed) open a new one.
    last_ts = models.BigIntegerField(null=True, blank=True, help_text="newest value evaluated, epoch ms")

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "device"], condition=Q(state__in=OPEN_STATES),
                                               name="alarm_one_open_per_rule_device")]
        indexes = [models.Index(fields=["owner", "state"], name="alarm_owner_state")]

    def __str__(self):
        return f"alarm {self.pk} ({self.state})"

    @property
    def is_open(self):
        return self.state in self.OPEN


class AlarmEvent(models.Model):
    TYPES = [(t, t) for t in ("activate", "notify", "remind", "acknowledge", "shelve", "normalize", "clear")]

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")
    ts = models.DateTimeField(auto_now_add=True)
    type = models.CharField(max_length=12, choices=TYPES)
    detail = models.TextField(blank=True)
    # A "notify" event links what it queued, so the page shows how that notification is doing.
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.ForeignKey("AlarmEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]


class RuleState(models.Model):
    """A rule's confirmation progress for one device: consecutive matches (sequence) or since when
    the condition holds (timespan). Locked while evaluated, so two workers do not both count."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="states")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)
    since_ts = models.BigIntegerField(null=True, blank=True, help_text="first matching value of the run, epoch ms")
    last_ts = models.BigIntegerField(null=True, blank=True, help_text="newest value evaluated, epoch ms")
    last_value = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "device"], name="rulestate_unique")]
        indexes = [models.Index(fields=["since_ts"], condition=Q(since_ts__isnull=False), name="rulestate_running")]


class AlarmEmail(models.Model):
    """One notification e-mail to one address; retried on rows like a Delivery."""

    PENDING, SENT, FAILED = "pending", "sent", "failed"
    STATES = [(s, s) for s in (PENDING, SENT, FAILED)]

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=12, help_text="activate, remind or normalize")
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="alarmemail_due")]
