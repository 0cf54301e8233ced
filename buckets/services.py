"""Writes on buckets."""
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F

from buckets.models import Bucket, Record
from platform.clock import now_ms
from platform.database.bulk import rows_insert

SOURCES = ("api", "device")
# Calendar months and years vary; retention uses these fixed lengths (documented in the API).
UNIT_MS = {"minutes": 60_000, "hours": 3_600_000, "days": 86_400_000, "weeks": 7 * 86_400_000,
           "months": 30 * 86_400_000, "years": 365 * 86_400_000}


# A row to store: (message id or None, index in the message, ts in epoch ms, val).
RecordRow = tuple[int | None, int, int, dict[str, Any]]


class BucketExists(ValueError):
    pass


def records_store(*, bucket_pk: int, rows: Sequence[RecordRow]) -> int:
    """Stores (message_id, index, ts, val) rows in a bucket; see records_store_many."""
    return records_store_many(rows_by_bucket={bucket_pk: rows})


def records_store_many(*, rows_by_bucket: Mapping[int, Sequence[RecordRow]]) -> int:
    """Stores {bucket_pk: [(message_id, index, ts, val), ...]} with one multi-row INSERT for all
    the buckets (a batch from many devices writes many buckets: one statement, not one each).
    Idempotent: a row whose (bucket, message, index) exists is skipped. A disabled bucket stores
    nothing and counts the skipped rows. Returns how many rows were offered for storing."""
    enabled = set(Bucket.objects.filter(pk__in=list(rows_by_bucket), enabled=True).values_list("pk", flat=True))
    for bucket_pk, rows in rows_by_bucket.items():
        if bucket_pk not in enabled:
            Bucket.objects.filter(pk=bucket_pk).update(skipped_writes=F("skipped_writes") + len(rows))
    rows_insert(Record, ("bucket_id", "message_id", "index", "ts", "val"),
                [(bucket_pk, m, i, ts, val) for bucket_pk, rows in rows_by_bucket.items() if bucket_pk in enabled
                 for m, i, ts, val in rows])
    return sum(len(rows) for pk, rows in rows_by_bucket.items() if pk in enabled)


def _apply_retention(bucket: Bucket, retention: dict[str, Any] | None) -> None:
    if retention is None:
        bucket.retention_period, bucket.retention_unit = None, ""
    else:
        bucket.retention_period, bucket.retention_unit = retention["period"], retention["unit"]


def bucket_create(*, owner: User, bucket_id: str, name: str = "", description: str = "", enabled: bool = True,
                  source: str = "api", retention: dict[str, Any] | None = None) -> Bucket:
    """Creates the owner's bucket. Raises BucketExists if the owner already has that id (checked
    by the database's unique constraint, so two concurrent creates cannot both succeed)."""
    bucket = Bucket(owner=owner, bucket_id=bucket_id, name=name, description=description, enabled=enabled,
                    source=source)
    _apply_retention(bucket, retention)
    try:
        with transaction.atomic():
            bucket.save()
    except IntegrityError:
        raise BucketExists(f"A bucket with id {bucket_id!r} already exists: choose another id.") from None
    return bucket


def bucket_update(*, bucket: Bucket, **changes: Any) -> Bucket:
    """Sets the given fields (name, description, enabled, source, retention) and saves only them."""
    fields = ["modified"]
    for name in ("name", "description", "enabled", "source"):
        if name in changes:
            setattr(bucket, name, changes[name])
            fields.append(name)
    if "retention" in changes:
        _apply_retention(bucket, changes["retention"])
        fields += ["retention_period", "retention_unit"]
    bucket.save(update_fields=fields)
    return bucket


def bucket_delete(*, bucket: Bucket) -> None:
    """Deletes the bucket and all its records atomically. The records go in one DELETE statement
    in the database; none is loaded into Python, whatever their number."""
    with transaction.atomic():
        Record.objects.filter(bucket_id=bucket.pk)._raw_delete(Record.objects.db)
        bucket.delete()


def records_write(*, bucket: Bucket, records: Sequence[tuple[int, int, dict[str, Any]]]) -> tuple[int, int]:
    """Stores (index, ts, val) records written through the API (no device message, so nothing
    deduplicates them). Returns (stored, skipped): a disabled bucket skips and counts them."""
    stored = records_store(bucket_pk=bucket.pk, rows=[(None, i, ts, val) for i, ts, val in records])
    return stored, len(records) - stored


def records_clear(*, bucket: Bucket, min_ts: int | None = None, max_ts: int | None = None) -> int:
    """Deletes the bucket's records with min_ts <= ts <= max_ts (all without bounds), in one
    statement without loading them. Returns how many were deleted."""
    qs = Record.objects.filter(bucket_id=bucket.pk)
    if min_ts is not None:
        qs = qs.filter(ts__gte=min_ts)
    if max_ts is not None:
        qs = qs.filter(ts__lte=max_ts)
    # None when Django knows the range matches nothing (a bound past 64 bits) and runs no DELETE.
    return qs._raw_delete(qs.db) or 0


def records_expire(*, bucket_pk: int, before_ts: int, batch_size: int = 5000, max_batches: int | None = None) -> int:
    """Deletes the bucket's records with ts < before_ts in batches of `batch_size`, each its own
    short transaction, so no lock is held long and ingest goes on meanwhile. Stops after
    `max_batches` (None: until done). Returns how many were deleted. Safe to run concurrently:
    a batch whose rows another run deleted simply deletes fewer."""
    deleted = batches = 0
    while max_batches is None or batches < max_batches:
        ids = Record.objects.filter(bucket_id=bucket_pk, ts__lt=before_ts).order_by("ts").values("id")[:batch_size]
        count = Record.objects.filter(id__in=ids)._raw_delete(Record.objects.db)
        deleted += count
        batches += 1
        if count < batch_size:
            break
    return deleted


def buckets_apply_retention(*, now: int | None = None, batch_size: int = 5000,
                            deadline_s: float = 50.0) -> dict[int, int]:
    """For every bucket with a retention period, deletes its records older than now - period
    (months = 30 days, years = 365 days) in bounded batches. Stops starting new batches after
    `deadline_s` seconds (the next run carries on). Returns {bucket pk: deleted}."""
    now = now_ms() if now is None else now
    started = time.monotonic()
    report = {}
    for pk, period, unit in Bucket.objects.filter(retention_period__isnull=False).exclude(retention_unit="") \
            .values_list("pk", "retention_period", "retention_unit"):
        assert period is not None  # the filter above
        before = now - period * UNIT_MS[unit]
        deleted = 0
        while time.monotonic() - started < deadline_s:
            count = records_expire(bucket_pk=pk, before_ts=before, batch_size=batch_size, max_batches=1)
            deleted += count
            if count < batch_size:
                break
        report[pk] = deleted
    return report
