"""Aggregation: one point per interval, numeric top-level fields of `val` aggregated.

What each `agg_type` means, per field and per interval (fields whose value is not a JSON number
(strings, booleans, null, objects, arrays) are ignored, and a field counts only in the records
where it is a number):
  mean, min, max, sum  over that field's numeric values;
  count                how many records in the interval have a numeric value for that field;
  first, last          the value in the earliest / latest such record (ties on ts: the record
                       stored first / last).
The point's `ts` is the interval start, `ts - ts % step` in epoch ms (intervals are aligned on
the epoch, UTC). `items` counts intervals that hold records, newest first unless sort=asc; an
interval whose records hold no number is left out, so a page can have fewer points than `items`.
Numbers come back as integers when they are whole (so `sum` of integers is an integer).

With backends.AGGREGATE_SQL (PostgreSQL; platform/backends.py says why) this is computed in SQL
(one column per top-level key of the window); otherwise (the embedded SQLite mode) the range is
walked in ts order in Python, with the same answers (tests/buckets/test_aggregate.py runs on both).
"""
from typing import Any

from django.db import connection

from buckets.models import Bucket, Record
from buckets.selectors.query import records_in_range
from platform import backends

AGG_STEPS = {
    "5m": 5 * 60_000, "15m": 15 * 60_000, "30m": 30 * 60_000,
    "1h": 3_600_000, "3h": 3 * 3_600_000, "6h": 6 * 3_600_000, "12h": 12 * 3_600_000,
    "1d": 86_400_000, "1w": 7 * 86_400_000,
}
AGG_TYPES = ("mean", "min", "max", "sum", "count", "first", "last")

_MAX_TS = 2**63 - 1


# (interval start, {field: aggregate}) in the order asked for.
Points = list[tuple[int, dict[str, Any]]]


def _number(value: Any, agg_type: str) -> int | float:
    if agg_type == "count":
        return int(value)
    value = float(value)
    # Whole numbers as integers: PostgreSQL sums in double precision, Python may not; this makes
    # both give the same JSON.
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def records_aggregate(*, bucket: Bucket, agg: str, agg_type: str = "mean", items: int = 100,
                      min_ts: int | None = None, max_ts: int | None = None,
                      sort: str = "desc") -> list[dict[str, Any]]:
    """[{"ts": interval start, "val": {field: aggregate}}] for up to `items` intervals (see the
    module docstring for the exact meaning). Read-only; raises KeyError for an unknown agg or
    agg_type (the API validates them first)."""
    step = AGG_STEPS[agg]
    if agg_type not in AGG_TYPES:
        raise KeyError(agg_type)
    lo = 0 if min_ts is None else min_ts
    hi = _MAX_TS if max_ts is None else max_ts
    if backends.AGGREGATE_SQL:
        rows = _aggregate_postgresql(bucket.pk, step, agg_type, items, lo, hi, sort)
    else:
        rows = _aggregate_python(bucket, step, agg_type, items, lo, hi, sort)
    return [{"ts": t, "val": {k: _number(v, agg_type) for k, v in fields.items()}} for t, fields in rows]


# --- PostgreSQL --------------------------------------------------------------------------------

# The window holding the `items` newest (or oldest) intervals that have records, found by a
# skip scan: one index probe per interval instead of reading the whole range, so "the last 100
# hours" costs the same at 10 million records as at a thousand.
_WINDOW_DESC = """
WITH RECURSIVE iv(t, n) AS (
    SELECT m - m %% %(step)s, 1 FROM (
        SELECT max(ts) AS m FROM {table} WHERE bucket_id = %(bucket)s AND ts >= %(lo)s AND ts <= %(hi)s
    ) first_probe WHERE m IS NOT NULL
  UNION ALL
    SELECT x - x %% %(step)s, n + 1 FROM (
        SELECT (SELECT max(ts) FROM {table} WHERE bucket_id = %(bucket)s AND ts >= %(lo)s AND ts < iv.t) AS x, iv.n
        FROM iv WHERE iv.n < %(items)s
    ) probe WHERE x IS NOT NULL
)
SELECT min(t) FROM iv
"""
_WINDOW_ASC = """
WITH RECURSIVE iv(t, n) AS (
    SELECT m - m %% %(step)s, 1 FROM (
        SELECT min(ts) AS m FROM {table} WHERE bucket_id = %(bucket)s AND ts >= %(lo)s AND ts <= %(hi)s
    ) first_probe WHERE m IS NOT NULL
  UNION ALL
    SELECT x - x %% %(step)s, n + 1 FROM (
        SELECT (SELECT min(ts) FROM {table} WHERE bucket_id = %(bucket)s AND ts >= iv.t + %(step)s AND ts <= %(hi)s)
               AS x, iv.n
        FROM iv WHERE iv.n < %(items)s
    ) probe WHERE x IS NOT NULL
)
SELECT max(t) + %(step)s - 1 FROM iv
"""
# The fields to aggregate: the distinct top-level keys in the window. A record whose val is not
# an object (never written by this code, but possible through the admin) counts as {}.
_KEYS = """
SELECT DISTINCT k FROM {table} r
CROSS JOIN LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(r.val) = 'object' THEN r.val ELSE '{{}}'::jsonb END) k
WHERE r.bucket_id = %(bucket)s AND r.ts >= %(lo)s AND r.ts <= %(hi)s
"""
# Then one column per field, `val -> key` read straight from each row: measured at 1M records,
# this plus the key scan is about 2.5 times faster than unnesting every row with jsonb_each and
# grouping by (interval, key). Past _MAX_COLUMNS fields, the jsonb_each form is used instead.
# The mean is the sum over the count, as the Python path computes it: PostgreSQL's avg(float8)
# also sums the squares (for the variance it shares code with), which overflows once numbers above
# about 1e154 are among different ones, and a device's two values would break every chart of the
# bucket with a 500.
_COLUMNS = {
    "mean": "sum({number}) / NULLIF(count({number}), 0)",
    "min": "min({number})",
    "max": "max({number})",
    "sum": "sum({number})",
    "count": "NULLIF(count({number}), 0)",
    "first": "(array_agg({number} ORDER BY r.ts, r.id) FILTER (WHERE {is_number}))[1]",
    "last": "(array_agg({number} ORDER BY r.ts DESC, r.id DESC) FILTER (WHERE {is_number}))[1]",
}
_BY_COLUMNS = """
SELECT r.ts - r.ts %% %(step)s AS t, {columns}
FROM {table} r
WHERE r.bucket_id = %(bucket)s AND r.ts >= %(lo)s AND r.ts <= %(hi)s
GROUP BY 1
ORDER BY 1 {direction}
"""
_MAX_COLUMNS = 100
_EXPRESSIONS = {
    "mean": "sum((kv.value)::float8) / count(*)",
    "min": "min((kv.value)::float8)",
    "max": "max((kv.value)::float8)",
    "sum": "sum((kv.value)::float8)",
    "count": "count(*)",
    "first": "(array_agg((kv.value)::float8 ORDER BY r.ts, r.id))[1]",
    "last": "(array_agg((kv.value)::float8 ORDER BY r.ts DESC, r.id DESC))[1]",
}
_BY_ROWS = """
SELECT r.ts - r.ts %% %(step)s AS t, kv.key, {expression}
FROM {table} r
CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r.val) = 'object' THEN r.val ELSE '{{}}'::jsonb END) kv
WHERE r.bucket_id = %(bucket)s AND r.ts >= %(lo)s AND r.ts <= %(hi)s AND jsonb_typeof(kv.value) = 'number'
GROUP BY 1, 2
ORDER BY 1 {direction}, 2
"""


def _aggregate_postgresql(bucket_pk: int, step: int, agg_type: str, items: int, lo: int, hi: int,
                          sort: str) -> Points:
    table = connection.ops.quote_name(Record._meta.db_table)
    direction = "ASC" if sort == "asc" else "DESC"
    params: dict[str, Any] = {"bucket": bucket_pk, "step": step, "items": items, "lo": lo, "hi": hi}
    with connection.cursor() as cursor:
        cursor.execute((_WINDOW_ASC if sort == "asc" else _WINDOW_DESC).format(table=table), params)
        bound = cursor.fetchone()[0]
        if bound is None:
            return []
        if sort == "asc":
            params["hi"] = min(hi, bound)
        else:
            params["lo"] = max(lo, bound)
        cursor.execute(_KEYS.format(table=table), params)
        keys = sorted(key for (key,) in cursor)
        if not keys:
            # Only {} in the window: no field to aggregate (and no column for the query below).
            return []
        points: Points = []
        if len(keys) <= _MAX_COLUMNS:
            columns = []
            for i, key in enumerate(keys):
                params[f"k{i}"] = key
                field = f"(r.val -> %(k{i})s)"
                is_number = f"jsonb_typeof{field} = 'number'"
                number = f"(CASE WHEN {is_number} THEN {field}::float8 END)"
                columns.append(_COLUMNS[agg_type].format(number=number, is_number=is_number))
            cursor.execute(_BY_COLUMNS.format(table=table, columns=", ".join(columns), direction=direction), params)
            for t, *values in cursor:
                fields = {key: value for key, value in zip(keys, values) if value is not None}
                if fields:
                    points.append((t, fields))
            return points
        cursor.execute(_BY_ROWS.format(table=table, expression=_EXPRESSIONS[agg_type], direction=direction), params)
        for t, key, value in cursor:
            if not points or points[-1][0] != t:
                points.append((t, {}))
            points[-1][1][key] = value
    return points


# --- Other databases (SQLite) ------------------------------------------------------------------

def _aggregate_python(bucket: Bucket, step: int, agg_type: str, items: int, lo: int, hi: int,
                      sort: str) -> Points:
    ascending = sort == "asc"
    in_range = records_in_range(bucket=bucket, min_ts=lo, max_ts=hi)
    rows = in_range.order_by(*(("ts", "id") if ascending else ("-ts", "-id"))).values_list("ts", "val")
    points: Points = []
    seen = 0
    current: int | None = None
    fields: dict[str, list[float]] = {}

    def close() -> None:
        if fields and current is not None:
            points.append((current, {k: _finish(acc, agg_type) for k, acc in sorted(fields.items())}))

    for ts, val in rows.iterator(chunk_size=2000):
        t = ts - ts % step
        if t != current:
            if current is not None:
                close()
            seen += 1
            if seen > items:
                current = None
                break
            current, fields = t, {}
        if not isinstance(val, dict):
            continue
        for key, value in val.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            value = float(value)
            acc = fields.get(key)
            if acc is None:
                # count, sum, min, max, first, last (in ts order, whatever the walking direction)
                fields[key] = [1, value, value, value, value, value]
                continue
            acc[0] += 1
            acc[1] += value
            acc[2] = min(acc[2], value)
            acc[3] = max(acc[3], value)
            if ascending:
                acc[5] = value
            else:
                acc[4] = value
    if current is not None:
        close()
    return points


def _finish(acc: list[float], agg_type: str) -> float:
    count, total, low, high, first, last = acc
    return {"mean": total / count, "min": low, "max": high, "sum": total, "count": count,
            "first": first, "last": last}[agg_type]
