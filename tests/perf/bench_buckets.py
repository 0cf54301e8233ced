"""Buckets benchmark: 1,000,000 records in one bucket on PostgreSQL, timed through the REST API.

    PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_buckets.py [--records N]

Uses a throwaway database (h_buckets_perf on the PostgreSQL of BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432), dropped at the end. Prints: a machine baseline measured in
the same run, load time, the latest 1000 records, a 1-week range aggregated by 1h, the full range
aggregated by 1d (every agg_type), and for each export format the rows per second and the peak
memory (VmHWM) of the process that streamed it, measured in a child process. Not a pass/fail test
(pytest does not collect it: the name does not start with test_).
"""
import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB", "h_buckets_perf")
STEP_MS = 30_000  # one record every 30 s: 1M records span ~347 days
START_MS = 1_700_000_000_000


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


def _vm(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024  # MB
    return -1


def _client(token):
    from rest_framework.test import APIClient
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _timed(fn, repeat=5):
    """(first run, median of the others) in ms."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


def load(records):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from buckets.models import Bucket
    from platform.models import AccessToken

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-1")
    bucket = Bucket.objects.create(owner=user, bucket_id="big")
    _, token = AccessToken.issue(user=user, name="bench")
    rng = random.Random(1)
    started = time.perf_counter()
    connection.ensure_connection()
    with (connection.connection.cursor() as cursor,
          cursor.copy('COPY buckets_record (bucket_id, message_id, "index", ts, val) FROM STDIN') as copy):
        lines = []
        for i in range(records):
            val = {"temperature": round(20 + rng.gauss(0, 3), 2), "humidity": rng.randrange(30, 90),
                   "status": "ok", "pos": {"lat": 41.38, "lon": 2.17}}
            lines.append(f"{bucket.pk}\t{i}\t0\t{START_MS + i * STEP_MS}\t{json.dumps(val)}\n")
            if len(lines) == 10_000:
                copy.write("".join(lines))
                lines = []
        copy.write("".join(lines))
    connection.connection.commit()
    load_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE buckets_record")
    return bucket, token, load_s


def baseline():
    from django.db import connection
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop_ms = (time.perf_counter() - started) * 1000
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM buckets_record")  # warm
        started = time.perf_counter()
        cursor.execute("SELECT count(*) FROM buckets_record")
        count_ms = (time.perf_counter() - started) * 1000
    return loop_ms, count_ms


def export_child(token, fmt):
    """Runs in a child process: streams one export through the API, reports rows/s and memory."""
    _env()
    client = _client(token)
    rss_before = _vm("VmRSS")
    started = time.perf_counter()
    response = client.get("/v1/users/bench/buckets/big/export", {"format": fmt, "timestamp_format": "iso"})
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    print(json.dumps({"status": response.status_code, "seconds": seconds, "bytes": size, "lines": lines,
                      "rss_before_mb": rss_before, "peak_mb": _vm("VmHWM")}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--export-child", nargs=2, metavar=("TOKEN", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        return export_child(*args.export_child)

    _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', f'CREATE DATABASE "{DB_NAME}"')
    try:
        _env()
        from django.core.management import call_command
        from django.db import connection
        call_command("migrate", verbosity=0)
        _bucket, token, load_s = load(args.records)
        loop_ms, count_ms = baseline()
        print(f"Buckets benchmark: {args.records:,} records in one bucket, PostgreSQL "
              f"{connection.cursor().connection.info.server_version}, Python {sys.version.split()[0]}")
        print(f"baseline: Python 10M-iteration add loop {loop_ms:.0f} ms; "
              f"SELECT count(*) over the table {count_ms:.0f} ms")
        print(f"load (COPY): {load_s:.1f} s, {args.records / load_s:,.0f} records/s")
        client = _client(token)
        url = "/v1/users/bench/buckets/big/data"
        end = START_MS + (args.records - 1) * STEP_MS

        def get(params, expect=None):
            response = client.get(url, params)
            assert response.status_code == 200, response.content
            if expect is not None:
                assert len(response.json()) == expect, (params, len(response.json()))

        cases = [
            ("latest 1000 records", {"items": 1000}, 1000),
            ("1-week range by 1h (mean)", {"agg": "1h", "agg_type": "mean", "items": 1000,
                                           "min_ts": end - end % 3_600_000 - 167 * 3_600_000, "max_ts": end}, 168),
            ("latest 100 intervals by 1h, no range", {"agg": "1h"}, 100),
        ]
        days = end // 86_400_000 - START_MS // 86_400_000 + 1
        for agg_type in ("mean", "max", "count", "last"):
            cases.append((f"full range by 1d ({agg_type})", {"agg": "1d", "agg_type": agg_type, "items": 1000}, days))
        for name, params, expect in cases:
            first, median = _timed(lambda params=params, expect=expect: get(params, expect),
                                   repeat=3 if "full" in name else 5)
            print(f"{name}: first {first:.0f} ms, then median {median:.0f} ms")

        for fmt in ("csv", "json", "ndjson"):
            out = subprocess.run([sys.executable, __file__, "--export-child", token, fmt], check=True,
                                 capture_output=True, text=True, env=os.environ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            print(f"export {fmt} (iso timestamps): {args.records / result['seconds']:,.0f} rows/s, "
                  f"{result['bytes'] / 1e6:.0f} MB in {result['seconds']:.1f} s; exporting process "
                  f"RSS {result['rss_before_mb']} MB before, peak {result['peak_mb']} MB")
    finally:
        from django.db import connections
        connections.close_all()
        _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
