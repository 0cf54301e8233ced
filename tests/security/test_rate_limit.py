"""The per-device rate limit holds under concurrent posts: real web server (Granian) processes and threads
share one counter in Redis, so exactly DEVICE_RATE_LIMIT callbacks of a burst get a 200."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devices.models import Message
from tests.stack import Stack, live_database_url

pytestmark = pytest.mark.e2e
LIMIT = 25


def test_rate_limit_holds_under_concurrent_posts(transactional_db, device, tmp_path):
    stack = Stack(env={"DATABASE_URL": live_database_url(), "DEVICE_RATE_LIMIT": str(LIMIT)}, tmp_path=tmp_path)
    try:
        stack.start_web(workers=2)
        if time.time() % 60 > 50:  # the window is a calendar minute: keep the burst inside one
            time.sleep(61 - time.time() % 60)
        url = f"{stack.url}/v3/users/alice/devices/d1/callback/data"

        def one(i):
            response = requests.post(url, json={"i": i}, headers={"Authorization": f"Bearer {device.token}"},
                                     timeout=30)
            return response.status_code, response.headers.get("Retry-After")

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(one, range(100)))
    finally:
        stack.stop()
    ok = sum(1 for s, _ in answers if s == 200)
    limited = [r for s, r in answers if s == 429]
    print(f"\nburst of 100 with limit {LIMIT}: 200={ok} 429={len(limited)} stored={Message.objects.count()}")
    assert ok == LIMIT and len(limited) == 100 - LIMIT
    assert all(r and int(r) >= 1 for r in limited)
    assert Message.objects.count() == LIMIT
