#!/usr/bin/env python
"""Web server lever: gunicorn gthread against Granian (a Rust HTTP server for WSGI apps), same
Django app, same cores, for the trivial view and the real callback.

Run: `PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_servers.py` after `pip install granian`
(it is not a dependency: measured, not adopted; see the README). Needs wrk, the local PostgreSQL
and Redis; uses the ingest benchmark's database (perf_ingest, dropped and created) and seeding.
Three alternating rounds of PERF_ROUND seconds (default 15) per server and target, wrk -t2 -c64;
no Celery worker runs (the inbox only grows), so the figures are the web tier's alone.
Knobs: BENCH_SERVERS, e.g. "gunicorn:2x4,gunicorn:4x1,granian:2x4" (server:workers x threads; the
default is both servers with WEB_WORKERS x WEB_THREADS), BENCH_TARGETS ("trivial view,callback").
"""
import functools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import bench_ingest as bench

ROUND = int(os.environ.get("PERF_ROUND", "15"))
WORKERS, THREADS = bench.WEB_WORKERS, bench.WEB_THREADS


def granian(name, app, port, workers, threads):
    return bench.spawn(name, [sys.executable, "-m", "granian", "--interface", "wsgi", f"{app}:application",
                              "--host", "127.0.0.1", "--port", str(port), "--workers", workers,
                              "--blocking-threads", threads, "--no-ws", "--log-level", "warning",
                              "--http1-header-read-timeout", "10000"])


def gunicorn(name, app, port, workers, threads):
    return bench.spawn(name, [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers",
                              workers, "--threads", threads, "--worker-class", "gthread", "--log-level", "warning",
                              "--backlog", "2048"])


def servers():
    spec = os.environ.get("BENCH_SERVERS", f"gunicorn:{WORKERS}x{THREADS},granian:{WORKERS}x{THREADS}")
    found = {}
    for item in spec.split(","):
        kind, size = item.split(":")
        workers, threads = size.split("x")
        found[f"{kind} {size}"] = functools.partial(START[kind], workers=workers, threads=threads)
    return found


START = {"gunicorn": gunicorn, "granian": granian}
SERVERS = servers()
ALL_TARGETS = {"trivial view": ("tests.perf.trivial_wsgi", "/v3/users/x/devices/y/callback/data"),
               "callback": ("platform.wsgi", "/healthz")}
TARGETS = {name: ALL_TARGETS[name] for name in os.environ.get("BENCH_TARGETS", ",".join(ALL_TARGETS)).split(",")}


def main():
    bench.OUT.mkdir(exist_ok=True)
    (bench.OUT / "var").mkdir(exist_ok=True)
    bench.say(f"== web servers: {os.cpu_count()} cores, {', '.join(SERVERS)} (workers x threads), {ROUND}s rounds;"
              f" {bench.load()} before")
    bench.say_baseline()
    bench.database_reset()
    bench.seed(bench.free_port())
    from django.db import connection

    connection.close()
    rates = {(s, t): [] for s in SERVERS for t in TARGETS}
    p99 = {(s, t): [] for s in SERVERS for t in TARGETS}
    for _ in range(3):
        for target, (app, probe) in TARGETS.items():
            for server, start in SERVERS.items():
                port = bench.free_port()
                start("web", app, port)
                bench.wait_http(port, probe)
                time.sleep(1)
                result = bench.wrk(port, ROUND, bench.HERE / "wrk_callback.lua")
                bench.stop("web")
                rates[(server, target)].append(result["ok_rate"])
                p99[(server, target)].append(bench._p99(result))
    for target in TARGETS:
        for server in SERVERS:
            values = rates[(server, target)]
            bench.say(f"{target:13s} {server:14s} median {statistics.median(values):7.0f} req/s  rounds "
                      f"{', '.join(f'{v:.0f}' for v in values)}  p99 {', '.join(p99[(server, target)])}")
    bench.say(f"machine after the run: {bench.load()}")


if __name__ == "__main__":
    bench.run_main(main)
