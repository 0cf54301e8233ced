#!/usr/bin/env python
"""Per-callback cost, in process: the lever-by-lever yardstick when the machine is too busy for
throughput figures to mean much. Runs N callbacks through the production WSGI application
(PROFILE_APP=web: Django's handler with all the middleware) against PostgreSQL and Redis, and
prints CPU ms per callback of this process and of its PostgreSQL backend, and queries per callback; then the ingest worker's CPU per message
(records, property, deliveries) over the inbox it left. PROFILE=1 prints the cProfile top 25.

Run: `PYTHONPATH=$PWD .venv/bin/python tests/perf/profile_callback.py [N]`. Uses its own database
(PERF_PROFILE_DB, default perf_profile, dropped and created) and Redis databases 14 and 15.
"""
import io
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PG = os.environ.get("PERF_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("PERF_PROFILE_DB", "perf_profile")
os.environ.update({"DJANGO_SETTINGS_MODULE": "platform.settings", "DATABASE_URL": f"{PG}/{DB}",
                   "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14", "CACHE_URL": "redis://127.0.0.1:6379/15",
                   "DEBUG": "false", "SECRET_KEY": "benchmark-only-secret-key-benchmark-only-secret-key",
                   "ALLOWED_HOSTS": "127.0.0.1,localhost", "DEVICE_RATE_LIMIT": os.environ.get("DEVICE_RATE_LIMIT", "0"),
                   "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
DEVICES = 100


def reset():
    import psycopg
    import redis

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    for db in (14, 15):
        redis.Redis(db=db).flushdb()


def seed():
    from django.contrib.auth import get_user_model

    from buckets.models import Bucket
    from devices.models import Device
    from endpoints.models import Connection
    from platform.tokens import token_hash

    user = get_user_model().objects.create_user("perf", password=secrets.token_hex(8))
    buckets = Bucket.objects.bulk_create([Bucket(owner=user, bucket_id=f"b{i}") for i in range(DEVICES)])
    tokens = [secrets.token_urlsafe(32) for _ in range(DEVICES)]
    devices = Device.objects.bulk_create([
        Device(owner=user, device_id=f"d{i}", name=f"d{i}", token_hash=token_hash(tokens[i]), write_bucket=buckets[i],
               set_property="last") for i in range(DEVICES)])
    apps = Connection.objects.bulk_create([Connection(owner=user, name=f"app{i}", destination_url="http://127.0.0.1:9/",
                                                      headers={"X-Thing": "{DevEUI}"}) for i in range(DEVICES)])
    Device.applications.through.objects.bulk_create([
        Device.applications.through(device_id=d.pk, connection_id=a.pk) for d, a in zip(devices, apps)])
    return tokens


def environ(i, token):
    body = json.dumps({"temperature": 21.5, "humidity": 48.2, "pressure": 1013.2, "battery": 80, "rssi": -60,
                       "seq": i, "status": "ok", "firmware": "1.4.2", "location": {"lat": 48.8566, "lon": 2.3522}},
                      separators=(",", ":")).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": f"/v3/users/perf/devices/d{i % DEVICES}/callback/data",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token}", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1"}


def backend_cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    reset()
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    tokens = seed()
    if os.environ.get("PROFILE_SETUP_SQL"):  # e.g. try a schema change before measuring
        with connection.cursor() as cursor:
            cursor.execute(os.environ["PROFILE_SETUP_SQL"])
    if "PROFILE_MIDDLEWARE" in os.environ:  # e.g. "" to see what the middleware costs the callback
        from django.conf import settings

        settings.MIDDLEWARE = [m for m in os.environ["PROFILE_MIDDLEWARE"].split(",") if m]
    if os.environ.get("PROFILE_APP") == "web":  # Django's handler, all middleware, for every URL
        app = get_wsgi_application()
    else:  # what the web server serves: callbacks take the device handler (platform/handlers.py)
        from platform.wsgi import application as app
    statuses = {}

    def start_response(status, headers, exc_info=None):
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1

    def run(count, offset=0):
        for i in range(offset, offset + count):
            b"".join(app(environ(i, tokens[i % DEVICES]), start_response))

    run(200)  # warm up: imports, connections, caches
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with CaptureQueriesContext(connection) as ctx:
        run(100, 200)
    queries = len(ctx.captured_queries)
    reset_queries()
    statuses.clear()
    cpu0, pg0, wall0 = time.process_time(), backend_cpu(pid), time.perf_counter()
    if os.environ.get("PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile(time.process_time)  # CPU, not wall: waits on PostgreSQL and Redis are not cost
        prof.runcall(run, n, 1000)
        pstats.Stats(prof).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(int(os.environ.get("PROFILE_TOP", "25")))
    else:
        run(n, 1000)
    cpu, pg, wall = time.process_time() - cpu0, backend_cpu(pid) - pg0, time.perf_counter() - wall0
    ingest_cpu = ""
    if not os.environ.get("PROFILE"):
        from devices.ingest import messages_process

        cpu0, pg0 = time.process_time(), backend_cpu(pid)
        stored = messages_process()
        ingest_cpu = (f"; ingest: python {(time.process_time() - cpu0) / stored * 1000:.2f} ms, postgres "
                      f"{(backend_cpu(pid) - pg0) / stored * 1000:.2f} ms CPU per message ({stored} messages)")
    print(f"{n} callbacks: python {cpu / n * 1000:.2f} ms CPU, postgres backend {pg / n * 1000:.2f} ms CPU, "
          f"wall {wall / n * 1000:.2f} ms per callback; {queries / 100:.1f} queries per callback; statuses {statuses}{ingest_cpu}")


if __name__ == "__main__":
    main()
