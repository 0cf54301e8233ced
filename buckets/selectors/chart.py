"""The points of a chart over a time range, for the bucket page and dashboard chart widgets alike:
aggregated in the database past an hour (so a year costs about what a day does), raw below."""
from typing import Any

from buckets.models import Bucket
from buckets.selectors.aggregate import AGG_STEPS, records_aggregate
from buckets.selectors.query import records_query

CHART_POINTS = 300  # enough to read a trend on a phone or a laptop; the SVG stays small
RAW_LIMIT = 1000


def choose_agg(span_ms: int) -> str | None:
    """The smallest interval that keeps the chart under CHART_POINTS points; None = raw records."""
    if span_ms <= 3_600_000:
        return None
    for name, step in sorted(AGG_STEPS.items(), key=lambda item: item[1]):
        if span_ms / step <= CHART_POINTS:
            return name
    return "1w"


def chart_points(*, bucket: Bucket, min_ts: int, max_ts: int, agg_type: str = "mean",
                 agg: str | None = "auto") -> tuple[list[tuple[int, Any]], str | None, int | None]:
    """(points [(ts, val)] oldest first, agg used or None for raw records, step in ms or None).
    `agg="auto"` picks the interval with choose_agg."""
    if agg == "auto":
        agg = choose_agg(max_ts - min_ts)
    if agg:
        step = AGG_STEPS[agg]
        rows = records_aggregate(bucket=bucket, agg=agg, agg_type=agg_type, items=(max_ts - min_ts) // step + 2,
                                 min_ts=min_ts, max_ts=max_ts, sort="asc")
        return [(p["ts"], p["val"]) for p in rows], agg, step
    rows = records_query(bucket=bucket, items=RAW_LIMIT, min_ts=min_ts, max_ts=max_ts, sort="desc")[::-1]
    return [(p["ts"], p["val"]) for p in rows], None, None
