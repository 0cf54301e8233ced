"""Aggregation checked against values computed here. A parity suite: `make test` runs it on
PostgreSQL (SQL) and again on SQLite (the Python path), so both paths answer the same."""
import random

import pytest

from buckets.selectors import AGG_STEPS, records_aggregate
from buckets.selectors import aggregate as aggregate_module
from buckets.services import records_store
from platform import backends

pytestmark = pytest.mark.parity

HOUR = 3_600_000


@pytest.fixture
def data(bucket):
    """Three hours of points with numeric, string, boolean, nested and missing fields, stored out
    of order; returns the (ts, val) list."""
    rng = random.Random(4)
    points = []
    for i in range(90):
        ts = 10 * HOUR + i * 2 * 60_000 + rng.randrange(1000)  # one every ~2 minutes
        val = {"t": round(rng.uniform(-10, 30), 3), "n": rng.randrange(100), "s": "text", "b": True,
               "o": {"x": 1}}
        if i % 7 == 0:
            del val["n"]
        if i % 11 == 0:
            val["n"] = "not a number"
        points.append((ts, val))
    # a tie on ts: insertion order decides first/last
    points.append((points[-1][0], {"t": 99.5, "n": 7}))
    order = list(range(len(points)))
    rng.shuffle(order[:-1])
    stored = [points[i] for i in order]
    records_store(bucket_pk=bucket.pk, rows=[(None, i, ts, val) for i, (ts, val) in enumerate(stored)])
    return stored


def expected(stored, agg, agg_type, sort="desc", items=100, lo=None, hi=None):
    step = AGG_STEPS[agg]
    by_interval = {}
    # stored order is insertion order, which breaks ties on ts
    for position, (ts, val) in sorted(enumerate(stored), key=lambda p: (p[1][0], p[0])):
        if (lo is not None and ts < lo) or (hi is not None and ts > hi):
            continue
        fields = by_interval.setdefault(ts - ts % step, {})
        for key, value in val.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                fields.setdefault(key, []).append(value)
    functions = {"mean": lambda v: sum(v) / len(v), "min": min, "max": max, "sum": sum, "count": len,
                 "first": lambda v: v[0], "last": lambda v: v[-1]}
    starts = sorted(by_interval, reverse=sort == "desc")[:items]
    return [{"ts": t, "val": {k: functions[agg_type](v) for k, v in sorted(by_interval[t].items())}}
            for t in starts if by_interval[t]]


# The SQL path has two forms (one column per key, and jsonb_each past many keys); the Python path one.
@pytest.fixture(params=["database", "database-by-rows"] if backends.AGGREGATE_SQL else ["database"])
def aggregate(request, monkeypatch):
    """records_aggregate as this database runs it, in each of its forms."""
    if request.param == "database-by-rows":
        monkeypatch.setattr(aggregate_module, "_MAX_COLUMNS", 0)
    return records_aggregate


def _approx(points):
    return [{"ts": p["ts"], "val": {k: pytest.approx(v, rel=1e-9) for k, v in p["val"].items()}} for p in points]


@pytest.mark.parametrize("agg_type", ["mean", "min", "max", "sum", "count", "first", "last"])
@pytest.mark.parametrize("agg", ["5m", "15m", "1h", "1d"])
def test_every_agg_type_matches_values_computed_here(bucket, data, aggregate, agg, agg_type):
    got = aggregate(bucket=bucket, agg=agg, agg_type=agg_type)
    assert got == _approx(expected(data, agg, agg_type))
    assert all("s" not in p["val"] and "b" not in p["val"] and "o" not in p["val"] for p in got)


@pytest.mark.parametrize("sort", ["asc", "desc"])
def test_items_sort_and_range(bucket, data, aggregate, sort):
    lo, hi = 10 * HOUR + 20 * 60_000, 12 * HOUR + 5 * 60_000
    got = aggregate(bucket=bucket, agg="15m", agg_type="mean", items=4, min_ts=lo, max_ts=hi, sort=sort)
    assert len(got) == 4
    assert got == _approx(expected(data, "15m", "mean", sort=sort, items=4, lo=lo, hi=hi))


def test_whole_sums_come_back_as_integers(bucket, aggregate):
    records_store(bucket_pk=bucket.pk, rows=[(None, 0, 1000, {"a": 2}), (None, 1, 2000, {"a": 3})])
    assert aggregate(bucket=bucket, agg="1h", agg_type="sum") == [{"ts": 0, "val": {"a": 5}}]
    assert aggregate(bucket=bucket, agg="1h", agg_type="mean") == [{"ts": 0, "val": {"a": 2.5}}]


def test_the_mean_of_very_large_and_small_numbers(bucket, aggregate):
    # PostgreSQL's avg also sums the squares: 1e200 beside 0 overflowed it, a 500 on every chart.
    records_store(bucket_pk=bucket.pk, rows=[(None, 0, 1000, {"v": 1e200}), (None, 1, 2000, {"v": 0}),
                                             (None, 2, 3000, {"w": 1e300}), (None, 3, 4000, {"w": 1e-300})])
    assert aggregate(bucket=bucket, agg="1h", agg_type="mean") == [{"ts": 0, "val": {"v": 5e199, "w": 5e299}}]


def test_empty_bucket_and_non_numeric_records(bucket, aggregate):
    assert aggregate(bucket=bucket, agg="1h", agg_type="mean") == []
    records_store(bucket_pk=bucket.pk, rows=[(None, 0, 1000, {"s": "x"}), (None, 1, HOUR + 1, {"a": 1})])
    assert aggregate(bucket=bucket, agg="1h", agg_type="count") == [{"ts": HOUR, "val": {"a": 1}}]


def test_api_aggregation_defaults_to_mean(alice, api, bucket, data):
    response = api(alice).get("/v1/users/alice/buckets/b1/data", {"agg": "1h"})
    assert response.status_code == 200
    assert response.json() == _approx(expected(data, "1h", "mean"))
    counted = api(alice).get("/v1/users/alice/buckets/b1/data", {"agg": "1h", "agg_type": "count", "sort": "asc"})
    assert counted.json() == expected(data, "1h", "count", sort="asc")
