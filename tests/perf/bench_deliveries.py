#!/usr/bin/env python
"""Delivery-only benchmark: how fast the delivery engine empties a backlog.

Run: `make perf-deliveries` (or `PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_deliveries.py`).
Needs the local PostgreSQL and Redis. Uses its own database (PERF_DB, default perf_deliveries,
dropped and created) and Redis databases 14 and 15. Prints figures; asserts nothing.

For each run: PERF_DELIVERIES (default 100,000) pending deliveries are inserted at once, then a
real Celery worker for the `deliveries` queue with N processes is started and woken, and the
time until the last one is delivered to a local receiver (an asyncio server answering 200 at once,
tests/perf/receiver.py) is measured, with CPU per delivery for each process and peak memory.
Shapes: 1,000 applications with one device each, and one application for 1,000 devices; the
first one again with two worker processes. And storage alone: PERF_DELIVERIES messages in the inbox
of 1,000 devices (bucket, property and application each), drained by an ingest worker with one and
with two processes (PERF_RUNS picks runs, default "apps:1,one:1,apps:2,ingest:1,ingest:2").
"""
import os
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

os.environ.setdefault("PERF_DB", "perf_deliveries")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import stack as bench

DELIVERIES = int(os.environ.get("PERF_DELIVERIES", "100000"))
DEVICES = 1000
RUNS = [run.split(":") for run in os.environ.get("PERF_RUNS", "apps:1,one:1,apps:2,ingest:1,ingest:2").split(",")]


def seed(receiver_port, shape):
    """A user with 1,000 devices and either 1,000 applications (one each) or one for all."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from endpoints.models import Connection

    user = get_user_model().objects.create_user(f"perf-{shape}", password="x-unused-password-x")
    url = f"http://127.0.0.1:{receiver_port}/uplink"
    count = DEVICES if shape == "apps" else 1
    apps = Connection.objects.bulk_create([Connection(owner=user, name=f"app{i}", destination_url=url,
                                                      headers={"X-Thing": "{DevEUI}"}) for i in range(count)])
    return user, [apps[i % count].pk for i in range(DEVICES)]


def backlog(user, app_of_device):
    """PERF_DELIVERIES pending deliveries, round robin over the devices, inserted with COPY."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    columns = ("owner_id", "connection_id", "message_id", "device_id", "device_name", "payload", "ts", "state",
               "attempts", "next_attempt_at", "last_error", "created", "lane")
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY endpoints_delivery ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(DELIVERIES):
                device = n % DEVICES
                app = app_of_device[device]
                copy.write_row((user.pk, app, n + 1, f"d{device}", f"Device {device}",
                                f'{{"seq": {n}, "temperature": 21.5, "humidity": 40}}', 1700000000000 + n,
                                "pending", 0, now, "", now, zlib.crc32(f"c{app}/d{device}".encode())))
        cursor.execute("ANALYZE endpoints_delivery")


def delivered():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM endpoints_delivery WHERE state = 'delivered'")
        return cursor.fetchone()[0]


def inbox(devices):
    """PERF_DELIVERIES pending inbox messages, round robin over the devices, inserted with COPY."""
    from django.db import connection

    from devices.models import Device

    pks = list(Device.objects.filter(device_id__in=[d for d, _ in devices]).order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        with cursor.copy("COPY devices_message (device_id, payload, size, ts) FROM STDIN") as copy:
            for n in range(DELIVERIES):
                copy.write_row((pks[n % len(pks)], f'{{"seq": {n}, "temperature": 21.5, "humidity": 40}}', 40,
                                1700000000000 + n))
        cursor.execute("ANALYZE devices_message")


def pending_messages():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM devices_message WHERE processed_at IS NULL")
        return cursor.fetchone()[0]


class Waits:
    """Samples what the benchmark database's sessions are doing every 20 ms (pg_stat_activity):
    on CPU, waiting for a lock, for the WAL flush, for the client... It says what stands in the way
    when more worker processes do not add throughput and the CPU is not all busy."""

    def __init__(self):
        self.seen: Counter = Counter()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def _sample(self):
        import psycopg

        with psycopg.connect(f"{bench.PG}/{bench.DB}", autocommit=True) as conn:
            while not self.stopping.is_set():
                for state, kind, event in conn.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = %s"
                        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()", [bench.DB]):
                    if state == "active":
                        self.seen[f"{kind}:{event}" if kind else "on CPU"] += 1
                    elif state == "idle in transaction":
                        self.seen["idle in transaction (worker's Python)"] += 1
                time.sleep(0.02)

    def say(self):
        total = sum(self.seen.values()) or 1
        bench.say("  database sessions (sampled, busy ones): " + ", ".join(
            f"{name} {count / total:.0%}" for name, count in self.seen.most_common(6)))


def run_ingest(workers):
    bench.database_reset()
    receiver_port = bench.free_port()
    inbox(bench.seed(receiver_port))
    from django.db import connection

    connection.close()
    bench.spawn("ingest", [sys.executable, "-m", "celery", "-A", "platform", "worker", "-Q", "ingest",
                           "-n", "ingest@%h", "--concurrency", str(workers), "--loglevel", "WARNING",
                           "--without-gossip", "--without-mingle", "--without-heartbeat"])
    time.sleep(4)
    cpu_before = bench.cpu_seconds()
    started = time.monotonic()
    # One wake-up per process: each drains partitions the other does not hold.
    subprocess.run([sys.executable, "-c", ("import django; django.setup(); "
                    f"from devices.tasks import process_messages_task as t; [t.delay() for _ in range({workers})]")],
                   cwd=bench.ROOT, env=bench.ENV, check=True)
    left = DELIVERIES
    with Waits() as waits:
        while left and time.monotonic() - started < 900:
            time.sleep(0.5)
            left = pending_messages()
    elapsed = time.monotonic() - started
    used = {name: s - cpu_before.get(name, 0) for name, s in bench.cpu_seconds().items()}
    bench.say(f"storage, {workers} worker process{'es' if workers > 1 else ''}: {DELIVERIES - left} inbox messages "
              f"stored (record, property, delivery row) in {elapsed:.1f}s = {(DELIVERIES - left) / elapsed:.0f}/s")
    bench.say("  CPU per message: " + ", ".join(f"{name} {seconds / max(DELIVERIES - left, 1) * 1000:.3f} ms"
                                               for name, seconds in used.items() if name != "receiver")
              + f"; {sum(used.values()) / elapsed:.2f} of {os.cpu_count()} cores busy")
    waits.say()
    for name in list(bench.processes):
        bench.stop(name)
    connection.close()  # the next run drops the database


def run(shape, workers):
    bench.database_reset()
    receiver_port = bench.free_port()
    bench.spawn("receiver", [sys.executable, str(bench.HERE / "receiver.py"), str(receiver_port)])
    user, app_of_device = seed(receiver_port, shape)
    backlog(user, app_of_device)
    from django.db import connection

    connection.close()
    env = {"DELIVERY_MAX_SENDERS": str(workers)}
    bench.ENV.update(env)
    bench.spawn("deliver", [sys.executable, "-m", "celery", "-A", "platform", "worker", "-Q", "deliveries",
                            "-n", "deliver@%h", "--concurrency", str(workers), "--loglevel", "WARNING",
                            "--without-gossip", "--without-mingle", "--without-heartbeat"])
    time.sleep(4)  # the worker is up
    cpu_before = bench.cpu_seconds()
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", ("import django; django.setup(); "
                    "from endpoints.tasks import dispatch_deliveries_task as t; t.delay()")],
                   cwd=bench.ROOT, env=bench.ENV, check=True)
    done, seen = 0, []
    while done < DELIVERIES and time.monotonic() - started < 900:
        time.sleep(0.5)
        done = delivered()
        seen.append((time.monotonic() - started, done))
    elapsed = time.monotonic() - started
    cpu_after = bench.cpu_seconds()
    used = {name: cpu_after.get(name, 0) - cpu_before.get(name, 0) for name in cpu_after}
    rate = done / elapsed
    steady = [(t, n) for t, n in seen if 0.1 * DELIVERIES <= n <= 0.9 * DELIVERIES]
    steady_rate = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0]) if len(steady) > 1 else rate
    label = "1,000 applications x 1 device" if shape == "apps" else "1 application x 1,000 devices"
    bench.say(f"{label}, {workers} worker process{'es' if workers > 1 else ''}: {done} of {DELIVERIES} delivered "
              f"in {elapsed:.1f}s = {rate:.0f}/s (steady {steady_rate:.0f}/s)")
    bench.say("  CPU per delivery: " + ", ".join(f"{name} {seconds / max(done, 1) * 1000:.3f} ms"
                                                 for name, seconds in used.items())
              + f"; {sum(used.values()) / elapsed:.2f} of {os.cpu_count()} cores busy")
    bench.say(f"  peak memory (VmHWM) of the delivery worker: {bench.peak_memory_mb(bench.processes['deliver'].pid):.0f}"
              " MB (all its processes)")
    for name in list(bench.processes):
        bench.stop(name)
    connection.close()  # the next run drops the database


def main():
    bench.OUT.mkdir(exist_ok=True)
    (bench.OUT / "var").mkdir(exist_ok=True)
    bench.say(f"== delivery benchmark: {os.cpu_count()} cores, {DELIVERIES} pending deliveries per run; "
              f"{bench.load()} before")
    bench.say_baseline()
    for shape, workers in RUNS:
        (run_ingest(int(workers)) if shape == "ingest" else run(shape, int(workers)))
    bench.say(f"machine after the run: {bench.load()}")


if __name__ == "__main__":
    bench.run_main(main)
