"""Fault-injection helpers: PRIVATE PostgreSQL and Redis servers the tests may stop, kill and
restart (the shared ones on 5432/6379 are never touched), a threaded load generator that counts
every answer, and queries that count what reached the buckets.

Everything listens on 127.0.0.1 only."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import requests

from tests.stack import ROOT, Stack, free_port, wait_until

# The newest PostgreSQL installed from Debian's packages (15 on bookworm).
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/usr/lib/postgresql/15/bin"))


def _as_postgres(cmd):
    """PostgreSQL refuses to run as root: run its tools as the `postgres` OS user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port; start/stop/kill it at will."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                     "--auth=trust", "-N", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True, timeout=60)

    def url(self, dbname="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self):
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                                     "-w", "-t", "30", "-o",
                                     (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                                     "-c fsync=off -c max_connections=200"), "start"]),
                       check=True, capture_output=True, timeout=60)
        wait_until(self._up, timeout=30, what="private PostgreSQL")

    def stop(self, mode="immediate"):
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
                       check=False, capture_output=True, timeout=60)

    def _up(self):
        try:
            with psycopg.connect(self.url(), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def query(self, sql, params=(), dbname="postgres"):
        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server subprocess without persistence (a restart loses every queued message, the
    worst case for a broker)."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._up, timeout=10, what="private Redis")

    def _up(self):
        try:
            import redis

            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except Exception:  # noqa: BLE001  not up yet, whatever the reason
            return False

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def flushall(self):
        import redis

        redis.Redis(port=self.port).flushall()


class FaultStack(Stack):
    """Stack whose start-up check tolerates a slow first answer (two shared cores under load)."""

    def _web_up(self):
        try:
            return requests.get(f"{self.url}/healthz", timeout=5).status_code in (200, 503)
        except requests.RequestException:
            return False


def manage(env, *args, stdin=None):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=180, check=True).stdout


SETUP = """
import json
from django.contrib.auth import get_user_model
from buckets.models import Bucket
from devices.services import device_create
alice = get_user_model().objects.create_user("alice", "alice@example.com", "alice-password-1")
bucket = Bucket.objects.create(owner=alice, bucket_id="b1", name="b1")
tokens = {}
for i in range(%(devices)d):
    device, token = device_create(owner=alice, device_id=f"d{i}", write_bucket=bucket)
    tokens[device.device_id] = token
print("TOKENS=" + json.dumps(tokens))
"""


def stack_env(pg, redis, dbname, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    env.update(PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="platform.settings", DATABASE_URL=pg.url(dbname),
               CELERY_BROKER_URL=redis.url(0), CACHE_URL=redis.url(1), ENDPOINTS_ALLOW_PRIVATE_IPS="true",
               DATABASE_CONNECT_TIMEOUT="2", **extra)
    return env


def seed(env, devices=4):
    """alice, bucket b1 and devices d0..d{n-1} writing into it; returns {device id: token}."""
    out = manage(env, "shell", "-c", SETUP % {"devices": devices})
    line = next(line for line in out.splitlines() if line.startswith("TOKENS="))
    return json.loads(line[len("TOKENS="):])


class Load:
    """Posts callbacks from `threads` threads, each at about `rate` per second, each message with a
    unique `seq`. Counts every answer: `statuses`, the seqs answered 200 (`accepted`), the
    slowest answer while a fault was on (`slowest`), 503s without Retry-After."""

    def __init__(self, base_url, tokens, threads=4, rate=5.0, timeout=15):
        self.base_url = base_url
        self.devices = sorted(tokens.items())
        self.threads_n = threads
        self.rate = rate
        self.timeout = timeout
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.accepted = set()
        self.answered = []  # (time, seq, status, seconds)
        self.bad = []  # what breaks the contract, with the reason
        self._stop = threading.Event()
        self._seq = 0
        self._threads = []

    def _next_seq(self):
        with self.lock:
            self._seq += 1
            return self._seq

    def _run(self, index):
        session = requests.Session()
        device, token = self.devices[index % len(self.devices)]
        url = f"{self.base_url}/v3/users/alice/devices/{device}/callback/data"
        while not self._stop.is_set():
            seq = self._next_seq()
            started = time.monotonic()
            try:
                response = session.post(url, json={"seq": seq, "device": device, "v": seq % 97},
                                        headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout)
                status = response.status_code
                if status == 503 and not response.headers.get("Retry-After"):
                    self.bad.append((seq, "503 without Retry-After"))
                if status >= 500 and status != 503:
                    self.bad.append((seq, f"{status}: {response.text[:200]}"))
            except requests.RequestException as exc:
                status = 0
                session = requests.Session()
                self.bad.append((seq, f"no answer: {exc.__class__.__name__}"))
            took = time.monotonic() - started
            with self.lock:
                self.statuses[status] += 1
                self.answered.append((time.monotonic(), seq, status, took))
                if status == 200:
                    self.accepted.add(seq)
            self._stop.wait(max(0.0, 1.0 / self.rate - took))

    def start(self):
        for i in range(self.threads_n):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def between(self, start, end):
        """The requests sent after `start` and answered before `end` (monotonic times): those
        that lived entirely inside a fault."""
        with self.lock:
            return [a for a in self.answered if a[0] - a[3] >= start and a[0] <= end]


def stored_counts(pg, dbname):
    """{seq: how many records hold it} for bucket b1."""
    rows = pg.query("SELECT (val->>'seq')::int, count(*) FROM buckets_record GROUP BY 1", dbname=dbname)
    return dict(rows)


def pending_messages(pg, dbname):
    return pg.query("SELECT count(*) FROM devices_message WHERE processed_at IS NULL", dbname=dbname)[0][0]


def reconcile(pg, dbname, accepted, what, timeout=90):
    """Waits until every accepted seq is stored, then returns the counts: accepted, stored,
    duplicated, lost, extra (stored although not answered 200, e.g. the answer was lost)."""
    def all_stored():
        return accepted <= set(stored_counts(pg, dbname))

    try:
        wait_until(all_stored, timeout=timeout, interval=1, what=f"every accepted message in the bucket ({what})")
    except AssertionError:
        pass  # the counts below say what is missing
    counts = stored_counts(pg, dbname)
    result = {
        "accepted": len(accepted),
        "stored": len(counts),
        "duplicated": sum(1 for c in counts.values() if c > 1),
        "lost": len(accepted - set(counts)),
        "extra": len(set(counts) - accepted),
    }
    print(f"\n[{what}] " + ", ".join(f"{k}={v}" for k, v in result.items()))
    return result


def process_tree(pid):
    """The pid and all its descendants (read from /proc)."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for c in child.read_text().split():
                found.extend(process_tree(int(c)))
        except OSError:
            pass
    return found


def kill_tree(proc):
    """SIGKILL a process and its children (a Celery prefork worker with its pool), no cleanup."""
    pids = process_tree(proc.pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)
    return pids
