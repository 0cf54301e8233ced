"""Soak test of `make run`: the embedded stack (SQLite database, SQLite broker, the web server (Granian), a Celery
worker and beat, as `manage.py runstack` starts them) under a steady trickle of callbacks.

    PYTHONPATH=$PWD nice -n 19 .venv/bin/python tests/e2e/soak.py --minutes 30 [--rate 2]

Prints one JSON line: callbacks sent and accepted, records stored, and what went wrong in the
processes' output (worker restarts, unrecoverable errors, tracebacks, lost broker connections).
tests/e2e/test_soak.py runs a short version; the README quotes a long one.
"""
import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
from tests.stack import free_port, wait_until

# What counts as a crash or an error in the stack's output.
PROBLEMS = {
    "restarts": re.compile(r"supervise: \w+ exited with code"),
    "unrecoverable": re.compile(r"Unrecoverable error"),
    "tracebacks": re.compile(r"^Traceback ", re.MULTILINE),
    "broker_lost": re.compile(r"Connection to broker lost"),
    "errors": re.compile(r"\b(ERROR|CRITICAL)/"),
}


def _manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=True).stdout


def _stored(var_dir):
    with sqlite3.connect(var_dir / "db.sqlite3", timeout=30) as db:
        return db.execute("SELECT count(*) FROM buckets_record").fetchone()[0]


def soak(seconds, rate=2.0, workdir=None):
    """Runs the embedded stack for `seconds` with `rate` callbacks per second; returns the counts."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="soak-"))
    var_dir = workdir / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    port = free_port()
    env.update(VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT), SITE_URL=f"http://127.0.0.1:{port}")
    _manage(env, "migrate", "--noinput")
    printed = _manage(env, "demo")
    token = re.search(r"Authorization: Bearer ([\w-]+)", printed).group(1)
    log_path = workdir / "stack.log"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen([sys.executable, "manage.py", "runstack", "--bind", f"127.0.0.1:{port}"], cwd=ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v3/users/demo/devices/demo-device/callback/data"
    sent = accepted = 0
    try:
        wait_until(lambda: _up(port), timeout=60, what="the embedded stack to answer")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sent += 1
            try:
                response = requests.post(url, json={"n": sent}, headers={"Authorization": f"Bearer {token}"},
                                         timeout=10)
                accepted += response.status_code == 200
            except requests.RequestException:
                pass
            time.sleep(1.0 / rate)
        wait_until(lambda: _stored(var_dir) >= accepted, timeout=90, what="every accepted callback stored")
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
    output = log_path.read_text(errors="replace")
    result = {"seconds": seconds, "sent": sent, "accepted": accepted, "stored": _stored(var_dir),
              **{name: len(pattern.findall(output)) for name, pattern in PROBLEMS.items()},
              "log": str(log_path)}
    return result


def _up(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=2.0, help="callbacks per second")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    # Started in the background, SIGINT is ignored: stop on SIGTERM too, stopping the stack first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("soak: stopped by SIGTERM"))
    print(json.dumps(soak(args.minutes * 60, args.rate, args.workdir)), flush=True)
