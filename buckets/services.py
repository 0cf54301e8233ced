"""Writes on buckets."""
from django.db.models import F

from buckets.models import Bucket, Record


def records_store(*, bucket_pk, rows):
    """Stores (message_id, index, ts, val) rows in a bucket with one multi-row INSERT.
    Idempotent: a row whose (bucket, message, index) exists is skipped. A disabled bucket stores
    nothing and counts the skipped rows. Returns how many rows were offered for storing."""
    if not Bucket.objects.filter(pk=bucket_pk, enabled=True).exists():
        Bucket.objects.filter(pk=bucket_pk).update(skipped_writes=F("skipped_writes") + len(rows))
        return 0
    Record.objects.bulk_create(
        [Record(bucket_id=bucket_pk, message_id=m, index=i, ts=ts, val=val) for m, i, ts, val in rows],
        ignore_conflicts=True, batch_size=1000,
    )
    return len(rows)
