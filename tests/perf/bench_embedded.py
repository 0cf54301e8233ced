#!/usr/bin/env python
"""Embedded-mode benchmark: what `make run` carries (SQLite database, SQLite broker, per-process
cache, the web server 2 x 4, one storage worker, one sender, beat, all under `manage.py runstack`).

Run: `PYTHONPATH=$PWD .venv/bin/python tests/perf/bench_embedded.py`. Needs Debian's `wrk` and
nothing else: no PostgreSQL, no Redis. Works in a fresh temporary VAR_DIR. Prints figures; asserts
nothing. Knobs: PERF_SECONDS (saturation run, default 30), PERF_DEVICES (1000), WRK_CONNECTIONS
(default 16 here).

The same 1,000 devices as `bench_ingest.py` (bucket, property and an application each, the
application pointing at a local receiver), the same wrk script, then: how many callbacks were
answered 200 per second, how many were answered otherwise, whether storage and deliveries kept
up (backlogs when intake stopped, and how long they took to drain), and that every 200 was stored
(the embedded mode's correctness: a 200 means committed, nothing stored twice).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WRK_CONNECTIONS", "16")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import stack as bench

SECONDS = int(os.environ.get("PERF_SECONDS", "30"))
EMBEDDED_KEYS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "LOG_LEVEL")


def embedded_env(var_dir, port):
    """The stack's environment (tests/perf/stack) without the servers: the defaults `make run` uses."""
    env = {k: v for k, v in bench.ENV.items() if k not in EMBEDDED_KEYS}
    env.update(VAR_DIR=str(var_dir), SITE_URL=f"http://127.0.0.1:{port}")
    return env


def main():
    var_dir = Path(tempfile.mkdtemp(prefix="bench-embedded-")) / "var"
    bench.OUT.mkdir(exist_ok=True)
    web_port, receiver_port = bench.free_port(), bench.free_port()
    env = embedded_env(var_dir, web_port)
    bench.ENV.clear()  # in place: every process the stack spawns reads this one dict
    bench.ENV.update(env)
    for key in EMBEDDED_KEYS:
        os.environ.pop(key, None)
    os.environ.update(bench.ENV)
    bench.say(f"== embedded-mode benchmark (make run's stack in {var_dir}): {os.cpu_count()} cores, "
              f"{bench.DEVICES} devices, {SECONDS}s saturation run, wrk -c{bench.WRK_CONNECTIONS}; {bench.load()} before")
    bench.say_baseline()
    import subprocess

    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=bench.ROOT, env=bench.ENV, check=True)
    bench.spawn("receiver", [sys.executable, str(bench.HERE / "receiver.py"), str(receiver_port)])
    bench.seed(receiver_port)
    from django.db import connection

    connection.close()
    bench.spawn("stack", [sys.executable, "manage.py", "runstack", "--bind", f"127.0.0.1:{web_port}"])
    bench.wait_http(web_port, timeout=60)
    time.sleep(5)  # the workers and beat start after the web
    cpu_before = bench.cpu_seconds()
    sat = bench.wrk(web_port, SECONDS, bench.HERE / "wrk_callback.lua")
    cpu_after = bench.cpu_seconds()
    after = bench.counts()
    bench.say(f"accepted callbacks at saturation:     {sat['ok_rate']:8.0f} /s  ({sat['requests'] - sat['ok']} not 200;"
              f" socket errors: {sat['errors']}; wrk p99 {bench.p99(sat)})")
    used = cpu_after["stack"] - cpu_before["stack"]
    bench.say(f"  CPU per accepted callback (web, workers and beat together): {used / max(sat['ok'], 1) * 1000:.2f} ms;"
              f" {used / SECONDS:.2f} of {os.cpu_count()} cores busy without wrk")
    bench.say(f"inbox backlog when intake stopped:    {after['pending']:8d} messages of {after['messages']}")
    bench.say(f"delivery backlog when intake stopped: {after['deliveries'] - after['delivered']:8d} of {after['deliveries']}")
    stopped = time.time()
    final = bench.counts()
    while (final["pending"] or final["delivered"] < final["messages"]) and time.time() - stopped < 300:
        time.sleep(0.5)
        final = bench.counts()
    bench.say(f"drained {time.time() - stopped:.1f}s after intake stopped: {final['messages']} messages for "
              f"{sat['ok']} answered 200 (wrk leaves uncounted the up to {bench.WRK_CONNECTIONS} requests in flight "
              f"when it stops), {final['records']} records, {final['delivered']} delivered to the receiver")
    bench.say(f"machine after the run: {bench.load()}")


if __name__ == "__main__":
    bench.run_main(main)
