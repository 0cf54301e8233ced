"""Buckets through their owner, and plain record reads."""
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from buckets.models import Bucket, Record
from platform.auth import found_or_404


def buckets_list(*, owner: User) -> QuerySet[Bucket]:
    return Bucket.objects.filter(owner=owner).order_by("bucket_id")


def bucket_for_owner_or_404(owner: User, bucket_id: str) -> Bucket:
    """The owner's bucket, or Http404 (another user's bucket does not exist for this owner): the
    one look-up of the bucket pages and the API."""
    return found_or_404(Bucket.objects.filter(owner=owner, bucket_id=bucket_id).first(), "bucket")


def records_in_range(*, bucket: Bucket, min_ts: int | None = None, max_ts: int | None = None) -> QuerySet[Record]:
    """The bucket's records with min_ts <= ts <= max_ts (either bound optional); served by the
    (bucket, ts) index."""
    qs = Record.objects.filter(bucket=bucket)
    if min_ts is not None:
        qs = qs.filter(ts__gte=min_ts)
    if max_ts is not None:
        qs = qs.filter(ts__lte=max_ts)
    return qs


def records_query(*, bucket: Bucket, items: int = 100, min_ts: int | None = None, max_ts: int | None = None,
                  sort: str = "desc") -> list[dict[str, Any]]:
    """Up to `items` records as [{"ts": ms, "val": {...}}], newest first unless sort="asc". Ties on
    ts are broken by insertion order so pages are stable."""
    order = ("ts", "id") if sort == "asc" else ("-ts", "-id")
    rows = records_in_range(bucket=bucket, min_ts=min_ts, max_ts=max_ts).order_by(*order)
    return [{"ts": ts, "val": val} for ts, val in rows.values_list("ts", "val")[:items]]
