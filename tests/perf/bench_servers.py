#!/usr/bin/env python
"""Web server lever and the bar: the production web server (Granian with the platform's body
deadline, platform/webserver.py) against bare Granian and gunicorn gthread, same Django app, same
cores, for the trivial view and the real callback; and a Node-RED flow
that does the least a device callback can (check the device's token, insert one row into
PostgreSQL, answer) on the callback's URL, in the same run (issue #12).

Run: `PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_servers.py`; gunicorn (the server before
Granian) only when installed (`pip install gunicorn`). Needs wrk, the local PostgreSQL
and Redis; uses the ingest benchmark's database (PERF_DB, default perf_ingest, dropped and created),
Redis databases (PERF_REDIS_DB) and seeding. Three alternating rounds of PERF_ROUND seconds
(default 15) per server and target, wrk -t2 -c64 with wrk_callback.lua; no Celery worker runs (the
inbox only grows), so the figures are the web tier's alone. Each target's median is also given as
a ratio to the trivial view under the first production server.
Each round also gives the CPU per 200 of the server's processes, PostgreSQL and Redis (medians).
Knobs: BENCH_SERVERS, e.g. "production:2x4,gunicorn:4x1,granian:2x4,nodered:1x1" (server:workers x
threads; the default is the three servers with WEB_WORKERS x WEB_THREADS, gunicorn when installed,
and nodered:1x1 when node and npm are found; "production:2x4+NAME=VALUE" runs that server with an
environment variable set, to measure a lever against the same server without it; "granian" is
Granian with the application unwrapped, i.e. without the body deadline; "gunicornsync" is gunicorn's
sync workers, the setup of the issue's own figures), BENCH_TARGETS ("trivial view,callback"). A
server other than production that ran both targets also gets the callback's ratio to its own
trivial view.

Node-RED (`nodered`, one process, the size is ignored): tests/perf/nodered holds its pinned
package.json and lock, settings.js and flow.json; the first run installs node_modules there with
`npm ci`. The flow is POST /v3/users/:user/devices/:device/callback/data -> the device's token
(SHA-256, constant-time compare, against a user/device map loaded once from the seeded devices at
start, as our callback's device cache holds them) -> 401, or INSERT of one row (device id, now(),
the payload as jsonb) into nodered_records through a pg pool of 8 -> 200 `{}`. It runs for the
callback target only: there is no Node-RED trivial view to set beside Django's. After each round the
rows it inserted are counted against wrk's 200s (rows may exceed them by the requests in flight
when wrk stopped, never fall short), so every 200 it is credited with is a committed row.
"""
import functools
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import stack as bench

ROUND = int(os.environ.get("PERF_ROUND", "15"))
WORKERS, THREADS = bench.WEB_WORKERS, bench.WEB_THREADS
NODERED = bench.HERE / "nodered"
NODERED_OK = bool(shutil.which("node") and shutil.which("npm"))
GUNICORN_OK = importlib.util.find_spec("gunicorn") is not None
CALLBACK_PATH = "/v3/users/{user}/devices/{device}/callback/data"


def granian(name, app, port, workers, threads, env=None):
    target = f"{app}:routed" if app == "platform.wsgi" else f"{app}:application"  # without BodyDeadline (and ServerEnvironOut)
    return bench.spawn(name, [sys.executable, "-m", "granian", "--interface", "wsgi", target,
                              "--host", "127.0.0.1", "--port", str(port), "--workers", workers,
                              "--blocking-threads", threads, "--no-ws", "--log-level", "warning",
                              "--http1-header-read-timeout", "10000"], env)


def production(name, app, port, workers, threads, env=None):
    from platform.webserver import web_command

    return bench.spawn(name, web_command(f"127.0.0.1:{port}", int(workers), int(threads), access_log=False,
                                         environ={**bench.ENV, **(env or {})}, app=f"{app}:application"), env)


def gunicorn(name, app, port, workers, threads, env=None):
    return bench.spawn(name, bench.gunicorn_command(app, port, workers, threads, worker_class="gthread"), env)


def gunicornsync(name, app, port, workers, threads, env=None):
    """gunicorn's sync workers (one request at a time per process, no keep-alive): the setup the
    issue's own figures were taken with. `threads` is ignored."""
    return bench.spawn(name, bench.gunicorn_command(app, port, workers), env)


def nodered(name, app, port, workers, threads, env=None):
    """The flow in tests/perf/nodered; `app` is ignored (it serves the callback URL only)."""
    (bench.OUT / "nodered").mkdir(exist_ok=True)
    return bench.spawn(name, ["node", str(NODERED / "node_modules" / "node-red" / "red.js"),
                              "--settings", str(NODERED / "settings.js"), "--userDir", str(bench.OUT / "nodered"),
                              "--port", str(port)], env)


def nodered_install():
    if not (NODERED / "node_modules" / "node-red").is_dir():
        bench.say("installing Node-RED into tests/perf/nodered/node_modules (npm ci)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODERED, check=True)


def nodered_table():
    import psycopg

    with psycopg.connect(f"{bench.PG}/{bench.DB}", autocommit=True) as conn:
        conn.execute("CREATE TABLE nodered_records (id bigserial PRIMARY KEY, device_id bigint NOT NULL, "
                     "ts timestamptz NOT NULL, val jsonb NOT NULL)")


def nodered_rows():
    import psycopg

    with psycopg.connect(f"{bench.PG}/{bench.DB}", autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM nodered_records").fetchone()[0]


def nodered_check(port, device, token):
    """One wrong token (401) and one right one (200, one more row) before the rounds count. Node-RED
    listens before its flows start (404 until then)."""
    import requests

    url = f"http://127.0.0.1:{port}{CALLBACK_PATH.format(user=bench.USER, device=device)}"
    before = nodered_rows()
    deadline = time.monotonic() + 30
    while True:
        wrong = requests.post(url, json={"check": 1}, headers={"Authorization": "Bearer wrong"}, timeout=30)
        if wrong.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    right = requests.post(url, json={"check": 2}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if wrong.status_code != 401 or right.status_code != 200 or nodered_rows() != before + 1:
        raise SystemExit(f"the Node-RED flow misbehaves: wrong token {wrong.status_code}, right token "
                         f"{right.status_code} {right.text[:200]}; see {bench.OUT / 'web.log'}")


def servers():
    default = ",".join([f"production:{WORKERS}x{THREADS}", f"granian:{WORKERS}x{THREADS}",
                        *([f"gunicorn:{WORKERS}x{THREADS}"] if GUNICORN_OK else []), *(["nodered:1x1"] if NODERED_OK else [])])
    spec = os.environ.get("BENCH_SERVERS", default)
    found = {}
    for item in spec.split(","):
        # "production:2x4+NAME=VALUE+...": that server with these environment variables (a lever
        # measured against the same server without them, alternating in one run).
        item, *overrides = item.split("+")
        kind, size = item.split(":")
        workers, threads = size.split("x")
        if kind == "nodered" and not NODERED_OK:
            continue
        env = dict(override.split("=", 1) for override in overrides)
        name = " ".join([f"{kind} {size}", *overrides])
        found[name] = functools.partial(START[kind], workers=workers, threads=threads, env=env)
    return found


START = {"production": production, "granian": granian, "gunicorn": gunicorn, "gunicornsync": gunicornsync,
         "nodered": nodered}
SERVERS = servers()
ALL_TARGETS = {"trivial view": ("tests.perf.trivial_wsgi", "/v3/users/x/devices/y/callback/data"),
               "callback": ("platform.wsgi", "/healthz")}
TARGETS = {name: ALL_TARGETS[name] for name in os.environ.get("BENCH_TARGETS", ",".join(ALL_TARGETS)).split(",")}


def runs(server, target):
    return target == "callback" or not server.startswith("nodered")


def main():
    bench.OUT.mkdir(exist_ok=True)
    (bench.OUT / "var").mkdir(exist_ok=True)
    pairs = [(s, t) for t in TARGETS for s in SERVERS if runs(s, t)]
    bench.say(f"== web servers: {os.cpu_count()} cores, {', '.join(SERVERS)} (workers x threads), {ROUND}s rounds;"
              f" {bench.load()} before")
    if not NODERED_OK:
        bench.say("nodered skipped: node or npm not found")
    with_nodered = any(s.startswith("nodered") for s, _ in pairs)
    if with_nodered:
        nodered_install()
    bench.say_baseline()
    bench.database_reset()
    devices = bench.seed(bench.free_port())
    from django.db import connection

    connection.close()
    if with_nodered:
        nodered_table()
    rates = {pair: [] for pair in pairs}
    p99 = {pair: [] for pair in pairs}
    cpu = {pair: [] for pair in pairs}
    for round_no in range(1, 4):
        for server, target in pairs:
            app, probe = TARGETS[target]
            port = bench.free_port()
            SERVERS[server]("web", app, port)
            bench.wait_http(port, probe)
            if server.startswith("nodered"):
                nodered_check(port, *devices[0])
                rows_before = nodered_rows()
            time.sleep(1)
            before = bench.cpu_seconds()
            result = bench.wrk(port, ROUND, bench.HERE / "wrk_callback.lua")
            after = bench.cpu_seconds()
            bench.stop("web")
            # CPU per 200 (ms) of the server's processes, PostgreSQL and Redis (wrk's own left out):
            # steadier than req/s on a machine whose speed drifts between rounds.
            cpu[(server, target)].append([1000 * (after[role] - before[role]) / max(result["ok"], 1)
                                          for role in ("web", "postgres", "redis")])
            rates[(server, target)].append(result["ok_rate"])
            p99[(server, target)].append(bench.p99(result))
            if server.startswith("nodered"):
                rows = nodered_rows() - rows_before
                bench.say(f"{server} round {round_no}: {rows} rows inserted for {result['ok']} 200s "
                          f"({rows - result['ok']:+d}), {result['requests'] - result['ok']} not 200, "
                          f"socket errors: {result['errors']}")
                if rows < result["ok"]:
                    bench.say("  FEWER ROWS THAN 200s: the flow answered 200 without a committed row")
    base = next((statistics.median(rates[(s, "trivial view")]) for s in SERVERS
                 if s.startswith("production") and (s, "trivial view") in rates), None)
    for server, target in pairs:
        values = rates[(server, target)]
        median = statistics.median(values)
        ratio = f"{median / base:5.2f}x the trivial view (production)" if base else ""
        own = rates.get((server, "trivial view"))
        if own and target != "trivial view" and not server.startswith("production"):
            # The ratio is taken on one server setup: this server's own trivial view.
            ratio += f" {median / statistics.median(own):5.2f}x its own"
        split = " / ".join(f"{statistics.median(role):.2f}" for role in zip(*cpu[(server, target)], strict=True))
        bench.say(f"{target:13s} {server:14s} median {median:7.0f} req/s  {ratio}  rounds "
                  f"{', '.join(f'{v:.0f}' for v in values)}  p99 {', '.join(p99[(server, target)])}  "
                  f"CPU per 200 (server / PostgreSQL / Redis) {split} ms")
    bench.say(f"machine after the run: {bench.load()}")


if __name__ == "__main__":
    bench.run_main(main)
