from django.conf import settings
from django.db import models

from platform.validators import id_validator


class Bucket(models.Model):
    UNITS = [(u, u) for u in ("minutes", "hours", "days", "weeks", "months", "years")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buckets")
    bucket_id = models.CharField("bucket", max_length=64, validators=[id_validator])
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=20, default="api")
    retention_period = models.PositiveIntegerField(null=True, blank=True)
    retention_unit = models.CharField(max_length=10, choices=UNITS, blank=True)
    # Writes into a disabled bucket are skipped, not errors for the device; this counts them.
    skipped_writes = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "bucket_id"], name="bucket_unique_per_owner")]
        ordering = ["bucket_id"]

    def __str__(self):
        return self.bucket_id


class Record(models.Model):
    """One point of a bucket's time series. `message_id` is the device message it came from (a
    plain column: buckets know nothing of devices); with `index`, the position in a bulk message,
    it makes storing the same message twice impossible."""

    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="records", db_index=False)
    message_id = models.BigIntegerField(null=True, blank=True)
    index = models.PositiveIntegerField(default=0)
    ts = models.BigIntegerField(help_text="epoch milliseconds")
    val = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["bucket", "ts"], name="record_bucket_ts")]
        constraints = [
            models.UniqueConstraint(fields=["bucket", "message_id", "index"], name="record_once_per_message"),
        ]

    def __str__(self):
        return f"{self.bucket_id}@{self.ts}"
