#!/usr/bin/env python
"""Ingest benchmark: the production stack on this machine, measured against its own limit.

Run: `make perf` (or `PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_ingest.py`). Needs the local
PostgreSQL and Redis and Debian's `wrk` (make perf installs it). Uses its own database (PERF_DB,
default perf_ingest, dropped and created) and Redis databases 14 and 15 (PERF_REDIS_DB=N: N and
N+1, flushed, so a second run on the machine can keep off the first's). Prints figures; asserts
nothing. Knobs: PERF_SECONDS (saturation run, default 60), PERF_DEVICES (1000), WEB_WORKERS (2),
WEB_THREADS (4), INGEST_CONCURRENCY (1), DELIVERY_CONCURRENCY (2), WRK_CONNECTIONS (64),
DEVICE_RATE_LIMIT (600, the default), PERF_QUICK=1 (limit and saturation only, to compare levers),
PERF_SYNCHRONOUS_COMMIT=off (the benchmark database commits without waiting for its WAL flush: the
most any group commit could save, measured once; see the README's levers table), PERF_WEB=gunicornsync
(the limit and the platform both under gunicorn's sync workers, WEB_WORKERS of them: the setup of
the issue's own ratio; `pip install gunicorn` first).
"""
import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent
OUT = HERE / "results"
PG = os.environ.get("PERF_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("PERF_DB", "perf_ingest")
SECONDS = int(os.environ.get("PERF_SECONDS", "60"))
DEVICES = int(os.environ.get("PERF_DEVICES", "1000"))
WEB_WORKERS = os.environ.get("WEB_WORKERS", "2")
WEB_THREADS = os.environ.get("WEB_THREADS", "4")
WRK_CONNECTIONS = os.environ.get("WRK_CONNECTIONS", "64")
QUICK = os.environ.get("PERF_QUICK") == "1"  # saturation and CPU split only: for comparing levers
REDIS_DB = int(os.environ.get("PERF_REDIS_DB", "14"))
REDIS_DBS = (REDIS_DB, REDIS_DB + 1)  # the Celery broker's and the cache's, flushed
USER = "perf"

ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "DJANGO_SETTINGS_MODULE": "platform.settings",
    "DATABASE_URL": f"{PG}/{DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[0]}",
    "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[1]}",
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key-benchmark-only-secret-key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "ENDPOINTS_ALLOW_PRIVATE_IPS": "true",
    "DEVICE_RATE_LIMIT": os.environ.get("DEVICE_RATE_LIMIT", "600"),  # the production default: counted, never hit
    "LOG_LEVEL": "WARNING",
    "VAR_DIR": str(OUT / "var"),
}
os.environ.update({k: ENV[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL",
                                       "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "ENDPOINTS_ALLOW_PRIVATE_IPS",
                                       "DEVICE_RATE_LIMIT", "LOG_LEVEL", "VAR_DIR")})
processes = {}


def say(text=""):
    print(text, flush=True)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(name, cmd, env=None):
    log = open(OUT / f"{name}.log", "wb")  # noqa: SIM115  the process keeps it
    processes[name] = subprocess.Popen(cmd, cwd=ROOT, env={**ENV, **(env or {})}, stdout=log,
                                       stderr=subprocess.STDOUT)
    return processes[name]


def stop(name):
    proc = processes.pop(name)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_http(port, path="/healthz", timeout=30):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def web(name, app, port):
    """The production web server (platform/webserver.py) serving `app`, without its access log (a
    line per request would be the log's cost, not the platform's); or gunicorn's sync workers
    (PERF_WEB=gunicornsync)."""
    from platform.webserver import web_command

    if os.environ.get("PERF_WEB") == "gunicornsync":
        return spawn(name, [sys.executable, "-m", "gunicorn", f"{app}:application", "--bind", f"127.0.0.1:{port}",
                            "--workers", str(WEB_WORKERS), "--worker-class", "sync", "--log-level", "warning",
                            "--backlog", "2048"])
    return spawn(name, web_command(f"127.0.0.1:{port}", int(WEB_WORKERS), int(WEB_THREADS), access_log=False,
                                   environ=ENV, app=f"{app}:application"))


def peak_memory_mb(pid):
    """Peak resident memory (VmHWM) of a process and its children, in MB, summed."""
    total = 0
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds():
    """CPU seconds (user + system) used so far by each benchmark process with its children, and by
    every postgres and redis-server process on the machine, by name."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            fields = raw.rsplit(")", 1)[1].split()
            stats[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    totals = {}
    for name, proc in processes.items():
        family = {proc.pid}
        for _ in range(3):  # children and grandchildren
            family |= {pid for pid, (_, ppid, _) in stats.items() if ppid in family}
        totals[name] = sum(stats[pid][2] for pid in family if pid in stats)
    totals["postgres"] = sum(cpu for comm, _, cpu in stats.values() if comm.startswith("postgres"))
    totals["redis"] = sum(cpu for comm, _, cpu in stats.values() if comm.startswith("redis"))
    return totals


def wrk(port, seconds, lua=None, connections=WRK_CONNECTIONS):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if lua:
        cmd += ["-s", str(lua)]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}/v3/users/{USER}/devices/d0/callback/data"],
                         check=False, capture_output=True, text=True,
                         env={**ENV, "PERF_TOKENS": str(OUT / "tokens.txt"), "PERF_USER": USER}).stdout
    requests_total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": requests_total, "ok": requests_total - int(bad.group(1) if bad else 0),
            "rate": requests_total / seconds, "ok_rate": (requests_total - int(bad.group(1) if bad else 0)) / seconds,
            "errors": errors.group(1) if errors else "none", "raw": out}


def _p99(result):
    found = re.search(r"Latency Distribution.*?99%\s+(\S+)", result["raw"], re.DOTALL)
    return found.group(1) if found else "?"


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


def load():
    return "load average " + ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_baseline():
    """The same yardstick as bench_buckets.py: how fast this machine is right now, so runs on a
    busy or different machine can be compared."""
    import psycopg

    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop_ms = (time.perf_counter() - start) * 1000
    with psycopg.connect(f"{PG}/postgres") as conn:
        start = time.perf_counter()
        conn.execute("SELECT count(*) FROM generate_series(1, 1000000)").fetchone()
        count_ms = (time.perf_counter() - start) * 1000
    return loop_ms, count_ms


def say_baseline():
    """Prints machine_baseline(), the line every benchmark starts its figures with."""
    loop_ms, count_ms = machine_baseline()
    say(f"machine baseline: Python 10M-iteration add loop {loop_ms:.0f} ms; PostgreSQL count(*) of 1M generated "
        f"rows {count_ms:.0f} ms")


def run_main(main):
    """Runs a benchmark's main() and stops every process it started, however it ends."""
    try:
        main()
    finally:
        for name in list(processes):
            stop(name)


def main():
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `apt-get install wrk` (make perf does it)")
    OUT.mkdir(exist_ok=True)
    (OUT / "var").mkdir(exist_ok=True)
    server = (f"gunicorn {WEB_WORKERS} sync workers" if os.environ.get("PERF_WEB") == "gunicornsync"
              else f"Granian {WEB_WORKERS} workers x {WEB_THREADS} threads (platform/webserver.py)")
    say(f"== ingest benchmark: {os.cpu_count()} cores, {server}, {DEVICES} devices, {SECONDS}s saturation run; {load()} before")
    say_baseline()
    database_reset()
    receiver_port, web_port, limit_port = free_port(), free_port(), free_port()
    spawn("receiver", [sys.executable, str(HERE / "receiver.py"), str(receiver_port)])
    devices = seed(receiver_port)
    from django.db import connection

    connection.close()

    # 1. The limit: a trivial Django view on the same web server setup.
    web("limit", "tests.perf.trivial_wsgi", limit_port)
    wait_http(limit_port, "/v3/users/x/devices/y/callback/data")
    limit = wrk(limit_port, 5 if QUICK else 15, HERE / "wrk_callback.lua")
    stop("limit")
    say(f"limit (machine baseline: a trivial Django view, same web server setup and middleware, same wrk script): "
        f"{limit['rate']:.0f} req/s (p99 {_p99(limit)})")

    # 2. Saturation: the real stack.
    web("web", "platform.wsgi", web_port)
    celery = [sys.executable, "-m", "celery", "-A", "platform", "worker", "--loglevel", "WARNING", "--without-gossip",
              "--without-mingle", "--without-heartbeat"]
    spawn("ingest", [*celery, "-Q", "ingest,maintenance", "-n", "ingest@%h",
                     "--concurrency", os.environ.get("INGEST_CONCURRENCY", "1")])
    spawn("deliver", [*celery, "-Q", "deliveries", "-n", "deliver@%h",
                      "--concurrency", os.environ.get("DELIVERY_CONCURRENCY", "2")])
    wait_http(web_port)
    time.sleep(3)
    pg_before = pg_counters()
    t0 = time.time()
    cpu_before = cpu_seconds()
    sat = wrk(web_port, SECONDS, HERE / "wrk_callback.lua")
    cpu_after = cpu_seconds()
    after = counts()
    say(f"accepted callbacks at saturation:     {sat['ok_rate']:8.0f} /s  ({sat['ok_rate'] / limit['rate']:.1%} of the limit;"
        f" {sat['requests'] - sat['ok']} not 200; socket errors: {sat['errors']})")
    lat = re.search(r"Latency Distribution.*?50%\s+(\S+).*?99%\s+(\S+)", sat["raw"], re.DOTALL)
    if lat:
        say(f"  (wrk latency at saturation: p50 {lat.group(1)}, p99 {lat.group(2)})")
    used = {name: cpu_after.get(name, 0) - cpu_before.get(name, 0) for name in cpu_after if name != "receiver"}
    say("  CPU per accepted callback during saturation: " + ", ".join(
        f"{name} {seconds / max(sat['ok'], 1) * 1000:.2f} ms" for name, seconds in used.items())
        + f"; {sum(used.values()) / SECONDS:.2f} of {os.cpu_count()} cores busy without wrk")
    say(f"inbox backlog when intake stopped:    {after['pending']:8d} messages of {after['messages']}"
        f" ({'storage kept up' if after['pending'] < sat['ok_rate'] * 2 else 'storage fell behind'})")
    from django.db import connection as conn

    if QUICK:
        return
    drain_start = time.time()
    while counts()["pending"] and time.time() - drain_start < 600:
        time.sleep(0.5)
    drained = time.time() - drain_start
    final = counts()
    say(f"storage: {final['records']} records for {final['messages']} messages; backlog drained in {drained:.1f}s"
        f" -> {final['messages'] / (time.time() - t0):.0f} messages stored/s overall")
    while final["delivered"] < final["deliveries"] and time.time() - drain_start < 900:
        time.sleep(0.2)
        final = counts()
    elapsed = time.time() - t0
    say(f"delivery backlog when intake stopped: {after['deliveries'] - after['delivered']:8d} of {after['deliveries']}"
        f" deliveries (plus {after['pending']} messages not stored yet); all delivered "
        f"{time.time() - drain_start:.1f}s after intake stopped")
    say(f"deliveries to the local receiver:     {final['delivered'] / elapsed:8.0f} /s"
        f"  ({final['delivered']} of {final['deliveries']} in {elapsed:.0f}s)")
    time.sleep(2)
    pg_after = pg_counters()
    say("PostgreSQL per accepted callback (saturation until all delivered; the benchmark's own polling "
        "included): " + ", ".join(f"{(pg_after[name] - pg_before[name]) / max(sat['ok'], 1):.2f} {name}"
                                   for name in pg_after))

    # 3. Latency and end-to-end lag at half the saturation rate.
    rate = max(10, sat["ok_rate"] / 2)
    arrivals, stop_event = {}, threading.Event()
    watcher = threading.Thread(target=watch_records, args=(arrivals, stop_event, 10_000_000), daemon=True)
    watcher.start()
    from tests.perf.loadgen import percentile, run_fixed_rate

    latencies, statuses, done_at, lateness = asyncio.run(run_fixed_rate("127.0.0.1", web_port, USER, devices, rate, 20))
    deadline = time.time() + 30
    while len(arrivals) < len(done_at) and time.time() < deadline:
        time.sleep(0.1)
    stop_event.set()
    watcher.join()
    lags = [(arrivals[s] - t) * 1000 for s, t in done_at.items() if s in arrivals]
    import requests

    deadline = time.time() + 30
    while time.time() < deadline:
        received = {int(s): t for s, t in requests.get(f"http://127.0.0.1:{receiver_port}/arrivals?min=10000000",
                                                       timeout=10).json().items()}
        if len(received) >= len(done_at):
            break
        time.sleep(0.5)
    forward_lags = [(received[s] - t) * 1000 for s, t in done_at.items() if s in received]
    say(f"callback latency at {rate:.0f}/s:           p50 {percentile(latencies, 50):.1f} ms, "
        f"p95 {percentile(latencies, 95):.1f} ms, p99 {percentile(latencies, 99):.1f} ms  (statuses {statuses}; "
        f"the generator's own lateness p99 {percentile(lateness, 99):.1f} ms, max {max(lateness, default=0):.0f} ms)")
    say(f"end-to-end lag (200 -> queryable):    p50 {percentile(lags, 50):.0f} ms, p99 {percentile(lags, 99):.0f} ms"
        f"  ({len(lags)} of {len(done_at)} seen)")
    say(f"end-to-end lag (200 -> receiver):     p50 {percentile(forward_lags, 50):.0f} ms, "
        f"p99 {percentile(forward_lags, 99):.0f} ms  ({len(forward_lags)} of {len(done_at)} arrived)")

    say("peak memory (VmHWM, process + children): " + ", ".join(
        f"{name} {peak_memory_mb(proc.pid):.0f} MB" for name, proc in processes.items() if name != "receiver"))
    for name in list(processes):
        stop(name)

    # 4. The connection-timeout sweep.
    conn.close()
    flipped, seconds = sweep_benchmark()
    say(f"timeout sweep:                        {flipped} devices in {seconds:.2f}s")
    say(f"machine after the run: {load()} (2-core figures are only comparable at low load)")


if __name__ == "__main__":
    run_main(main)
