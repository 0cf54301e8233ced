"""The platform's first slice over real processes: web server (Granian) + Celery worker on PostgreSQL and
Redis, and the README's embedded mode (SQLite database and SQLite broker)."""
import os
import sqlite3
import subprocess
import sys

import pytest
import requests

from buckets.models import Record
from tests.stack import ROOT, Stack, live_database_url, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(transactional_db, tmp_path):
    running = Stack(env={"DATABASE_URL": live_database_url()}, tmp_path=tmp_path)
    yield running
    running.stop()


def test_callback_over_http_reaches_the_bucket(stack, alice, device):
    stack.start_web().start_worker()
    url = f"{stack.url}/v3/users/alice/devices/d1/callback/data"
    response = requests.post(url, json={"temperature": 22}, headers={"Authorization": f"Bearer {device.token}"},
                             timeout=10)
    assert response.status_code == 200, response.text
    record = wait_until(lambda: Record.objects.filter(bucket=device.write_bucket).first(), timeout=30,
                        what="the record in the bucket")
    assert record.val == {"temperature": 22}


def _manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True).stdout


def test_embedded_mode_stores_a_posted_callback(tmp_path):
    """What `make run` starts: SQLite, the SQLite broker, a real worker and beat."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    env.update(VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT))
    _manage(env, "migrate", "--noinput")
    printed = _manage(env, "demo")
    # The banner indents its token and curl under "Post a message from the demo device".
    curl = next(line.strip() for line in printed.splitlines() if line.strip().startswith("curl "))
    token = curl.split("Authorization: Bearer ")[1].split("'")[0]
    running = Stack(env=env, tmp_path=tmp_path, inherit=False)
    try:
        running.start_web().start_worker().start_beat()
        response = requests.post(f"{running.url}/v3/users/demo/devices/demo-device/callback/data",
                                 json={"temperature": 21.5}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text

        def stored():
            with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as db:
                return db.execute("SELECT val FROM buckets_record").fetchall()

        rows = wait_until(stored, timeout=30, what="the record in the SQLite bucket")
        assert '"temperature": 21.5' in rows[0][0] or '"temperature":21.5' in rows[0][0]
        assert requests.get(f"{running.url}/healthz", timeout=5).json() == {"database": "ok", "broker": "ok"}
    finally:
        running.stop()
