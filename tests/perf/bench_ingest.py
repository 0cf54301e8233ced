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
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.stack import (
    DEVICES,
    HERE,
    OUT,
    QUICK,
    SECONDS,
    USER,
    WEB_THREADS,
    WEB_WORKERS,
    counts,
    cpu_seconds,
    database_reset,
    free_port,
    load,
    p99,
    peak_memory_mb,
    pg_counters,
    processes,
    run_main,
    say,
    say_baseline,
    seed,
    spawn,
    stop,
    sweep_benchmark,
    wait_http,
    watch_records,
    web,
    wrk,
)


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
        f"{limit['rate']:.0f} req/s (p99 {p99(limit)})")

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
