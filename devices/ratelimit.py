"""The per-device callback rate limit: a fixed one-minute window counted in Django's cache
(Redis in production, so every web process shares the count)."""
import time

from django.conf import settings
from django.core.cache import cache

from devices import cache as callback_cache


def callback_rate_exceeded(*, device_pk: int) -> int | None:
    """Counts one callback of the device; returns the seconds until its window ends if it is over
    settings.DEVICE_RATE_LIMIT per minute, else None. 0 turns the limit off. Fails open: an
    unreachable cache must not stop devices from sending."""
    limit = settings.DEVICE_RATE_LIMIT
    if not limit:
        return None
    if not callback_cache.available():
        return None
    now = time.time()
    key = f"devices:rate:{device_pk}:{int(now // 60)}"
    try:
        count = _count(key)
    except Exception:  # noqa: BLE001  any cache backend failure
        # Stop asking a cache that is down or hung for a few seconds (the whole callback path
        # does): one callback pays the timeout, not every one.
        callback_cache.failed("rate limit counter; letting callbacks through")
        return None
    if count > limit:
        return max(1, 60 - int(now % 60))
    return None


def _count(key: str) -> int:
    """Counts one hit on `key` (created with a 120 s expiry); returns the count. With Redis, one
    round trip (platform/cache.py count: SET NX EX and INCR); elsewhere Django's add + incr."""
    count = getattr(cache, "count", None)
    if count is not None:
        return count(key, 120)
    cache.add(key, 0, timeout=120)
    return cache.incr(key)
