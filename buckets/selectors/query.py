"""Buckets through their owner, and plain record reads."""
from __future__ import annotations

from typing import TYPE_CHECKING

from buckets.models import Bucket, Record
from platform.auth import found_or_404

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def buckets_list(*, owner):
    return Bucket.objects.filter(owner=owner).order_by("bucket_id")


def bucket_for_owner_or_404(owner: User, bucket_id: str) -> Bucket:
    """The owner's bucket, or Http404 (another user's bucket does not exist for this owner): the
    one look-up of the bucket pages and the API."""
    return found_or_404(Bucket.objects.filter(owner=owner, bucket_id=bucket_id).first(), "bucket")


def records_in_range(*, bucket, min_ts=None, max_ts=None):
    """The bucket's records with min_ts <= ts <= max_ts (either bound optional); served by the
    (bucket, ts) index."""
    qs = Record.objects.filter(bucket=bucket)
    if min_ts is not None:
        qs = qs.filter(ts__gte=min_ts)
    if max_ts is not None:
        qs = qs.filter(ts__lte=max_ts)
    return qs


def records_query(*, bucket, items=100, min_ts=None, max_ts=None, sort="desc"):
    """Up to `items` records as [{"ts": ms, "val": {...}}], newest first unless sort="asc". Ties on
    ts are broken by insertion order so pages are stable."""
    order = ("ts", "id") if sort == "asc" else ("-ts", "-id")
    rows = records_in_range(bucket=bucket, min_ts=min_ts, max_ts=max_ts).order_by(*order)
    return [{"ts": ts, "val": val} for ts, val in rows.values_list("ts", "val")[:items]]
