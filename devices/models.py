from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from buckets.models import Bucket
from endpoints.models import Connection, Endpoint
from platform.validators import id_validator

# The longest connection timeout a device can have (30 days), in minutes; the API and the page check it.
MAX_TIMEOUT = 30 * 24 * 60
TIMEOUT_RANGE = f"Give the connection timeout in whole minutes, 1 to {MAX_TIMEOUT}."


class Device(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField("device", max_length=64, validators=[id_validator])
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=10, default="HTTP")
    enabled = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, editable=False)
    # Callback settings (Thinger's "actions"); each one is optional.
    write_bucket = models.ForeignKey(Bucket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    call_endpoint = models.ForeignKey(Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    set_property = models.CharField(max_length=64, blank=True, validators=[id_validator])
    send_property = models.CharField(max_length=64, blank=True, validators=[id_validator])
    timeout = models.PositiveIntegerField(default=10, help_text="minutes without a callback before disconnected")
    applications = models.ManyToManyField(Connection, blank=True, related_name="devices")
    # Connection state and stats, kept on the row so the callback updates them in one statement.
    connected = models.BooleanField(default=False)
    connected_ts = models.DateTimeField(null=True, blank=True, help_text="last change of `connected`")
    last_seen = models.DateTimeField(null=True, blank=True)
    disconnect_at = models.DateTimeField(null=True, blank=True, help_text="last_seen + timeout, for the sweep")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    rx_bytes = models.BigIntegerField(default=0)
    tx_bytes = models.BigIntegerField(default=0)
    rx_messages = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "device_id"], name="device_unique_per_owner")]
        # No index on the connection-state columns (connected, connected_ts, last_seen, disconnect_at):
        # an UPDATE that changes no indexed column can be HOT (no index touched), which both the
        # callback's update and the sweep's flip are; the sweep finds due rows with a sequential
        # scan instead (README "Performance"). The table's fillfactor is set in migration 0003.
        ordering = ["device_id"]

    def __str__(self):
        return self.device_id

    def disconnect_at_follow(self) -> None:
        """A connected device's disconnect deadline follows a new timeout (the sweep reads it)."""
        if self.last_seen:
            self.disconnect_at = self.last_seen + timedelta(minutes=self.timeout)


class DeviceProperty(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="properties")
    name = models.CharField("property", max_length=64, validators=[id_validator])
    value = models.JSONField(null=True, blank=True)
    # The message whose payload `set_property` stored here (null after a write through the API):
    # two ingest workers finishing batches out of order must not let an older payload win.
    message_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "device properties"
        constraints = [models.UniqueConstraint(fields=["device", "name"], name="property_unique_per_device")]
        ordering = ["name"]

    def __str__(self):
        return f"{self.device_id}:{self.name}"


class Message(models.Model):
    """The inbox: one row per accepted callback, committed before the device gets its 200. The
    ingest worker turns pending rows into records, properties and deliveries."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="messages")
    payload = models.JSONField()
    size = models.PositiveIntegerField(default=0)
    ts = models.BigIntegerField(help_text="time of receipt, epoch ms")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["id"], condition=Q(processed_at__isnull=True), name="message_pending")]

    def __str__(self):
        return f"message {self.pk}"


class Downlink(models.Model):
    """A command for a device, handed over in the answer to its next callback, exactly once."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="downlinks")
    payload = models.JSONField(null=True)
    source = models.CharField(max_length=64, default="api", help_text="api, or the connection id")
    created = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["device", "id"], condition=Q(delivered_at__isnull=True),
                                name="downlink_queued")]

    def __str__(self):
        return f"downlink {self.pk}"


class StatusChange(models.Model):
    # No foreign-key constraint in the database: checking it cost the sweep a lookup and a row lock
    # per flip, 0.37 of 0.94 s of PostgreSQL CPU for 100,000 (tests/perf/bench_sweep.py). Every
    # writer inserts only for a device row it holds locked, and Django deletes a device's changes
    # with it (on_delete runs in Python either way); only a device deleted in the instant a sweep or
    # a callback records its change can leave that row behind, which nothing reads (changes are
    # read through their device).
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="status_changes", db_constraint=False)
    connected = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{'connected' if self.connected else 'disconnected'} at {self.at:%Y-%m-%d %H:%M:%S}"
