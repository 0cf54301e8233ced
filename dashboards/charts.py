"""Chart widget data, cheap to refresh. A chart's closed intervals (all but the one `now` falls in)
do not change as new records arrive, so they are aggregated once per interval and kept in the
cache (Redis in production), shared by every viewer of every chart over the same bucket, range
and aggregation; each refresh aggregates only the open interval. Measured with
tests/perf/bench_dashboard.py: a 30-day chart goes from a scan of 86,000 records per refresh to
one of the last few minutes' records.

What the cache does not see: records written into an already closed interval (a device sending
an old `ts`), a range cleared, retention. The chart shows those once the open interval closes (at
most one aggregation interval later: 5 minutes for 24 h, 30 minutes for 7 days, 3 hours for 30
days); the bucket page always reads the database."""
import logging
from typing import Any

from django.core.cache import cache

from buckets.models import Bucket
from buckets.selectors import AGG_STEPS
from buckets.selectors.chart import chart_points, choose_agg

logger = logging.getLogger(__name__)


def chart_data(*, bucket: Bucket, source: dict[str, Any], span: int,
               now: int) -> tuple[list[tuple[int, Any]], str | None, int | None]:
    """(points oldest first, agg or None, step ms or None) for the chart widget's source over
    [now - span, now]."""
    min_ts = now - span
    agg = choose_agg(span) if source["agg"] == "auto" else source["agg"]
    if agg is None:  # an hour of raw records: one indexed read, nothing to keep
        return chart_points(bucket=bucket, min_ts=min_ts, max_ts=now, agg=None)
    step = AGG_STEPS[agg]
    open_start = now - now % step
    key = f"dashboards:chart:{bucket.pk}:{span}:{agg}:{source['agg_type']}:{open_start}"
    closed = _cache_get(key)
    if closed is None:
        closed, _, _ = chart_points(bucket=bucket, min_ts=open_start - span - step, max_ts=open_start - 1,
                                    agg_type=source["agg_type"], agg=agg)
        _cache_set(key, closed, timeout=step // 1000 + 60)
    recent, _, _ = chart_points(bucket=bucket, min_ts=open_start, max_ts=now, agg_type=source["agg_type"], agg=agg)
    first = min_ts - min_ts % step
    return [p for p in closed if p[0] >= first] + recent, agg, step


# The cache only saves work: with Redis down or hung, charts are aggregated in full, not failed.
def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001  any cache backend failure: work without it
        logger.warning("chart cache unavailable (%s): aggregating in full", exc.__class__.__name__)
        return None


def _cache_set(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception as exc:  # noqa: BLE001  any cache backend failure: work without it
        logger.warning("chart cache unavailable (%s)", exc.__class__.__name__)
