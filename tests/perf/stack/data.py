"""The benchmark's database: made anew, seeded, counted and watched; and the timeout sweep."""
import os
import secrets
import subprocess
import sys
import time

from tests.perf.stack.config import DB, DEVICES, ENV, OUT, PG, REDIS_DBS, ROOT, USER


def database_reset():
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
        if os.environ.get("PERF_SYNCHRONOUS_COMMIT"):
            conn.execute(f'ALTER DATABASE "{DB}" SET synchronous_commit = {os.environ["PERF_SYNCHRONOUS_COMMIT"]}')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    import redis

    for db in REDIS_DBS:
        redis.Redis(db=db).flushdb()


def seed(receiver_port):
    """1,000 devices, each with a bucket, a `last` property and its own application."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from buckets.models import Bucket
    from devices.models import Device
    from endpoints.models import Connection
    from platform.tokens import token_hash

    user = get_user_model().objects.create_user(USER, password=secrets.token_hex(8))
    buckets = Bucket.objects.bulk_create([Bucket(owner=user, bucket_id=f"b{i}") for i in range(DEVICES)])
    apps = Connection.objects.bulk_create([Connection(owner=user, name=f"app{i}",
                                                      destination_url=f"http://127.0.0.1:{receiver_port}/uplink",
                                                      headers={"X-Thing": "{DevEUI}"}) for i in range(DEVICES)])
    tokens = [secrets.token_urlsafe(32) for _ in range(DEVICES)]
    devices = Device.objects.bulk_create([
        Device(owner=user, device_id=f"d{i}", name=f"Device {i}", token_hash=token_hash(tokens[i]),
               write_bucket=buckets[i], set_property="last") for i in range(DEVICES)])
    Device.applications.through.objects.bulk_create([
        Device.applications.through(device_id=d.pk, connection_id=a.pk) for d, a in zip(devices, apps)])
    (OUT / "tokens.txt").write_text("".join(f"d{i} {t}\n" for i, t in enumerate(tokens)))
    return [(f"d{i}", t) for i, t in enumerate(tokens)]


def counts():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM devices_message WHERE processed_at IS NULL")
        pending = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM devices_message")
        messages = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM buckets_record")
        records = cur.fetchone()[0]
        cur.execute("SELECT count(*), count(*) FILTER (WHERE state = 'delivered') FROM endpoints_delivery")
        deliveries, delivered = cur.fetchone()
    return {"pending": pending, "messages": messages, "records": records, "deliveries": deliveries,
            "delivered": delivered}


def pg_counters():
    """PostgreSQL's own counters for the benchmark's database (pg_stat_database): the issue counts
    the work per stored message with them. A backend reports its counters within a second or so of
    its transactions, so they are read after a pause."""
    import psycopg

    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted, sessions "
                           "FROM pg_stat_database WHERE datname = %s", (DB,)).fetchone()
    return dict(zip(("transactions", "rows inserted", "rows updated", "rows deleted", "new connections"), row,
                    strict=True))


def watch_records(arrivals, stop_event, min_seq):
    """Polls new records every 20 ms and notes when each benchmark `seq` became queryable."""
    import psycopg

    last_id = 0
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM buckets_record").fetchone()[0]
        while not stop_event.is_set():
            rows = conn.execute("SELECT id, (val->>'seq')::bigint FROM buckets_record WHERE id > %s ORDER BY id",
                                (last_id,)).fetchall()
            now = time.time()
            for row_id, seq in rows:
                last_id = max(last_id, row_id)
                if seq is not None and seq >= min_seq:
                    arrivals.setdefault(seq, now)
            time.sleep(0.02)


def sweep_benchmark(n=100_000):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from devices.services import devices_sweep_timeouts

    user = get_user_model().objects.create_user("sweep", password=secrets.token_hex(8))
    past = timezone.now() - timezone.timedelta(minutes=1)
    with connection.cursor() as cur:
        cur.execute("""INSERT INTO devices_device (owner_id, device_id, name, description, type, enabled, token_hash,
                         set_property, send_property, timeout, connected, connected_ts, last_seen, disconnect_at,
                         rx_bytes, tx_bytes, rx_messages, created, modified)
                       SELECT %s, 's' || g, '', '', 'HTTP', true, '', '', '', 10, true, %s, %s, %s, 0, 0, 0, %s, %s
                       FROM generate_series(1, %s) g""", [user.pk, past, past, past, past, past, n])
        cur.execute("VACUUM ANALYZE devices_device")  # as autovacuum leaves long-committed rows
    start = time.perf_counter()
    flipped = devices_sweep_timeouts()
    return flipped, time.perf_counter() - start
