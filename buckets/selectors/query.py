"""Buckets through their owner, and plain record reads."""
import logging
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import QuerySet

from buckets.models import Bucket, Record
from platform.auth import found_or_404

logger = logging.getLogger(__name__)
FIELDS_SAMPLE, FIELDS_CACHE_S = 50, 300


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


def bucket_fields(*, bucket: Bucket, sample: int = FIELDS_SAMPLE) -> list[str]:
    """The top-level field names of a bucket's newest records, in name order (one indexed read)."""
    names: dict[str, None] = {}
    for record in records_query(bucket=bucket, items=sample):
        names.update(dict.fromkeys(record["val"] if isinstance(record["val"], dict) else ()))
    return sorted(names)


def bucket_fields_cached(*, bucket: Bucket) -> list[str]:
    """bucket_fields, kept a few minutes in the cache: charts read it on every refresh only to give
    each field the same colour in every range. A field new since then gets its colour from the
    fields of the range until the entry expires. The key holds the creation time because test
    databases reuse pks; with the cache down the read is done each time."""
    key = f"buckets:fields:{bucket.pk}:{bucket.created.timestamp() if bucket.created else ''}"
    try:
        names = cache.get(key)
    except Exception as exc:  # noqa: BLE001  any cache backend failure: read the records instead
        logger.warning("fields cache unavailable (%s)", exc.__class__.__name__)
        return bucket_fields(bucket=bucket)
    if names is None:
        names = bucket_fields(bucket=bucket)
        try:
            cache.set(key, names, timeout=FIELDS_CACHE_S)
        except Exception as exc:  # noqa: BLE001
            logger.warning("fields cache unavailable (%s)", exc.__class__.__name__)
    return names
