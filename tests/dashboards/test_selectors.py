"""What each widget type shows (dashboards.selectors.dashboard_data), the version stamp, and the
share-secret look-up."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from buckets.models import Record
from buckets.selectors.query import bucket_fields
from dashboards import selectors, services
from devices.services import property_set
from platform.clock import now_ms

pytestmark = pytest.mark.django_db


def test_each_widget_type(dashboard, records, device):
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    data = selectors.dashboard_data(dashboard=dashboard)
    chart = data["chart"]
    assert chart["agg"] == "5m" and chart["fields"] == ["temperature"]
    assert chart["points"] and all("temperature" in val for _, val in chart["points"])
    assert data["value"]["value"] == 20 and data["value"]["ts"] == records[0].ts
    assert data["gauge"]["value"] == 40
    assert data["status"] == {"connected": False, "last_seen": None, "since": None}
    track = data["map"]["track"]
    assert len(track) == 30 and track[-1][1] == (41.38, 2.17) and track[0][0] < track[-1][0]
    table = data["table"]
    assert table["columns"] == ["humidity", "lat", "lon", "temperature"] and len(table["rows"]) == 5
    assert table["rows"][0][1] == [40, 41.38, 2.17, 20]
    assert data["prop"]["value"] == 60
    assert data["led"] == {"device": "d1"}


def test_value_finds_an_older_record_holding_the_field(dashboard, bucket, records):
    Record.objects.bulk_create([Record(bucket=bucket, index=0, ts=now_ms() + i, val={"other": i}) for i in range(150)])
    assert selectors.dashboard_data(dashboard=dashboard)["value"]["value"] == 20


def test_a_widget_whose_bucket_is_gone_says_so(dashboard, bucket):
    bucket.delete()
    data = selectors.dashboard_data(dashboard=dashboard)
    assert "no longer exists" in data["chart"]["missing"] and data["status"]["connected"] is False


def test_the_whole_dashboard_is_a_bounded_number_of_queries(dashboard, records):
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_data(dashboard=dashboard)
    # buckets, devices, properties, one latest read for value+gauge+table, the chart's closed
    # intervals (window, keys, columns) and open interval (the same three), map, the bucket's field
    # names (for colours that do not depend on the range)
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_data(dashboard=dashboard)
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]  # closed intervals and field names cached
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_stamp(dashboard=dashboard)
    assert len(queries) == 2


def test_the_stamp_changes_with_new_data_only(dashboard, bucket, device):
    now = now_ms()
    first = selectors.dashboard_stamp(dashboard=dashboard, now=now)
    assert selectors.dashboard_stamp(dashboard=dashboard, now=now) == first
    Record.objects.create(bucket=bucket, ts=now, val={"temperature": 1})
    second = selectors.dashboard_stamp(dashboard=dashboard, now=now)
    assert second != first
    property_set(device_id=device.pk, name="config", value=1)
    assert selectors.dashboard_stamp(dashboard=dashboard, now=now) != second


def test_share_lookup(dashboard):
    secret = services.share_create(dashboard=dashboard)
    assert selectors.dashboard_for_share(secret=secret) == dashboard
    assert selectors.dashboard_for_share(secret=secret + "x") is None
    assert selectors.dashboard_for_share(secret="") is None
    services.share_revoke(dashboard=dashboard)
    assert selectors.dashboard_for_share(secret=secret) is None


def test_bucket_fields_come_from_recent_records(bucket, records):
    assert bucket_fields(bucket=bucket) == ["humidity", "lat", "lon", "temperature"]


def test_chart_keeps_closed_intervals_and_reads_only_the_open_one(dashboard, bucket, records):
    from django.core.cache import cache

    from buckets.selectors.chart import chart_points

    cache.clear()
    now = now_ms()
    widget = dashboard.widget("chart")
    first = selectors.dashboard_data(dashboard=dashboard, now=now)["chart"]
    direct, _, _ = chart_points(bucket=bucket, min_ts=now - 86_400_000, max_ts=now, agg="5m")
    assert [ts for ts, _ in first["points"]] == [ts for ts, _ in direct]
    assert [v["temperature"] for _, v in first["points"]] == [v["temperature"] for _, v in direct]
    Record.objects.create(bucket=bucket, ts=now, val={"temperature": 500})
    with CaptureQueriesContext(connection) as queries:
        again = selectors.dashboard_data(dashboard=dashboard, now=now + 1)["chart"]
    assert again["points"][-1][1]["temperature"] > first["points"][-1][1]["temperature"]
    assert widget["source"]["range"] == "24h" and len(queries) <= 8


def test_charts_work_without_the_cache(dashboard, records, settings, caplog):
    # A cache server that refuses connections (Django's setting_changed handler swaps the cache):
    # the chart is aggregated in full, not a 500.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    data = selectors.dashboard_data(dashboard=dashboard)
    assert data["chart"]["points"]
    assert "chart cache unavailable" in caplog.text
