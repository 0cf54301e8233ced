"""Alarm evaluation on the ingest path: what a batch costs with and without rules.

    PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_alarms.py [--batches N]

Uses a throwaway database (h_alarms_perf on the PostgreSQL of BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432) and Redis database 13 (BENCH_CACHE_URL) as the shared cache,
both cleaned at the end. Runs the real ingest worker (`messages_process`, batches of 500) over
inbox rows of 100 devices, three ways: no rule anywhere, rules on another user's data only, and
a bucket rule ("temperature > 30", sequence of 3) watching every device (values below the
threshold, then above and below it in turn, so that every batch opens or normalizes an alarm on
every device: the worst case), and prints the time per
message of the whole batch and the queries per batch (ingest's own included). Not a pass/fail
test (pytest does not collect it).
"""
import argparse
import itertools
import os
import secrets
import statistics
import time

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB", "h_alarms_perf")
CACHE = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
BATCH, DEVICES = 500, 100


def _admin_sql(*statements):
    import psycopg
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    _admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}")
    os.environ.update({"DATABASE_URL": f"{PG}/{DB_NAME}", "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
                       "CACHE_URL": CACHE, "CONN_MAX_AGE": "0", "LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
    import django
    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        call_command("migrate", verbosity=0)
        cache.clear()
        from django.contrib.auth import get_user_model

        from alarms import services
        from alarms.models import Alarm
        from buckets.models import Bucket
        from devices.ingest import messages_process
        from devices.models import Device, Message

        users = get_user_model()
        alice, bob = users.objects.create(username="alice"), users.objects.create(username="bob")
        bucket = Bucket.objects.create(owner=alice, bucket_id="b1")
        bobs = Bucket.objects.create(owner=bob, bucket_id="b1")
        devices = Device.objects.bulk_create([Device(owner=alice, device_id=f"d{i}", write_bucket=bucket,
                                                     token_hash="x") for i in range(DEVICES)])

        clock = itertools.count()  # message times keep increasing across the runs

        def run(label, hot=False):
            per_message, queries = [], []
            alarms_before = Alarm.objects.count()
            for n in range(args.batches):
                base = next(clock) * BATCH
                Message.objects.bulk_create([Message(device=devices[i % DEVICES], ts=1_700_000_000_000 + base + i,
                                                     payload={"temperature": 35 if hot and n % 2 == 0 else 20 + i % 8}, size=20)
                                             for i in range(BATCH)])
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    assert messages_process(batch_size=BATCH) == BATCH
                    per_message.append((time.perf_counter() - started) / BATCH * 1e6)
                queries.append(len(captured))
            print(f"{label:<52} {statistics.median(per_message):7.0f} us/message  "
                  f"{statistics.median(queries):5.0f} queries/batch of {BATCH}, "
                  f"{Alarm.objects.count() - alarms_before} alarms opened")

        print(f"ingest batches of {BATCH} from {DEVICES} devices, median of {args.batches}:")
        run("(warm-up)")
        run("no rules at all")
        services.rule_create(owner=bob, rule_id="bobs", source_type="bucket", bucket=bobs, field="temperature",
                             condition={"op": "gt", "value": 30})
        run("rules on another user's bucket only (one cache read)")
        services.rule_create(owner=alice, rule_id="hot", source_type="bucket", bucket=bucket, field="temperature",
                             condition={"op": "gt", "value": 30}, confirm={"type": "sequence", "count": 3})
        run("a sequence rule on every device, values below it")
        run("the same, every device's alarm opening or normalizing", hot=True)
    finally:
        cache.clear()
        connection.close()
        _admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
