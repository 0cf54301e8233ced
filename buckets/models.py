from django.conf import settings
from django.db import models

from platform.clock import epoch_ms_text
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


# Storage, indexes and the partitioning plan for Record (measured with tests/perf/bench_buckets.py).
#
# Indexes. One B-tree on (bucket, ts) serves every read: the latest N (a backward index scan),
# ranges, the skip scan that finds the window of the N latest aggregation intervals (one probe per
# interval), range clears, retention (ts < cutoff) and deleting a bucket. The unique
# (bucket, message_id, index) index is what makes ingest idempotent. Considered and left out:
#   - a covering index INCLUDE (val): it would duplicate the table (val is most of a row), and
#     records arrive in ts order, so the heap is already well correlated with (bucket, ts);
#   - BRIN on ts: with many buckets interleaved in one table a ts block range does not narrow the
#     search to one bucket; once the table is partitioned by time, partition pruning does that
#     job better.
#
# Partitioning, when one table outgrows one machine's comfort (hundreds of millions of rows):
#   - PostgreSQL declarative partitioning, PARTITION BY RANGE (ts), one partition per month,
#     created ahead by the maintenance beat. Each partition carries the same (bucket, ts) index.
#     Unique constraints must include the partition key, so the idempotency key becomes
#     (bucket, message_id, index, ts); a message's records always get the same ts (the device's
#     own, or the message's receipt time stored in the inbox), so that key is as strong.
#     The primary key becomes (id, ts).
#   - Queries already filter on ts ranges, so the planner prunes partitions; "latest N" reads
#     the newest partition first.
#   - Retention stays a per-bucket batched DELETE (buckets have different periods), but a
#     partition older than the longest allowed retention is dropped whole (DETACH ... CONCURRENTLY,
#     then DROP), which costs no vacuum.
#   - Past one machine: distribute by bucket (e.g. Citus, hash on bucket_id, time partitions
#     inside each shard), so one bucket's reads and aggregations stay on one node; bucket reads and
#     exports can go to read replicas.


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
        # The bucket's id, not bucket_id (its primary key): select_related("bucket") where it is listed.
        return f"{self.bucket.bucket_id} @ {epoch_ms_text(self.ts)}"
