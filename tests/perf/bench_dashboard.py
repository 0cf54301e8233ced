"""Dashboard refresh benchmark: what one live refresh of a 12-widget dashboard costs.

    PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_dashboard.py [--records N]

Uses a throwaway database (h_dashboard_perf on the PostgreSQL of BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432), dropped at the end. Loads N records (default 500,000, one
every 30 s, ending now: ~174 days) into one bucket with COPY, builds a dashboard of 12 widgets
over it (3 charts over 24 h / 7 d / 30 d, 2 values, 2 gauges, a map, a table, a status, a
property, a downlink button) and times, in process (Django test client, signed in, no network):
the whole page, a refresh when nothing changed (the page's stamp is current: 204), and a refresh
after new data (every widget body re-rendered in one response). Then one chart widget alone over
24 h and over 365 days, cache cold and warm ("a year as fast as a day"). Prints queries and the
median of several runs, with a machine baseline measured in the same run. Not a pass/fail test.
"""
import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time

from tests.perf.stack.baseline import machine_baseline

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB", "h_dashboard_perf")
STEP_MS = 30_000


def _env():
    os.environ.update({"DATABASE_URL": f"{PG}/{DB_NAME}", "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
                       "ALLOWED_HOSTS": "testserver", "CACHE_URL": "locmem://", "CONN_MAX_AGE": "0"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
    import django
    django.setup()


def _admin_sql(*statements):
    import psycopg
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


WIDGETS = [
    {"type": "chart", "title": "Day", "source": {"bucket": "big", "fields": ["temperature"], "range": "24h"}},
    {"type": "chart", "title": "Week", "source": {"bucket": "big", "range": "7d"}},
    {"type": "chart", "title": "Month", "source": {"bucket": "big", "fields": ["humidity"], "range": "30d"}},
    {"type": "value", "title": "Temperature", "source": {"bucket": "big", "fields": ["temperature"]}},
    {"type": "value", "title": "Humidity", "source": {"bucket": "big", "fields": ["humidity"]}},
    {"type": "gauge", "title": "T gauge", "source": {"bucket": "big", "fields": ["temperature"]}},
    {"type": "gauge", "title": "H gauge", "source": {"bucket": "big", "fields": ["humidity"]}},
    {"type": "map", "title": "Track", "source": {"bucket": "big", "range": "24h"}},
    {"type": "table", "title": "Latest", "source": {"bucket": "big", "items": 10}},
    {"type": "status", "title": "Sensor", "source": {"device": "d1"}},
    {"type": "property", "title": "Config", "source": {"device": "d1", "property": "config"}},
    {"type": "downlink", "title": "LED", "source": {"device": "d1"}, "options": {"payload": {"led": 1}}},
]


def load(records):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from buckets.models import Bucket
    from dashboards.services import dashboard_create
    from devices.services import device_create, property_set
    from platform.clock import now_ms

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-1")
    bucket = Bucket.objects.create(owner=user, bucket_id="big")
    device, _ = device_create(owner=user, device_id="d1", write_bucket=bucket)
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    rng = random.Random(1)
    start = now_ms() - records * STEP_MS
    started = time.perf_counter()
    connection.ensure_connection()
    with (connection.connection.cursor() as cursor,
          cursor.copy('COPY buckets_record (bucket_id, message_id, "index", ts, val) FROM STDIN') as copy):
        lines = []
        for i in range(records):
            val = {"temperature": round(20 + rng.gauss(0, 3), 2), "humidity": rng.randrange(30, 90),
                   "lat": 41.38 + i % 500 / 10_000, "lon": 2.17 + i % 300 / 10_000}
            lines.append(f"{bucket.pk}\t{i}\t0\t{start + i * STEP_MS}\t{json.dumps(val)}\n")
            if len(lines) == 10_000:
                copy.write("".join(lines))
                lines = []
        copy.write("".join(lines))
    connection.connection.commit()
    load_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE buckets_record")
    return user, bucket, dashboard_create(owner=user, dashboard_id="home", widgets=WIDGETS), load_s


def measure(client, url, expect, repeat=7):
    """(queries of the first run, its ms, median ms of `repeat` more runs, bytes)."""
    from django.db import connection

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        response = client.get(url, HTTP_HX_REQUEST="true")
    first_ms = (time.perf_counter() - started) * 1000
    queries = executed
    assert response.status_code == expect, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, HTTP_HX_REQUEST="true")
        times.append((time.perf_counter() - started) * 1000)
    return len(queries), first_ms, statistics.median(times), len(response.content)


CHART_RANGES = ("1h", "24h", "30d", "365d")


def chart_ranges(dashboard, user):
    """One chart widget alone over each range: its data with the chart cache cold (every closed
    interval aggregated in PostgreSQL), then warm (only the open interval), median of 5."""
    from django.core.cache import cache

    from dashboards.selectors import dashboard_data
    from dashboards.widgets import widgets_clean
    print("one chart widget's data by range (selectors, no rendering), cache cold / warm:")
    for span in CHART_RANGES:
        dashboard.widgets = widgets_clean(owner=user, widgets=[
            {"type": "chart", "source": {"bucket": "big", "fields": ["temperature"], "range": span}}])
        cache.clear()
        started = time.perf_counter()
        points = dashboard_data(dashboard=dashboard)["w1"].get("points", [])
        cold_ms = (time.perf_counter() - started) * 1000
        warm = []
        for _ in range(5):
            started = time.perf_counter()
            dashboard_data(dashboard=dashboard)
            warm.append((time.perf_counter() - started) * 1000)
        print(f"  chart {span}: {len(points)} points, cold {cold_ms:.1f} ms, warm {statistics.median(warm):.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000)
    args = parser.parse_args()
    _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', f'CREATE DATABASE "{DB_NAME}"')
    try:
        _env()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from dashboards.selectors import dashboard_stamp

        call_command("migrate", verbosity=0)
        user, _bucket, dashboard, load_s = load(args.records)
        loop_ms, count_ms = machine_baseline(PG)
        print(f"Dashboard benchmark: {len(WIDGETS)} widgets over one bucket of {args.records:,} records, PostgreSQL "
              f"{connection.cursor().connection.info.server_version}, Python {sys.version.split()[0]}")
        print(f"baseline: Python 10M-iteration add loop {loop_ms:.0f} ms; "
              f"PostgreSQL count(*) of 1M generated rows {count_ms:.0f} ms")
        print(f"load (COPY): {load_s:.1f} s")
        client = Client()
        client.force_login(user)
        stamp = dashboard_stamp(dashboard=dashboard)
        cases = [("whole page (first: chart caches cold)", "/dashboards/home/", 200),
                 ("refresh, nothing changed (204)", f"/dashboards/home/refresh/?v={stamp}", 204),
                 ("refresh after new data (all 12 bodies)", "/dashboards/home/refresh/?v=old", 200)]
        for name, url, expect in cases:
            queries, first, ms, size = measure(client, url, expect)
            print(f"{name}: {queries} queries, first {first:.1f} ms, then median {ms:.1f} ms, {size / 1000:.0f} kB")
        print("(the queries include the session and user look-ups of a signed-in request)")
        from dashboards.selectors import dashboard_data
        from dashboards.widgets import widgets_clean
        print("data of each widget alone (selectors, no rendering; chart caches warm):")
        for widget in WIDGETS:
            dashboard.widgets = widgets_clean(owner=user, widgets=[widget])
            started = time.perf_counter()
            for _ in range(3):
                dashboard_data(dashboard=dashboard)
            print(f"  {widget['type']} {widget['title']!r}: {(time.perf_counter() - started) / 3 * 1000:.1f} ms")
        chart_ranges(dashboard, user)
    finally:
        from django.db import connections
        connections.close_all()
        _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
