#!/usr/bin/env python
"""The connection-timeout sweep: 100,000 due devices flipped by `devices_sweep_timeouts()`.

Run: `PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_sweep.py`. Uses its own database
(PERF_SWEEP_DB, default perf_sweep, dropped and created) on the local PostgreSQL, and Redis
database 13 as the cache (PERF_SWEEP_REDIS; the alarms' watch map is read there). Prints the
machine baseline (tests/perf/stack machine_baseline), then for each lever, alternating within each of
PERF_ROUNDS rounds (default 5), the time of the whole sweep (announce included) and the CPU of
its PostgreSQL backend, with the medians; and the time of a sweep that finds nothing due among
the same 100,000 devices (what beat pays every 30 s). Asserts nothing.

Levers (PERF_LEVERS, comma-separated, default "before,fk,now"):
  now      the code as it is
  fk       the code as it is, with the StatusChange -> Device foreign-key constraint that
           migration devices/0004 dropped
  before   as before migrations devices/0003 and 0004: the partial index on disconnect_at WHERE
           connected, the default fillfactor, the foreign key, and the chunk statement of then
Each lever is set on the schema before its run and undone after; the table is rewritten
(TRUNCATE, INSERT) every run, so the fillfactor applies to every row. PERF_CHURN=1: before each
sweep, every device takes one update like a callback's (last_seen, disconnect_at, counters), 1,000
devices per transaction and not vacuumed after, as on a live table.
"""
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# The stack's settings point os.environ at its own database on import: ours is set below.
from tests.perf.stack import load, say_baseline

PG = os.environ.get("PERF_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("PERF_SWEEP_DB", "perf_sweep")
DEVICES = int(os.environ.get("PERF_DEVICES_SWEPT", "100000"))
ROUNDS = int(os.environ.get("PERF_ROUNDS", "5"))
LEVERS = os.environ.get("PERF_LEVERS", "before,fk,now").split(",")
CHURN = os.environ.get("PERF_CHURN") == "1"
REDIS = os.environ.get("PERF_SWEEP_REDIS", "redis://127.0.0.1:6379/13")
os.environ.update({"DJANGO_SETTINGS_MODULE": "platform.settings", "DATABASE_URL": f"{PG}/{DB}",
                   "CELERY_BROKER_URL": REDIS, "CACHE_URL": REDIS,
                   "DEBUG": "false", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})

# The chunk statement before migration devices/0003 (devices/services.py then).
BEFORE_SQL = """
WITH due AS (
    SELECT id FROM devices_device WHERE connected AND disconnect_at <= %(now)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), flipped AS (
    UPDATE devices_device d SET connected = false, connected_ts = %(now)s
    FROM due WHERE d.id = due.id AND d.connected
    RETURNING d.id, d.owner_id
), recorded AS (
    INSERT INTO devices_statuschange (device_id, connected, at)
    SELECT id, false, %(now)s FROM flipped
    RETURNING device_id
)
SELECT f.id, f.owner_id FROM flipped f JOIN recorded r ON r.device_id = f.id"""
# The constraint Django created before migration devices/0004, with its name.
ADD_FK = ("ALTER TABLE devices_statuschange ADD CONSTRAINT devices_statuschange_device_id_b53731d7_fk_devices_device_id "
          "FOREIGN KEY (device_id) REFERENCES devices_device (id) DEFERRABLE INITIALLY DEFERRED")
DROP_FK = "ALTER TABLE devices_statuschange DROP CONSTRAINT devices_statuschange_device_id_b53731d7_fk_devices_device_id"
# lever: (SQL to set it, SQL to undo it, chunk statement or None for the code's own)
LEVER_SQL = {
    "now": ([], [], None),
    "fk": ([ADD_FK], [DROP_FK], None),
    "before": (["CREATE INDEX device_timeout_due ON devices_device (disconnect_at) WHERE connected",
                "ALTER TABLE devices_device RESET (fillfactor)", ADD_FK],
               ["DROP INDEX device_timeout_due", "ALTER TABLE devices_device SET (fillfactor = 50)", DROP_FK],
               BEFORE_SQL),
}

def say(text=""):
    print(text, flush=True)


def database_reset():
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import redis

    redis.Redis.from_url(REDIS).flushdb()


def seed(cursor, owner_id, due):
    """DEVICES connected devices, all due (disconnect_at a minute ago) or none (in ten minutes)."""
    from django.utils import timezone

    now = timezone.now()
    at = now - timezone.timedelta(minutes=1) if due else now + timezone.timedelta(minutes=10)
    cursor.execute("TRUNCATE devices_statuschange, devices_device CASCADE")
    cursor.execute("""INSERT INTO devices_device (owner_id, device_id, name, description, type, enabled, token_hash,
                        set_property, send_property, timeout, connected, connected_ts, last_seen, disconnect_at,
                        rx_bytes, tx_bytes, rx_messages, created, modified)
                      SELECT %s, 's' || g, '', '', 'HTTP', true, repeat('x', 64), '', '', 10, true, %s, %s, %s,
                        0, 0, 0, %s, %s
                      FROM generate_series(1, %s) g""", [owner_id, now, now, at, now, now, DEVICES])
    cursor.execute("VACUUM ANALYZE devices_device")  # as autovacuum leaves long-committed rows
    cursor.execute("VACUUM ANALYZE devices_statuschange")
    if CHURN:
        cursor.execute("SELECT min(id) FROM devices_device")
        first = cursor.fetchone()[0]
        for low in range(first, first + DEVICES, 1000):
            cursor.execute("""UPDATE devices_device SET last_seen = %s, disconnect_at = %s, rx_bytes = rx_bytes + 200,
                                rx_messages = rx_messages + 1 WHERE id >= %s AND id < %s""", [now, at, low, low + 1000])


def backend_cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(lever, owner_id, due=True):
    """One sweep under `lever`: (flipped, seconds, PostgreSQL CPU seconds)."""
    from django.db import connection

    from devices import services

    set_sql, undo_sql, statement = LEVER_SQL[lever]
    with connection.cursor() as cursor:
        for sql in set_sql:
            cursor.execute(sql)
        seed(cursor, owner_id, due)
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    own_sql = services._SWEEP_SQL
    services._SWEEP_SQL = statement or own_sql
    try:
        cpu, start = backend_cpu(pid), time.perf_counter()
        flipped = services.devices_sweep_timeouts()
        seconds, cpu = time.perf_counter() - start, backend_cpu(pid) - cpu
    finally:
        services._SWEEP_SQL = own_sql
        with connection.cursor() as cursor:
            for sql in undo_sql:
                cursor.execute(sql)
    assert flipped == (DEVICES if due else 0), flipped
    return flipped, seconds, cpu


def main():
    say(f"== timeout sweep benchmark: {DEVICES} due devices{', one callback update each before' if CHURN else ''}, "
        f"{os.cpu_count()} cores, {load()} before")
    say_baseline()
    database_reset()
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    owner_id = get_user_model().objects.create_user("sweep").pk
    figures = {lever: [] for lever in LEVERS}
    idle = {lever: [] for lever in LEVERS}
    for round_ in range(1, ROUNDS + 1):
        for lever in LEVERS:
            _, seconds, cpu = run(lever, owner_id)
            figures[lever].append((seconds, cpu))
            _, idle_seconds, _ = run(lever, owner_id, due=False)
            idle[lever].append(idle_seconds)
            say(f"round {round_} {lever:>7}: {DEVICES} flipped in {seconds:.3f} s (PostgreSQL CPU {cpu:.2f} s); "
                f"nothing due: {idle_seconds * 1000:.1f} ms")
    say(f"-- medians of {ROUNDS} rounds; {load()} after")
    for lever in LEVERS:
        say(f"{lever:>7}: {statistics.median(s for s, _ in figures[lever]):.3f} s, PostgreSQL CPU "
            f"{statistics.median(c for _, c in figures[lever]):.2f} s; nothing due "
            f"{statistics.median(idle[lever]) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
